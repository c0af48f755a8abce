package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// IngestFunctionProps configures an IngestFunction.
type IngestFunctionProps struct {
	// AssetDir is a directory staged by StageFunctionAsset.
	AssetDir       string
	MemoryMiB      int
	TimeoutSeconds int
	// ReservedConcurrency caps concurrent invocations; 0 leaves it unreserved.
	ReservedConcurrency int
	LogRetention        awslogs.RetentionDays
	// WorkspaceArn is the only AMP workspace the function may write to.
	WorkspaceArn *string
	// Environment is the function's CWSTREAM_* variables.
	Environment   map[string]*string
	RemovalPolicy awscdk.RemovalPolicy
}

// IngestFunction is the Firehose transformation Lambda (provided.al2023,
// arm64) with its own log group and a role that can write its logs and
// remote-write to one workspace, nothing else.
type IngestFunction struct {
	constructs.Construct
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
}

// NewIngestFunction creates the function, its log group and role.
func NewIngestFunction(scope constructs.Construct, id string, props *IngestFunctionProps) *IngestFunction {
	c := constructs.NewConstruct(scope, jsii.String(id))
	logGroup := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		RemovalPolicy: props.RemovalPolicy,
	})
	// A role of our own instead of the default one, which would carry the
	// AWSLambdaBasicExecutionRole managed policy (logs on every group).
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String("cwstream ingest function: write its own logs and remote-write to one AMP workspace"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	policy := awsiam.NewPolicy(c, jsii.String("Policy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("OwnLogs"),
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
				Resources: &[]*string{logGroup.LogGroupArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("RemoteWrite"),
				Actions:   jsii.Strings("aps:RemoteWrite"),
				Resources: &[]*string{props.WorkspaceArn},
			}),
		},
	})
	fnProps := &awslambda.FunctionProps{
		Description:  jsii.String("cwstream: CloudWatch metric stream records (OpenTelemetry 0.7) to Prometheus remote write"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String(BootstrapName),
		Code:         awslambda.Code_FromAsset(jsii.String(props.AssetDir), nil),
		MemorySize:   jsii.Number(props.MemoryMiB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(props.TimeoutSeconds)),
		Role:         role,
		LogGroup:     logGroup,
		Environment:  &props.Environment,
	}
	if props.ReservedConcurrency > 0 {
		fnProps.ReservedConcurrentExecutions = jsii.Number(props.ReservedConcurrency)
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), fnProps)
	// Without this the function can be created before its policy and fail its
	// first invocations.
	fn.Node().AddDependency(policy)
	return &IngestFunction{Construct: c, Function: fn, Role: role, LogGroup: logGroup}
}
