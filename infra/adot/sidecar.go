package adot

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/adot"
)

// Options are the collector's settings (see internal/adot.Options):
// remote-write URL and region (CDK tokens are fine), scrape targets,
// interval and path, metric relabel rules, container metrics, task labels,
// external labels.
type Options = adot.Options

// DefaultOptions scrape localhost:8080/metrics every 30 s, collect the
// container metrics, label every series with the task's cluster, service
// and task id, and sign with SigV4. Set RemoteWriteURL and Region.
func DefaultOptions() Options { return adot.DefaultOptions() }

// The pinned image and the container's name.
const (
	Image         = adot.Image
	ContainerName = adot.ContainerName
	ConfigEnv     = adot.ConfigEnv
)

// IngestActions are what the task role may do on the workspace: the AMP
// user guide's ingestion policy (remote write, and the read calls a
// Prometheus-compatible agent makes for metadata), nothing else.
var IngestActions = []string{"aps:RemoteWrite", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"}

// SidecarProps configure a Sidecar.
type SidecarProps struct {
	// TaskDefinition receives the container; its task role the policy.
	TaskDefinition awsecs.TaskDefinition
	// WorkspaceArn is the one AMP workspace the task may write to.
	WorkspaceArn *string
	// Options configure the collector.
	Options Options
	// LogGroup receives the container's logs. Nil: the construct creates
	// one named LogGroupName, kept LogRetentionDays, encrypted with LogKey.
	LogGroup awslogs.ILogGroup
	// LogGroupName names the created log group (default: CloudFormation
	// names it).
	LogGroupName string
	// LogRetentionDays of the created log group: a value CloudWatch Logs
	// accepts (default 30).
	LogRetentionDays int
	// LogKey encrypts the created log group. Nil: the construct creates a
	// key. A key given here must let logs.<region>.amazonaws.com use it.
	LogKey awskms.IKey
	// RemovalPolicy of the log group and a created key (default DESTROY).
	RemovalPolicy awscdk.RemovalPolicy
}

// Sidecar is the collector container added to a task definition, with its
// log group and the task role's AMP policy.
type Sidecar struct {
	constructs.Construct
	Container awsecs.ContainerDefinition
	LogGroup  awslogs.ILogGroup
	// LogKey is the created log group's key (nil when LogGroup was given).
	LogKey awskms.IKey
	Policy awsiam.Policy
	// Config is the collector configuration in AOT_CONFIG_CONTENT (with
	// CDK tokens unresolved).
	Config string
}

// NewSidecar adds the collector to props.TaskDefinition. It fails, before
// creating anything, on options the collector would reject.
func NewSidecar(scope constructs.Construct, id string, props *SidecarProps) (*Sidecar, error) {
	if props.TaskDefinition == nil || props.WorkspaceArn == nil {
		return nil, fmt.Errorf("adot sidecar %s: TaskDefinition and WorkspaceArn are required", id)
	}
	cfg, err := adot.Config(props.Options)
	if err != nil {
		return nil, fmt.Errorf("adot sidecar %s: %w", id, err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	removal := props.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	logGroup, key := props.LogGroup, props.LogKey
	if logGroup == nil {
		logGroup, key = newLogGroup(c, props, removal)
	}

	hc := adot.HealthCheck()
	container := props.TaskDefinition.AddContainer(jsii.String(ContainerName), &awsecs.ContainerDefinitionOptions{
		ContainerName:          jsii.String(ContainerName),
		Image:                  awsecs.ContainerImage_FromRegistry(jsii.String(Image), nil),
		Essential:              jsii.Bool(adot.Essential),
		Cpu:                    jsii.Number(adot.CPUUnits),
		MemoryLimitMiB:         jsii.Number(adot.MemoryLimitMiB),
		MemoryReservationMiB:   jsii.Number(adot.MemoryReservationMiB),
		User:                   jsii.String(adot.ContainerUser),
		ReadonlyRootFilesystem: jsii.Bool(adot.ReadonlyRootFilesystem),
		Environment:            &map[string]*string{ConfigEnv: jsii.String(cfg)},
		HealthCheck: &awsecs.HealthCheck{
			Command:     jsii.Strings(hc.Command...),
			Interval:    awscdk.Duration_Seconds(jsii.Number(hc.Interval)),
			Timeout:     awscdk.Duration_Seconds(jsii.Number(hc.Timeout)),
			Retries:     jsii.Number(hc.Retries),
			StartPeriod: awscdk.Duration_Seconds(jsii.Number(hc.StartPeriod)),
		},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     logGroup,
			StreamPrefix: jsii.String(ContainerName),
		}),
	})

	policy := awsiam.NewPolicy(c, jsii.String("Ingest"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{props.TaskDefinition.TaskRole()},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AmpIngest"),
			Actions:   jsii.Strings(IngestActions...),
			Resources: &[]*string{props.WorkspaceArn},
		})},
	})
	// The configuration is no secret (endpoints, labels, intervals); the
	// credentials come from the task role. An environment variable is how
	// the ADOT image reads it.
	cdknag.NagSuppressions_AddResourceSuppressions(props.TaskDefinition, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-ECS2"),
		Reason: jsii.String("The ADOT sidecar's AOT_CONFIG_CONTENT holds the collector configuration (endpoints, labels, intervals), no secret; the image reads its configuration from that variable."),
	}}, jsii.Bool(false))
	return &Sidecar{Construct: c, Container: container, LogGroup: logGroup, LogKey: key, Policy: policy, Config: cfg}, nil
}

// newLogGroup creates the container's log group, encrypted with
// props.LogKey or a key of its own (constructs.NewStackKey: rotated, usable
// by CloudWatch Logs of this account and region, grants only for AWS
// services).
func newLogGroup(c constructs.Construct, props *SidecarProps, removal awscdk.RemovalPolicy) (awslogs.LogGroup, awskms.IKey) {
	days := props.LogRetentionDays
	if days == 0 {
		days = 30
	}
	key := props.LogKey
	if key == nil {
		key = cw.NewStackKey(c, "LogKey", "ADOT collector sidecar logs", removal)
	}
	logGroup := cw.NewLogGroup(c, "Logs", &cw.LogGroupProps{
		Name:          props.LogGroupName,
		RetentionDays: days,
		Key:           key,
		RemovalPolicy: removal,
	})
	return logGroup, key
}
