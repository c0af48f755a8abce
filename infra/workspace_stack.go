package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/rules"
)

// WorkspaceStackProps configures a WorkspaceStack.
type WorkspaceStackProps struct {
	awscdk.StackProps
	Env *EnvConfig
	// RulesYAML is the Prometheus rule file for the workspace's rule groups
	// namespace.
	RulesYAML string
	// GrafanaAssetDir is the staged lambda/grafana package.
	GrafanaAssetDir string
	// DashboardsHash is DashboardsHash() of the dashboards that package
	// provisions.
	DashboardsHash string
}

// WorkspaceStack is one per environment: AMP (with rules and alert
// manager), AMG with the cwstream dashboards, and the encrypted topic alerts
// go to.
type WorkspaceStack struct {
	awscdk.Stack
	Key        awskms.Key
	AlertTopic *cw.AlertTopic
	Prometheus *cw.PrometheusWorkspace
	Grafana    *cw.GrafanaWorkspace
	Dashboards *cw.GrafanaProvisioner
}

// WorkspaceStackName is the CloudFormation name of an environment's
// workspace stack.
func WorkspaceStackName(env, region string) string {
	return fmt.Sprintf("cwstream-%s-workspace-%s", env, region)
}

// NewWorkspaceStack creates the environment's workspace stack.
func NewWorkspaceStack(scope constructs.Construct, id string, props *WorkspaceStackProps) (*WorkspaceStack, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	env := props.Env
	removal := removalPolicy(env)
	s := &WorkspaceStack{Stack: stack}

	s.Key = cw.NewStackKey(stack, "Key", fmt.Sprintf("cwstream %s: alert topic, log groups and (optionally) the AMP workspace", env.Name), removal)
	s.AlertTopic = cw.NewAlertTopic(stack, "Alerts", &cw.AlertTopicProps{
		Key:   s.Key,
		Email: env.Alerts.Email,
	})
	// Region is the stack's, a literal for an environment-bound stack; the
	// topic ARN is a token that CDK resolves inside the YAML.
	alertManager, err := rules.AlertManagerDefinition(*s.AlertTopic.Topic.TopicArn(), *stack.Region())
	if err != nil {
		return nil, err
	}
	ampProps := &cw.PrometheusWorkspaceProps{
		Alias:                   env.Prometheus.Alias,
		RetentionDays:           env.Prometheus.RetentionDays,
		OutOfOrderWindowSeconds: env.Prometheus.OutOfOrderWindowSeconds,
		RuleQueryOffsetSeconds:  env.Prometheus.RuleQueryOffsetSeconds,
		LogRetentionDays:        env.Prometheus.LogRetentionDays,
		LogKey:                  s.Key,
		RulesYAML:               props.RulesYAML,
		AlertManagerDefinition:  alertManager,
		RemovalPolicy:           removal,
	}
	if env.Prometheus.CustomerManagedKey {
		ampProps.Key = s.Key
	}
	s.Prometheus = cw.NewPrometheusWorkspace(stack, "Prometheus", ampProps)
	// AMP's alert manager publishes as aps.amazonaws.com for this workspace.
	s.AlertTopic.AllowService("aps.amazonaws.com", s.Prometheus.Workspace.AttrArn())
	s.Grafana = cw.NewGrafanaWorkspace(stack, "Grafana", &cw.GrafanaWorkspaceProps{
		Name:                   "cwstream-" + env.Name,
		Authentication:         env.Grafana.Authentication,
		PermissionType:         env.Grafana.PermissionType,
		GrafanaVersion:         env.Grafana.GrafanaVersion,
		SAMLMetadataURL:        env.Grafana.SAMLMetadataURL,
		SAMLAdminRoleValues:    env.Grafana.SAMLAdminRoleValues,
		PrometheusWorkspaceArn: s.Prometheus.Workspace.AttrArn(),
		NotificationTopic:      s.AlertTopic.Topic,
		Key:                    s.Key,
		KeyEncryptsPrometheus:  ampProps.Key != nil,
	})
	s.Dashboards = cw.NewGrafanaProvisioner(stack, "Dashboards", &cw.GrafanaProvisionerProps{
		AssetDir:         props.GrafanaAssetDir,
		WorkspaceID:      s.Grafana.Workspace.AttrId(),
		PrometheusURL:    s.Prometheus.Workspace.AttrPrometheusEndpoint(),
		Region:           stack.Region(),
		DashboardsHash:   props.DashboardsHash,
		LogRetentionDays: env.Lambda.LogRetentionDays,
		LogKey:           s.Key,
		RemovalPolicy:    removal,
	})

	output(stack, "RemoteWriteUrl", s.Prometheus.RemoteWriteURL, "AMP remote-write endpoint (CWSTREAM_REMOTE_WRITE_URL)")
	output(stack, "QueryUrl", s.Prometheus.QueryURL, "AMP query endpoint (Prometheus HTTP API)")
	output(stack, "WorkspaceArn", s.Prometheus.Workspace.AttrArn(), "AMP workspace ARN")
	output(stack, "GrafanaUrl", s.Grafana.URL, "Amazon Managed Grafana workspace URL")
	output(stack, "GrafanaDashboardsUrl", s.Dashboards.DashboardsURL, "The cwstream dashboards in Amazon Managed Grafana")
	output(stack, "AlertTopicArn", s.AlertTopic.Topic.TopicArn(), "SNS topic for Alertmanager and Grafana notifications")
	return s, nil
}

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}

// removalPolicy is what happens to stateful resources (keys, buckets, log
// groups, the AMP workspace) when they leave the stack. Retained ones are
// RetainExceptOnCreate: kept on update and delete, but removed when the
// stack operation that created them rolls back, so a failed first deploy
// leaves no fixed-name log group or bucket behind to make the retry fail
// with "already exists" (CloudFormation template reference, DeletionPolicy
// attribute, RetainExceptOnCreate).
func removalPolicy(env *EnvConfig) awscdk.RemovalPolicy {
	if env.Retain {
		return awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE
	}
	return awscdk.RemovalPolicy_DESTROY
}
