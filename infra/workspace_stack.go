package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"
)

// WorkspaceStackProps configures a WorkspaceStack.
type WorkspaceStackProps struct {
	awscdk.StackProps
	Env *EnvConfig
	// RulesYAML is the Prometheus rule file for the workspace's rule groups
	// namespace (constructs.DefaultRules until the rules work supplies one).
	RulesYAML string
}

// WorkspaceStack is one per environment: AMP (with rules and Alertmanager),
// AMG and the encrypted topic alerts go to.
type WorkspaceStack struct {
	awscdk.Stack
	Key        awskms.Key
	AlertTopic *cw.AlertTopic
	Prometheus *cw.PrometheusWorkspace
	Grafana    *cw.GrafanaWorkspace
}

// WorkspaceStackName is the CloudFormation name of an environment's
// workspace stack.
func WorkspaceStackName(env, region string) string {
	return fmt.Sprintf("cwstream-%s-workspace-%s", env, region)
}

// NewWorkspaceStack creates the environment's workspace stack.
func NewWorkspaceStack(scope constructs.Construct, id string, props *WorkspaceStackProps) *WorkspaceStack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	env := props.Env
	removal := removalPolicy(env)
	s := &WorkspaceStack{Stack: stack}

	s.Key = awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String(fmt.Sprintf("cwstream %s: alert topic and (optionally) the AMP workspace", env.Name)),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
	})
	s.AlertTopic = cw.NewAlertTopic(stack, "Alerts", &cw.AlertTopicProps{
		Key:        s.Key,
		Publishers: []string{"aps.amazonaws.com"},
		Email:      env.Alerts.Email,
	})
	ampProps := &cw.PrometheusWorkspaceProps{
		Alias:                   env.Prometheus.Alias,
		RetentionDays:           env.Prometheus.RetentionDays,
		OutOfOrderWindowSeconds: env.Prometheus.OutOfOrderWindowSeconds,
		LogRetention:            retentionDays(env.Prometheus.LogRetentionDays),
		RulesYAML:               props.RulesYAML,
		AlertTopic:              s.AlertTopic.Topic,
		RemovalPolicy:           removal,
	}
	if env.Prometheus.CustomerManagedKey {
		ampProps.Key = s.Key
	}
	s.Prometheus = cw.NewPrometheusWorkspace(stack, "Prometheus", ampProps)
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
	})

	output(stack, "RemoteWriteUrl", s.Prometheus.RemoteWriteURL, "AMP remote-write endpoint (CWSTREAM_REMOTE_WRITE_URL)")
	output(stack, "QueryUrl", s.Prometheus.QueryURL, "AMP query endpoint (Prometheus HTTP API)")
	output(stack, "WorkspaceArn", s.Prometheus.Workspace.AttrArn(), "AMP workspace ARN")
	output(stack, "GrafanaUrl", s.Grafana.URL, "Amazon Managed Grafana workspace URL")
	output(stack, "AlertTopicArn", s.AlertTopic.Topic.TopicArn(), "SNS topic for Alertmanager and Grafana notifications")
	return s
}

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}

func removalPolicy(env *EnvConfig) awscdk.RemovalPolicy {
	if env.Retain {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}
