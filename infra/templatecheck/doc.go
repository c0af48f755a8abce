// Command templatecheck checks synthesized CloudFormation templates with
// cfn-lint and with cfn-guard and the AWS Control Tower proactive controls
// (the rules and the cfn-guard 3 binary of the npm package
// @cdklabs/cdk-validator-cfnguard), and fails on any finding that is not
// suppressed with a reason.
//
// cfn-guard 3.1 does not apply resource metadata to the Control Tower rules,
// so the suppressions are applied here: a finding of rule R on resource X is
// suppressed when X's Metadata.guard.SuppressedRules lists R and
// Metadata.guard.Reasons[R] says why. A suppression without a reason is
// itself a failure. cfn-lint errors fail too, except the "additional
// property" findings (E3002) at the exact property paths where cfn-lint's
// schema lags the CloudFormation registry (staleSchema).
//
// Both tools' JSON output is parsed; nothing here matches their text.
//
//	go run ./infra/templatecheck -guard node_modules/.../cfn-guard \
//	    -rules node_modules/.../rules/control-tower/cfn-guard cdk.out/*.template.json
package main
