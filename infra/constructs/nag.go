package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppressWildcards records, on the construct that creates a wildcard, why
// cdk-nag's AwsSolutions-IAM5 finding for it is acceptable. Each entry maps an
// appliesTo pattern (a literal finding, or {"regex": …}) to its reason.
func suppressWildcards(construct any, reasons []nagReason) {
	s := make([]*cdknag.NagPackSuppression, 0, len(reasons))
	for _, r := range reasons {
		s = append(s, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(r.reason),
			AppliesTo: &[]any{r.appliesTo},
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &s, jsii.Bool(true))
}

type nagReason struct {
	appliesTo any
	reason    string
}

func regex(re string) map[string]any { return map[string]any{"regex": re} }

// ignoreStaleLintSchema marks a resource whose properties come from the
// CloudFormation registry schema that aws-cdk-lib 2.276 was generated from,
// but which the cfn-lint release here predates (E3002 "additional
// properties"): AWS::APS::Workspace WorkspaceConfiguration
// OutOfOrderTimeWindowInSeconds and AWS::Grafana::Workspace Tags. The tests
// assert those resources' properties one by one instead.
func ignoreStaleLintSchema(r awscdk.CfnResource) {
	r.AddMetadata(jsii.String("cfn-lint"), map[string]any{"config": map[string]any{"ignore_checks": []string{"E3002"}}})
}
