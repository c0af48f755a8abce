package constructs

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/cwstream/cwstream/internal/tags"
)

// IngestFunctionProps configures an IngestFunction.
type IngestFunctionProps struct {
	// AssetDir is a directory staged by StageFunctionAsset.
	AssetDir       string
	MemoryMiB      int
	TimeoutSeconds int
	// ReservedConcurrency caps concurrent invocations; 0 leaves it unreserved.
	ReservedConcurrency int
	// LogRetentionDays and LogKey configure the function's log group.
	LogRetentionDays int
	LogKey           awskms.IKey
	// Network, when set, runs the function in its subnets; else
	// NoNetworkReason says why it needs none (for cfn-guard).
	Network         *FunctionNetwork
	NoNetworkReason string
	// WorkspaceArn is the only AMP workspace the function may write to.
	WorkspaceArn *string
	// Environment is the function's CWSTREAM_* variables.
	Environment   map[string]*string
	RemovalPolicy awscdk.RemovalPolicy
	// TagLookups lets the function call tag:GetResources: its
	// configuration turns resource tag enrichment on (tags.enabled).
	TagLookups bool
	// TagRoleARN is tags.role_arn, the role to assume in other accounts
	// for their tags ({account} for the account): the function may assume
	// it in every account.
	TagRoleARN string
}

// TagRoleResource is the resource of the function's sts:AssumeRole
// statement for tags.role_arn: the role in any account.
func TagRoleResource(roleARN string) string {
	return tags.RoleARN(roleARN, "*")
}

// tagLookupsReason is why tag:GetResources is granted on "*".
const tagLookupsReason = "tag:GetResources (Resource Groups Tagging API) supports no resource-level permissions or condition keys: the Service Authorization Reference lists no resource type for it, so the statement must name *. It is read-only and only lists the tags of this account's resources, which the function writes as info series (tags.enabled in its configuration)."

// tagRolesReason is why sts:AssumeRole names the role in any account.
const tagRolesReason = "tags.role_arn: the Tagging API answers only for the caller's account, so the function assumes this one role, by name, in each other account its metric stream carries (CloudWatch cross-account observability) to read their tags; which accounts those are is decided by the stream's source accounts and by each account's trust policy, not known when the stack is made."

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
	grants := []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RemoteWrite"),
		Actions:   jsii.Strings("aps:RemoteWrite"),
		Resources: &[]*string{props.WorkspaceArn},
	})}
	var wildcards []nagReason
	if props.TagLookups {
		grants = append(grants, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("TagLookups"),
			Actions:   jsii.Strings("tag:GetResources"),
			Resources: jsii.Strings("*"),
		}))
		wildcards = append(wildcards, nagReason{"Resource::*", tagLookupsReason})
		if props.TagRoleARN != "" {
			res := TagRoleResource(props.TagRoleARN)
			grants = append(grants, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("AssumeTagRoles"),
				Actions:   jsii.Strings("sts:AssumeRole"),
				Resources: jsii.Strings(res),
			}))
			wildcards = append(wildcards, nagReason{"Resource::" + res, tagRolesReason})
		}
	}
	fn, role, logGroup := newGoFunction(c, &goFunctionProps{
		Description:         "cwstream: CloudWatch metric stream records (OpenTelemetry 0.7) to Prometheus remote write",
		RoleDescription:     "cwstream ingest function: write its own logs and remote-write to one AMP workspace",
		AssetDir:            props.AssetDir,
		MemoryMiB:           props.MemoryMiB,
		TimeoutSeconds:      props.TimeoutSeconds,
		ReservedConcurrency: props.ReservedConcurrency,
		Environment:         props.Environment,
		LogRetentionDays:    props.LogRetentionDays,
		LogKey:              props.LogKey,
		Network:             props.Network,
		NoNetworkReason:     props.NoNetworkReason,
		RemovalPolicy:       props.RemovalPolicy,
		Grants:              grants,
		Wildcards:           wildcards,
	})
	return &IngestFunction{Construct: c, Function: fn, Role: role, LogGroup: logGroup}
}

// goFunctionProps configures one of cwstream's Go Lambdas.
type goFunctionProps struct {
	Description, RoleDescription string
	AssetDir                     string // staged bootstrap
	MemoryMiB, TimeoutSeconds    int
	ReservedConcurrency          int // 0: unreserved
	Environment                  map[string]*string
	LogRetentionDays             int
	LogKey                       awskms.IKey
	// Network places the function in a VPC; nil leaves it outside, for
	// NoNetworkReason.
	Network         *FunctionNetwork
	NoNetworkReason string
	RemovalPolicy   awscdk.RemovalPolicy
	// Grants are what the function may do besides writing its own logs.
	Grants []awsiam.PolicyStatement
	// Wildcards say why a grant's wildcard is acceptable (cdk-nag IAM5).
	Wildcards []nagReason
}

// newGoFunction creates, in c, a provided.al2023 arm64 function with its
// own log group and a role of its own, instead of the default one, which
// would carry the AWSLambdaBasicExecutionRole managed policy (logs on every
// group): it may write its logs and do props.Grant, nothing else.
func newGoFunction(c constructs.Construct, props *goFunctionProps) (awslambda.Function, awsiam.Role, awslogs.LogGroup) {
	logGroup := NewLogGroup(c, "Logs", &LogGroupProps{
		RetentionDays: props.LogRetentionDays,
		Key:           props.LogKey,
		RemovalPolicy: props.RemovalPolicy,
	})
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String(props.RoleDescription),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	statements := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("OwnLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &[]*string{logGroup.LogGroupArn()},
		}),
	}
	statements = append(statements, props.Grants...)
	wildcards := slices.Clone(props.Wildcards)
	if props.Network != nil {
		statements = append(statements, networkInterfaceStatement())
		// One suppression per finding: a second Resource::* reason joins
		// the first.
		if i := slices.IndexFunc(wildcards, func(r nagReason) bool { return r.appliesTo == "Resource::*" }); i >= 0 {
			wildcards[i].reason += " " + networkInterfaceReason
		} else {
			wildcards = append(wildcards, nagReason{"Resource::*", networkInterfaceReason})
		}
	}
	policy := awsiam.NewPolicy(c, jsii.String("Policy"), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{role},
		Statements: &statements,
	})
	if len(wildcards) > 0 {
		suppressWildcards(policy, wildcards)
	}
	fnProps := &awslambda.FunctionProps{
		Description:  jsii.String(props.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String(BootstrapName),
		Code:         awslambda.Code_FromAsset(jsii.String(props.AssetDir), nil),
		MemorySize:   jsii.Number(props.MemoryMiB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(props.TimeoutSeconds)),
		Role:         role,
		LogGroup:     logGroup,
	}
	if props.Environment != nil {
		fnProps.Environment = &props.Environment
	}
	if props.ReservedConcurrency > 0 {
		fnProps.ReservedConcurrentExecutions = jsii.Number(props.ReservedConcurrency)
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), fnProps)
	if props.Network != nil {
		props.Network.attach(fn)
	} else {
		SuppressGuard(CfnOf(fn), GuardLambdaInsideVPC, props.NoNetworkReason)
	}
	// Without this the function can be created (and, behind a custom
	// resource, invoked) before its policy and fail its first calls.
	fn.Node().AddDependency(policy)
	return fn, role, logGroup
}
