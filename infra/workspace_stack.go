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

// Generation names the workspace's create-only inputs: which key
// encrypts it (AMP API reference, CreateWorkspace: kmsKeyArn is given at
// creation only, and no update call takes it,
// https://docs.aws.amazon.com/prometheus/latest/APIReference/API_CreateWorkspace.html;
// the registry schema of AWS::APS::Workspace lists KmsKeyArn in
// createOnlyProperties). Changing one replaces the workspace, and with it
// its ARN and endpoints.
//
// The stacks that use the workspace read those through weak references
// (cdk.json @aws-cdk/core:defaultCrossStackReferences "weak": the
// workspace stack's outputs by Fn::GetStackOutput, resolved "at stack
// create or update time",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html),
// since an export another stack imports cannot be modified (Fn::ImportValue,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html)
// and the workspace could never be replaced. A weak reference alone would
// leave a consumer with the old values: its template would not change, and
// `cdk deploy` skips an unchanged stack. So every consumer outputs the
// generation (WorkspaceGeneration): a replacement changes its template, it
// is updated after the workspace stack, and resolves the new values. The
// update harness (update_test.go) fails if a replacement reaches a
// consumer whose template stays the same.
func (s *WorkspaceStack) Generation() string {
	if s.Prometheus.Workspace.KmsKeyArn() != nil {
		return "kms=stack-key"
	}
	return "kms=aws-owned"
}

// outputWorkspaceGeneration adds the WorkspaceGeneration output to a stack
// that uses the workspace (see Generation).
func outputWorkspaceGeneration(stack awscdk.Stack, ws *WorkspaceStack) {
	output(stack, "WorkspaceGeneration", jsii.String(ws.Generation()),
		"The create-only inputs of the AMP workspace this stack reads: a change replaces the workspace and updates this stack")
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
