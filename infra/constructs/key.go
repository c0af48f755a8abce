package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NewStackKey creates a stack's customer-managed key: rotated, usable by
// CloudWatch Logs for this account's log groups in this region, and refusing
// grants that are not made by an AWS service on behalf of a resource.
func NewStackKey(scope constructs.Construct, id, description string, removal awscdk.RemovalPolicy) awskms.Key {
	stack := awscdk.Stack_Of(scope)
	key := awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
	})
	// CloudWatch Logs encrypts a log group with the key only if the key
	// policy lets logs.REGION.amazonaws.com use it, and the encryption
	// context it sends is the log group's ARN (CloudWatch Logs user guide,
	// "Encrypt log data in CloudWatch Logs using AWS Key Management Service",
	// step 2: key policy).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogs"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(fmt.Sprintf("logs.%s.amazonaws.com", *stack.Region())), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:%s:logs:%s:%s:log-group:*", *stack.Partition(), *stack.Region(), *stack.Account()),
		}},
	}), jsii.Bool(true))
	// Control Tower CT.KMS.PR.3: grants only for AWS services acting for a
	// resource (Firehose and AMP create theirs that way).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("GrantsOnlyForAWSServices"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:CreateGrant"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"BoolIfExists": map[string]any{
			"kms:GrantIsForAWSResource": "false",
			"aws:PrincipalIsAWSService": "false",
		}},
	}), jsii.Bool(true))
	return key
}

// LogGroupProps configures NewLogGroup.
type LogGroupProps struct {
	// Name is the log group's name; empty lets CloudFormation name it.
	Name string
	// RetentionDays is one of the values CloudWatch Logs accepts.
	RetentionDays int
	// Key encrypts the log group (a NewStackKey).
	Key           awskms.IKey
	RemovalPolicy awscdk.RemovalPolicy
}

// NewLogGroup creates a KMS-encrypted log group. A retention shorter than
// Control Tower's year is the environment's choice (its logRetentionDays):
// the log group records that on itself for cfn-guard.
func NewLogGroup(scope constructs.Construct, id string, props *LogGroupProps) awslogs.LogGroup {
	p := &awslogs.LogGroupProps{
		Retention:     RetentionDays(props.RetentionDays),
		EncryptionKey: props.Key,
		RemovalPolicy: props.RemovalPolicy,
	}
	if props.Name != "" {
		p.LogGroupName = jsii.String(props.Name)
	}
	lg := awslogs.NewLogGroup(scope, jsii.String(id), p)
	if props.RetentionDays < minGuardLogRetentionDay {
		SuppressGuard(CfnOf(lg), GuardLogRetention, fmt.Sprintf(
			"Operational logs kept %d days as the environment's logRetentionDays in cdk.json says: the metric data lives in AMP (its own retention) and failed records in S3, so a year of these logs is cost without use.",
			props.RetentionDays))
	}
	return lg
}

// retentionDaysByCount maps the day counts Validate allows to CDK's enum.
var retentionDaysByCount = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// RetentionDays converts a day count CloudWatch Logs accepts (the
// environment settings are validated against the same list).
func RetentionDays(n int) awslogs.RetentionDays { return retentionDaysByCount[n] }
