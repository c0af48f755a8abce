// Package cfnupdate models what CloudFormation does when a set of deployed
// stacks (before) is updated to newly synthesized templates (after), so a
// test can tell, without an AWS account, whether a settings change deploys.
//
// Per resource it decides add, modify, replace or remove. A resource is
// replaced when its type changes, when a property its resource schema marks
// create-only changes (CloudFormation User Guide, "Update behaviors of stack
// resources", Replacement: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html;
// the registry schemas' createOnlyProperties), or when a create-only
// property refers to a replaced resource. A resource whose logical ID
// changes is removed and a new one added.
//
// It then refuses what CloudFormation or the service would refuse:
//   - an export (Outputs Export) imported by another stack that would be
//     modified or removed (Fn::ImportValue: "After another stack imports
//     an output value, you can't delete the stack that is exporting the
//     output value or modify the exported output value",
//     https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html);
//   - a value of CDK's cross-region ExportsWriter (Custom::CrossRegionExportWriter)
//     read by another stack's ExportsReader that would change: the writer's
//     handler (aws-cdk-lib core/lib/dist/core/cross-region-ssm-writer-handler)
//     puts only parameter names that are new on update, so a changed value
//     under the same name never reaches the reading stack;
//   - a Fn::GetStackOutput (a weak reference, resolved "at stack create or
//     update time",
//     https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html)
//     to an output whose value changes, from a stack whose template does not
//     change: `cdk deploy` skips a stack whose template is unchanged, so it
//     would keep the old value;
//   - the changes a service forbids (Rules), each with the page that says so.
//
// And it reports resources left behind: a replaced resource whose
// UpdateReplacePolicy is Retain, a removed one whose DeletionPolicy keeps
// it, and stacks that the new app no longer synthesizes (`cdk deploy`
// deletes no stack).
package cfnupdate
