package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsaps"
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
	// Key, when set, encrypts the workspace with a customer-managed key.
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
		},
	}
	if props.Key != nil {
		wsProps.KmsKeyArn = props.Key.KeyArn()
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
