package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsgrafana"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Grafana authentication and permission types, as the AMG API spells them.
const (
	GrafanaAuthSSO             = "AWS_SSO"
	GrafanaAuthSAML            = "SAML"
	GrafanaPermCustomerManaged = "CUSTOMER_MANAGED"
	GrafanaPermServiceManaged  = "SERVICE_MANAGED"
)

// GrafanaPrometheusActions are the AMP actions the Grafana role gets, all
// but ListWorkspaces on the one workspace.
var GrafanaPrometheusActions = []string{
	"aps:DescribeWorkspace", "aps:QueryMetrics", "aps:GetLabels", "aps:GetSeries", "aps:GetMetricMetadata",
}

// The permissions of Grafana's CloudWatch data source: exactly those of the
// AmazonGrafanaCloudWatchAccess managed policy the AMG user guide names for
// it ("Use AWS data source configuration to add CloudWatch as a data
// source"), including the EC2 and tagging look-ups behind its region and
// dimension pickers and the OAM look-ups of cross-account observability,
// split by the resource each can be scoped to (Service Authorization
// Reference).
var (
	// GrafanaUnscopedActions support no resource-level permissions.
	GrafanaUnscopedActions = []string{
		"aps:ListWorkspaces",
		"cloudwatch:DescribeAlarmsForMetric", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics",
		"logs:DescribeLogGroups", "logs:GetQueryResults", "logs:StopQuery",
		"ec2:DescribeInstances", "ec2:DescribeRegions", "ec2:DescribeTags",
		"tag:GetResources",
		"oam:ListSinks",
	}
	GrafanaAlarmActions       = []string{"cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms"}
	GrafanaInsightRuleActions = []string{"cloudwatch:GetInsightRuleReport"}
	GrafanaLogGroupActions    = []string{"logs:GetLogEvents", "logs:GetLogGroupFields", "logs:StartQuery"}
	GrafanaOAMSinkActions     = []string{"oam:ListAttachedLinks"}
)

// GrafanaWorkspaceProps configures a GrafanaWorkspace.
type GrafanaWorkspaceProps struct {
	Name           string
	Authentication string
	PermissionType string
	GrafanaVersion string
	// SAMLMetadataURL and SAMLAdminRoleValues configure SAML sign-in.
	SAMLMetadataURL     string
	SAMLAdminRoleValues []string
	// PrometheusWorkspaceArn is the AMP workspace Grafana queries.
	PrometheusWorkspaceArn *string
	// NotificationTopic and its Key receive Grafana alert notifications.
	NotificationTopic awssns.ITopic
	Key               awskms.IKey
	// KeyEncryptsPrometheus says Key also encrypts the AMP workspace.
	KeyEncryptsPrometheus bool
}

// GrafanaWorkspace is an AMG workspace with Prometheus and CloudWatch data
// sources and SNS notifications. With CUSTOMER_MANAGED permissions it gets a
// role scoped to exactly those.
type GrafanaWorkspace struct {
	constructs.Construct
	Workspace awsgrafana.CfnWorkspace
	// Role is nil with SERVICE_MANAGED permissions.
	Role awsiam.Role
	URL  *string
}

// NewGrafanaWorkspace creates the workspace and, if customer-managed, its role.
func NewGrafanaWorkspace(scope constructs.Construct, id string, props *GrafanaWorkspaceProps) *GrafanaWorkspace {
	c := constructs.NewConstruct(scope, jsii.String(id))
	g := &GrafanaWorkspace{Construct: c}
	wsProps := &awsgrafana.CfnWorkspaceProps{
		Name:                     jsii.String(props.Name),
		Description:              jsii.String("cwstream dashboards over Amazon Managed Service for Prometheus and CloudWatch"),
		AccountAccessType:        jsii.String("CURRENT_ACCOUNT"),
		AuthenticationProviders:  jsii.Strings(props.Authentication),
		PermissionType:           jsii.String(props.PermissionType),
		DataSources:              jsii.Strings("PROMETHEUS", "CLOUDWATCH"),
		NotificationDestinations: jsii.Strings("SNS"),
		GrafanaVersion:           jsii.String(props.GrafanaVersion),
	}
	if props.PermissionType == GrafanaPermCustomerManaged {
		g.Role = newGrafanaRole(c, props)
		wsProps.RoleArn = g.Role.RoleArn()
	}
	if props.Authentication == GrafanaAuthSAML && props.SAMLMetadataURL != "" {
		saml := &awsgrafana.CfnWorkspace_SamlConfigurationProperty{
			IdpMetadata: &awsgrafana.CfnWorkspace_IdpMetadataProperty{Url: jsii.String(props.SAMLMetadataURL)},
			AssertionAttributes: &awsgrafana.CfnWorkspace_AssertionAttributesProperty{
				Role: jsii.String("role"), Email: jsii.String("mail"), Name: jsii.String("displayName"), Login: jsii.String("mail"),
			},
		}
		if len(props.SAMLAdminRoleValues) > 0 {
			saml.RoleValues = &awsgrafana.CfnWorkspace_RoleValuesProperty{Admin: jsii.Strings(props.SAMLAdminRoleValues...)}
		}
		wsProps.SamlConfiguration = saml
	}
	g.Workspace = awsgrafana.NewCfnWorkspace(c, jsii.String("Workspace"), wsProps)
	g.URL = awscdk.Fn_Join(jsii.String(""), jsii.Strings("https://", *g.Workspace.AttrEndpoint()))
	return g
}

