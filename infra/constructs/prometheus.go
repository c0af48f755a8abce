package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsaps"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RuleGroupsNamespaceName is the AMP rule groups namespace this app owns.
const RuleGroupsNamespaceName = "cwstream"

// DefaultRules is the rule file used until the rules issue supplies one: a
// single alert that fires when no CloudWatch metric has arrived for 15
// minutes, which is the failure every other cwstream alarm is about.
const DefaultRules = `groups:
  - name: cwstream-pipeline
    rules:
      - alert: CWStreamNoData
        expr: absent_over_time({__name__=~"aws_.+"}[15m])
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: No CloudWatch metric has reached this workspace for 15 minutes.
          description: Check the metric stream, the Firehose delivery stream and the cwstream Lambda (alarms in the ingest stacks).
`

// PrometheusWorkspaceProps configures a PrometheusWorkspace.
type PrometheusWorkspaceProps struct {
	Alias         string
	RetentionDays int
	// OutOfOrderWindowSeconds is AMP's out-of-order time window.
	OutOfOrderWindowSeconds int
	// Key, when set, encrypts the workspace with a customer-managed key.
	Key awskms.IKey
	// LogRetention applies to the workspace's log group.
	LogRetention awslogs.RetentionDays
	// RulesYAML is the Prometheus rule file loaded into the rule groups
	// namespace; DefaultRules until the rules work plugs in.
	RulesYAML string
	// AlertTopic receives Alertmanager notifications.
	AlertTopic    awssns.ITopic
	RemovalPolicy awscdk.RemovalPolicy
}

// PrometheusWorkspace is an AMP workspace with logging, a rule groups
// namespace and an Alertmanager routing every alert to an SNS topic.
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
	region := awscdk.Stack_Of(c).Region()
	// The /aws/vendedlogs/ prefix keeps AMP's log delivery within the shared
	// CloudWatch Logs resource policy instead of adding a statement per group.
	logGroup := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/prometheus/" + props.Alias),
		Retention:     props.LogRetention,
		RemovalPolicy: props.RemovalPolicy,
	})
	alertmanager := fmt.Sprintf(`alertmanager_config: |
  route:
    receiver: sns
    group_by: [alertname, severity]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
  receivers:
    - name: sns
      sns_configs:
        - topic_arn: %s
          sigv4:
            region: %s
          attributes:
            source: cwstream-amp
`, *props.AlertTopic.TopicArn(), *region)
	wsProps := &awsaps.CfnWorkspaceProps{
		Alias:                  jsii.String(props.Alias),
		AlertManagerDefinition: jsii.String(alertmanager),
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
	ignoreStaleLintSchema(ws)
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
