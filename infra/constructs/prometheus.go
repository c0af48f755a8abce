package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsaps"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RuleGroupsNamespaceName is the AMP rule groups namespace this app owns.
const RuleGroupsNamespaceName = "cwstream"

// PrometheusWorkspaceProps configures a PrometheusWorkspace.
type PrometheusWorkspaceProps struct {
	Alias         string
	RetentionDays int
	// OutOfOrderWindowSeconds is AMP's out-of-order time window.
	OutOfOrderWindowSeconds int
	// RuleQueryOffsetSeconds is the workspace's rule query offset: rule
	// groups without a query_offset of their own evaluate this far in the
	// past (AMP user guide, "Configure your workspace":
	// https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-workspace-configuration.html).
	RuleQueryOffsetSeconds int
	// Key, when set, encrypts the workspace with a customer-managed key of
	// the same stack; its key policy gets the statement AMP needs.
	Key awskms.IKey
	// LogRetentionDays and LogKey configure the workspace's log group.
	LogRetentionDays int
	LogKey           awskms.IKey
	// RulesYAML is the Prometheus rule file loaded into the rule groups
	// namespace (internal/rules).
	RulesYAML string
	// AlertManagerDefinition is the workspace's alert manager definition
	// (internal/rules.AlertManagerDefinition); the topic it names must let
	// aps.amazonaws.com publish.
	AlertManagerDefinition string
	RemovalPolicy          awscdk.RemovalPolicy
}

// PrometheusWorkspace is an AMP workspace with logging, a rule groups
// namespace and an alert manager.
type PrometheusWorkspace struct {
	constructs.Construct
	Workspace awsaps.CfnWorkspace
	Rules     awsaps.CfnRuleGroupsNamespace
	LogGroup  awslogs.LogGroup
	// RemoteWriteURL and QueryURL are the workspace's Prometheus endpoints.
	RemoteWriteURL *string
	QueryURL       *string
}

// NewPrometheusWorkspace creates the workspace, its log group and rules.
func NewPrometheusWorkspace(scope constructs.Construct, id string, props *PrometheusWorkspaceProps) *PrometheusWorkspace {
	c := constructs.NewConstruct(scope, jsii.String(id))
	// The /aws/vendedlogs/ prefix keeps AMP's log delivery within the shared
	// CloudWatch Logs resource policy instead of adding a statement per group.
	logGroup := NewLogGroup(c, "Logs", &LogGroupProps{
		Name:          "/aws/vendedlogs/prometheus/" + props.Alias,
		RetentionDays: props.LogRetentionDays,
		Key:           props.LogKey,
		RemovalPolicy: props.RemovalPolicy,
	})
	wsProps := &awsaps.CfnWorkspaceProps{
		Alias:                  jsii.String(props.Alias),
		AlertManagerDefinition: jsii.String(props.AlertManagerDefinition),
		LoggingConfiguration: &awsaps.CfnWorkspace_LoggingConfigurationProperty{
			LogGroupArn: logGroup.LogGroupArn(),
		},
		WorkspaceConfiguration: &awsaps.CfnWorkspace_WorkspaceConfigurationProperty{
			RetentionPeriodInDays:         jsii.Number(props.RetentionDays),
			OutOfOrderTimeWindowInSeconds: jsii.Number(props.OutOfOrderWindowSeconds),
			RuleQueryOffsetInSeconds:      jsii.Number(props.RuleQueryOffsetSeconds),
		},
	}
	if props.Key != nil {
		wsProps.KmsKeyArn = props.Key.KeyArn()
		allowPrometheus(c, props.Key)
	}
	ws := awsaps.NewCfnWorkspace(c, jsii.String("Workspace"), wsProps)
	ws.ApplyRemovalPolicy(props.RemovalPolicy, nil)
	rules := awsaps.NewCfnRuleGroupsNamespace(c, jsii.String("Rules"), &awsaps.CfnRuleGroupsNamespaceProps{
		Name:      jsii.String(RuleGroupsNamespaceName),
		Workspace: ws.AttrArn(),
		Data:      jsii.String(props.RulesYAML),
	})
	return &PrometheusWorkspace{
		Construct:      c,
		Workspace:      ws,
		Rules:          rules,
		LogGroup:       logGroup,
		RemoteWriteURL: awscdk.Fn_Join(jsii.String(""), jsii.Strings(*ws.AttrPrometheusEndpoint(), "api/v1/remote_write")),
		QueryURL:       awscdk.Fn_Join(jsii.String(""), jsii.Strings(*ws.AttrPrometheusEndpoint(), "api/v1/query")),
	}
}

// allowPrometheus adds to key's policy the statement the AMP user guide
// gives for a workspace encrypted with a customer managed key ("Encryption
// at rest", Step 1, key policy): any principal of this account, but only
// through AMP in this region, may DescribeKey (AMP validates the key) and
// CreateGrant (AMP creates its three grants when the workspace is created,
// on behalf of the caller: here CloudFormation with the deployer's
// credentials), GenerateDataKey and Decrypt. The key policy itself, not
// the deployer's IAM policies, then lets the workspace be created; and the
// principals of this account that AMP serves (the ingest function writing,
// Grafana reading) are covered if AMP calls KMS on their behalf.
// No encryption context condition: the page names the context key
// aws:amp:arn in its text but aws:aps:arn in its examples.
func allowPrometheus(scope constructs.Construct, key awskms.IKey) {
	stack := awscdk.Stack_Of(scope)
	// allowNoOp false: CDK refuses a key whose policy this stack cannot
	// change (an imported key) instead of silently leaving AMP out.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("PrometheusWorkspace"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:ViaService":    fmt.Sprintf("aps.%s.amazonaws.com", *stack.Region()),
			"kms:CallerAccount": stack.Account(),
		}},
	}), jsii.Bool(false))
}
