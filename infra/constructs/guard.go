package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// GuardMetadataKey is the resource Metadata key that records, on the
// resource itself, which cfn-guard rules (AWS Control Tower proactive
// controls) do not apply to it and why: {"SuppressedRules": [rule…],
// "Reasons": {rule: why}}. cfn-guard 3.1 does not read it for these rules;
// infra/templatecheck filters the findings by it.
const GuardMetadataKey = "guard"

// The Control Tower rules cwstream suppresses somewhere, as cfn-guard names
// them.
const (
	GuardLogRetention       = "cloudwatch_log_group_retention_period_check"
	GuardLambdaInsideVPC    = "lambda_inside_vpc_check"
	GuardS3DefaultKMS       = "s3_bucket_default_encryption_kms_check"
	GuardS3Versioning       = "s3_bucket_versioning_enabled_check"
	GuardS3Logging          = "s3_bucket_logging_enabled_check"
	GuardS3EventNotify      = "s3_event_notifications_enabled_check"
	GuardS3ObjectLock       = "s3_bucket_object_lock_enabled_check"
	minGuardLogRetentionDay = 365 // CT.CLOUDWATCH.PR.2
)

// SuppressGuard records on r that rule does not apply, with the reason;
// earlier suppressions on r are kept.
func SuppressGuard(r awscdk.CfnResource, rule, reason string) {
	rules := []string{}
	reasons := map[string]string{}
	if cur, ok := r.GetMetadata(jsii.String(GuardMetadataKey)).(map[string]any); ok {
		if rs, ok := cur["SuppressedRules"].([]any); ok {
			for _, x := range rs {
				if s, ok := x.(string); ok && s != rule {
					rules = append(rules, s)
				}
			}
		}
		if rs, ok := cur["Reasons"].(map[string]any); ok {
			for k, v := range rs {
				if s, ok := v.(string); ok {
					reasons[k] = s
				}
			}
		}
	}
	rules = append(rules, rule)
	reasons[rule] = reason
	r.AddMetadata(jsii.String(GuardMetadataKey), map[string]any{"SuppressedRules": rules, "Reasons": reasons})
}

// CfnOf returns the CloudFormation resource behind an L2 construct.
func CfnOf(c constructs.IConstruct) awscdk.CfnResource {
	return c.Node().DefaultChild().(awscdk.CfnResource)
}
