package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/cwstream/cwstream/internal/grafana"
)

// GrafanaProvisioningActions are the AMG control-plane actions
// lambda/grafana calls (internal/grafana.WorkspaceAPI), all on the one
// workspace: find its endpoint, keep a service account and mint a
// short-lived token for the Grafana HTTP API.
var GrafanaProvisioningActions = []string{
	"grafana:DescribeWorkspace",
	"grafana:ListWorkspaceServiceAccounts",
	"grafana:CreateWorkspaceServiceAccount",
	"grafana:DeleteWorkspaceServiceAccount",
	"grafana:CreateWorkspaceServiceAccountToken",
	"grafana:DeleteWorkspaceServiceAccountToken",
}

// The custom resource and its function.
const (
	GrafanaResourceType = "Custom::CWStreamGrafana"
	// PropDashboardsHash carries the dashboards' hash: the handler ignores
	// it, but a new value makes CloudFormation send an Update, so changed
	// dashboards are provisioned again.
	PropDashboardsHash = "DashboardsHash"
	// ProvisionerTimeoutSeconds: a sync is about a dozen AMG and Grafana
	// calls, each under the provisioner's 30 s HTTP timeout, plus at most
	// grafana.DefaultRetryPolicy.Budget (120 s) of waits between retries
	// of transient failures; the handler answers CloudFormation 10 s
	// before this deadline.
	ProvisionerTimeoutSeconds = 300
	ProvisionerMemoryMiB      = 256
	// provisionerServiceTimeoutSeconds bounds how long CloudFormation waits
	// for an answer (default an hour) should the function die unanswered.
	provisionerServiceTimeoutSeconds = ProvisionerTimeoutSeconds + 60
)

// The custom resource's attributes (internal/grafana.CustomResource).
const (
	AttrGrafanaEndpoint      = "Endpoint"
	AttrGrafanaFolderUID     = "FolderUid"
	AttrGrafanaDataSourceUID = "DataSourceUid"
	AttrGrafanaDashboards    = "Dashboards"
)

// GrafanaProvisionerProps configures a GrafanaProvisioner.
type GrafanaProvisionerProps struct {
	// AssetDir is a directory staged by StageBootstrap with lambda/grafana.
	AssetDir string
	// WorkspaceID is the AMG workspace (g-…) the dashboards go into.
	WorkspaceID *string
	// PrometheusURL is the AMP workspace's Prometheus endpoint
	// (https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-…/), the
	// data source's URL; Region is the AMP region it signs for.
	PrometheusURL *string
	Region        *string
	// DashboardsHash changes whenever the dashboards do.
	DashboardsHash   string
	LogRetentionDays int
	LogKey           awskms.IKey
	RemovalPolicy    awscdk.RemovalPolicy
}

// GrafanaProvisioner is a CloudFormation custom resource whose Lambda
// (lambda/grafana, provided.al2023 arm64) puts cwstream's AMP data source,
// folder and dashboards into an AMG workspace on create and update, and
// removes them on delete. The function answers CloudFormation itself
// (cfn.LambdaWrap), so the resource calls it directly rather than through
// the customresources.Provider framework and its extra functions.
type GrafanaProvisioner struct {
	constructs.Construct
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
	Resource awscdk.CustomResource
	// Endpoint is the Grafana URL (https://g-….grafana-workspace…) and
	// DashboardsURL the cwstream folder in it.
	Endpoint      *string
	DashboardsURL *string
}

// NewGrafanaProvisioner creates the function, its log group and role, and
// the custom resource.
func NewGrafanaProvisioner(scope constructs.Construct, id string, props *GrafanaProvisionerProps) *GrafanaProvisioner {
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	workspaceArn := jsii.String(fmt.Sprintf("arn:%s:grafana:%s:%s:/workspaces/%s",
		*stack.Partition(), *stack.Region(), *stack.Account(), *props.WorkspaceID))
	fn, role, logGroup := newGoFunction(c, &goFunctionProps{
		Description:      "cwstream: provision the AMP data source, folder and dashboards into Amazon Managed Grafana",
		RoleDescription:  "cwstream Grafana provisioning: write its own logs and manage one AMG workspace's service account",
		AssetDir:         props.AssetDir,
		MemoryMiB:        ProvisionerMemoryMiB,
		TimeoutSeconds:   ProvisionerTimeoutSeconds,
		LogRetentionDays: props.LogRetentionDays,
		LogKey:           props.LogKey,
		// It answers one CloudFormation request per deploy and calls the AMG
		// control plane and the workspace's Grafana endpoint, both public
		// AWS endpoints; it handles no metric data.
		NoNetworkReason: "Runs only during deployments and talks to the public AMG control plane and Grafana workspace endpoints with SigV4 or a 15-minute token; it carries no metric data, and a VPC would add NAT or three more endpoints for nothing.",
		RemovalPolicy:   props.RemovalPolicy,
		Grants: []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("GrafanaWorkspace"),
			Actions:   jsii.Strings(GrafanaProvisioningActions...),
			Resources: &[]*string{workspaceArn},
		})},
	})
	resource := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken:   fn.FunctionArn(),
		ResourceType:   jsii.String(GrafanaResourceType),
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(provisionerServiceTimeoutSeconds)),
		Properties: &map[string]any{
			grafana.PropWorkspaceID:   props.WorkspaceID,
			grafana.PropPrometheusURL: props.PrometheusURL,
			grafana.PropRegion:        props.Region,
			PropDashboardsHash:        props.DashboardsHash,
		},
	})
	endpoint := resource.GetAttString(jsii.String(AttrGrafanaEndpoint))
	return &GrafanaProvisioner{
		Construct: c,
		Function:  fn,
		Role:      role,
		LogGroup:  logGroup,
		Resource:  resource,
		Endpoint:  endpoint,
		// Grafana ≥ 9 lists a folder's dashboards at /dashboards/f/UID/.
		DashboardsURL: awscdk.Fn_Join(jsii.String(""), &[]*string{
			endpoint, jsii.String("/dashboards/f/"), resource.GetAttString(jsii.String(AttrGrafanaFolderUID)), jsii.String("/"),
		}),
	}
}