func newGrafanaRole(c constructs.Construct, props *GrafanaWorkspaceProps) awsiam.Role {
	stack := awscdk.Stack_Of(c)
	account := stack.Account()
	arn := func(service, resource string) *string {
		return jsii.String(fmt.Sprintf("arn:%s:%s:*:%s:%s", *stack.Partition(), service, *account, resource))
	}
	sourceAccount := map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String("Amazon Managed Grafana: read the cwstream AMP workspace and CloudWatch, publish to the alert topic"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("grafana.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &sourceAccount,
		}),
	})
	statements := []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("PrometheusQuery"), Actions: jsii.Strings(GrafanaPrometheusActions...), Resources: &[]*string{props.PrometheusWorkspaceArn}},
		{Sid: jsii.String("NoResourceLevelPermissions"), Actions: jsii.Strings(GrafanaUnscopedActions...), Resources: jsii.Strings("*")},
		{Sid: jsii.String("CloudWatchAlarms"), Actions: jsii.Strings(GrafanaAlarmActions...), Resources: &[]*string{arn("cloudwatch", "alarm:*")}},
		{Sid: jsii.String("CloudWatchInsightRules"), Actions: jsii.Strings(GrafanaInsightRuleActions...), Resources: &[]*string{arn("cloudwatch", "insight-rule/*")}},
		{Sid: jsii.String("CloudWatchLogs"), Actions: jsii.Strings(GrafanaLogGroupActions...), Resources: &[]*string{arn("logs", "log-group:*")}},
		{Sid: jsii.String("ObservabilityAccessManager"), Actions: jsii.Strings(GrafanaOAMSinkActions...), Resources: &[]*string{arn("oam", "sink/*")}},
		{Sid: jsii.String("Notifications"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{props.NotificationTopic.TopicArn()}},
		keyStatement(props),
	}
	policy := awsiam.NewPolicy(c, jsii.String("Policy"), &awsiam.PolicyProps{Roles: &[]awsiam.IRole{role}})
	for _, s := range statements {
		policy.AddStatements(awsiam.NewPolicyStatement(s))
	}
	suppressWildcards(policy, []nagReason{
		{"Resource::*", "aps:ListWorkspaces, cloudwatch:DescribeAlarmsForMetric/GetMetricData/GetMetricStatistics/ListMetrics, logs:DescribeLogGroups/GetQueryResults/StopQuery, ec2:DescribeInstances/DescribeRegions/DescribeTags, tag:GetResources and oam:ListSinks support no resource-level permissions (Service Authorization Reference), so their statement must name *; every other action is scoped."},
		{regex(`/^Resource::arn:<AWS::Partition>:oam:\*:<AWS::AccountId>:sink\/\*$/`), "Grafana lists the links attached to this account's CloudWatch cross-account observability sinks, chosen at query time; read-only ListAttachedLinks is pinned to this account's sinks."},
		{regex(`/^Resource::arn:<AWS::Partition>:cloudwatch:\*:<AWS::AccountId>:alarm:\*$/`), "Grafana's CloudWatch data source lists and annotates any alarm the user picks in this account, in any region; the ARN is pinned to this account and to read-only alarm actions."},
		{regex(`/^Resource::arn:<AWS::Partition>:cloudwatch:\*:<AWS::AccountId>:insight-rule\/\*$/`), "Contributor Insights reports are chosen in the dashboard at query time; read-only GetInsightRuleReport is pinned to this account's insight rules."},
		{regex(`/^Resource::arn:<AWS::Partition>:logs:\*:<AWS::AccountId>:log-group:\*$/`), "CloudWatch Logs Insights queries in Grafana target log groups chosen at query time; the read-only actions are pinned to this account's log groups."},
	})
	return role
}

// keyStatement is the Grafana role's use of the stack key. SNS encrypts a
// notification with the publisher's data key: Decrypt and GenerateDataKey.
// A workspace encrypted with a customer managed key is readable by Grafana
// only with access to the key, as one of its key users (AMP user guide,
// "Encryption at rest", Step 3). The page names no actions; of the key
// users' ones (KMS developer guide, "Default key policy") the role takes
// the read side: Decrypt, which it already has, and DescribeKey.
func keyStatement(props *GrafanaWorkspaceProps) *awsiam.PolicyStatementProps {
	if props.KeyEncryptsPrometheus {
		return &awsiam.PolicyStatementProps{Sid: jsii.String("NotificationsAndPrometheusKey"),
			Actions: jsii.Strings("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"), Resources: &[]*string{props.Key.KeyArn()}}
	}
	return &awsiam.PolicyStatementProps{Sid: jsii.String("NotificationsKey"),
		Actions: jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"), Resources: &[]*string{props.Key.KeyArn()}}
}
