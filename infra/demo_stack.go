package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cwstream/cwstream/infra/adot"
	cw "github.com/cwstream/cwstream/infra/constructs"
)

// DemoAppPath is where `make lambda` leaves the demo application
// (cmd/demoapp, linux/arm64), relative to the repository root.
const DemoAppPath = "build/demoapp/demoapp"

// Demo application facts the stack and the sidecar share.
const (
	demoAppPort = 8080
	demoAppCPU  = 128
	demoAppMiB  = 128
	demoTaskCPU = 256 // 0.25 vCPU: the smallest Fargate task
	demoTaskMiB = 512
)

// demoDockerfile builds the demo image from the prebuilt static binary: no
// RUN step, so building the arm64 image needs no emulation.
const demoDockerfile = `FROM scratch
COPY bootstrap /demoapp
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/demoapp"]
`

// StageDemoImage lays out dir as the demo image's Docker build context:
// the binary and the Dockerfile.
func StageDemoImage(dir, binary string) error {
	if err := cw.StageBootstrap(dir, binary); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(demoDockerfile), 0o644)
}

// DemoStackProps configure a DemoStack.
type DemoStackProps struct {
	awscdk.StackProps
	Env       *EnvConfig
	Workspace *WorkspaceStack
	// ImageDir is the staged Docker build context (StageDemoImage); unused
	// when Env.EcsDemo.Image names a prebuilt image.
	ImageDir string
	// ExternalLabels are the environment's (its cwstream config's), put on
	// the sidecar's series too.
	ExternalLabels map[string]string
}

// DemoStack is the optional ECS demo: a Fargate service of cmd/demoapp
// with the ADOT collector sidecar, so one deployment shows both ingestion
// paths in the workspace: the cluster's Container Insights metrics through
// the metric stream, the application's and containers' own metrics through
// the sidecar.
type DemoStack struct {
	awscdk.Stack
	Key            awskms.Key
	Vpc            awsec2.Vpc
	Cluster        awsecs.Cluster
	TaskDefinition awsecs.FargateTaskDefinition
	App            awsecs.ContainerDefinition
	Sidecar        *adot.Sidecar
	Service        awsecs.FargateService
}

// DemoStackName is the CloudFormation name of an environment's demo stack.
func DemoStackName(env, region string) string {
	return fmt.Sprintf("cwstream-%s-ecsdemo-%s", env, region)
}

// DemoServiceName and DemoClusterName are the demo's ECS names: fixed, so
// the sidecar labels the application's series with the service name and
// the dashboards can select them.
func DemoServiceName(env string) string { return "cwstream-" + env + "-demo" }
func DemoClusterName(env string) string { return "cwstream-" + env + "-demo" }

// NewDemoStack creates the demo stack in the workspace's region.
func NewDemoStack(scope constructs.Construct, id string, props *DemoStackProps) (*DemoStack, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	env := props.Env
	removal := removalPolicy(env)
	s := &DemoStack{Stack: stack}
	logPrefix := "/cwstream/" + env.Name + "/ecsdemo/"

	s.Key = cw.NewStackKey(stack, "Key", fmt.Sprintf("cwstream %s ECS demo: its log groups", env.Name), removal)
	logGroup := func(id, name string) awslogs.LogGroup {
		return cw.NewLogGroup(stack, id, &cw.LogGroupProps{
			Name:          logPrefix + name,
			RetentionDays: env.EcsDemo.LogRetentionDays,
			Key:           s.Key,
			RemovalPolicy: removal,
		})
	}

	// Public subnets and a public IP per task instead of a NAT gateway:
	// the tasks only pull images and call AMP, and a NAT gateway would cost
	// more than the whole demo. Nothing can reach the tasks: the security
	// group has no inbound rule.
	s.Vpc = awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24),
		}},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{"all": {
			Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(logGroup("FlowLogs", "vpc-flow-logs"), nil),
			TrafficType: awsec2.FlowLogTrafficType_REJECT,
		}},
	})
	// Container Insights feeds the metric stream path (ECS/ContainerInsights)
	// for the same service the sidecar reports on.
	s.Cluster = awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{
		ClusterName:         jsii.String(DemoClusterName(env.Name)),
		Vpc:                 s.Vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})
	s.TaskDefinition = awsecs.NewFargateTaskDefinition(stack, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(demoTaskCPU),
		MemoryLimitMiB: jsii.Number(demoTaskMiB),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	var image awsecs.ContainerImage
	if env.EcsDemo.Image != "" {
		image = awsecs.ContainerImage_FromRegistry(jsii.String(env.EcsDemo.Image), nil)
	} else {
		image = awsecs.ContainerImage_FromAsset(jsii.String(props.ImageDir), &awsecs.AssetImageProps{
			Platform: awsecrassets.Platform_LINUX_ARM64(),
		})
	}
	s.App = s.TaskDefinition.AddContainer(jsii.String("app"), &awsecs.ContainerDefinitionOptions{
		ContainerName:  jsii.String("app"),
		Image:          image,
		Essential:      jsii.Bool(true),
		Cpu:            jsii.Number(demoAppCPU),
		MemoryLimitMiB: jsii.Number(demoAppMiB),
		PortMappings:   &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(demoAppPort)}},
		// The image's USER, repeated where a check of the task definition
		// sees it; the app writes nothing to disk.
		User:                   jsii.String("65534:65534"),
		ReadonlyRootFilesystem: jsii.Bool(true),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup: logGroup("AppLogs", "app"), StreamPrefix: jsii.String("app"),
		}),
	})

	if env.EcsDemo.Image == "" {
		cdknag.NagSuppressions_AddResourceSuppressions(s.TaskDefinition.ExecutionRole(), &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ecr:GetAuthorizationToken, which pulling the demo image from the CDK assets repository needs, supports no resource-level permission (Service Authorization Reference, Amazon ECR)."),
			AppliesTo: &[]any{"Resource::*"},
		}}, jsii.Bool(true))
	}

	opts := adot.DefaultOptions()
	opts.RemoteWriteURL = *props.Workspace.Prometheus.RemoteWriteURL
	opts.Region = *props.Workspace.Region()
	opts.ScrapeTargets = []string{fmt.Sprintf("localhost:%d", demoAppPort)}
	opts.ServiceName = DemoServiceName(env.Name)
	opts.ExternalLabels = props.ExternalLabels
	sidecar, err := adot.NewSidecar(stack, "Adot", &adot.SidecarProps{
		TaskDefinition: s.TaskDefinition,
		WorkspaceArn:   props.Workspace.Prometheus.Workspace.AttrArn(),
		Options:        opts,
		LogGroup:       logGroup("AdotLogs", adot.ContainerName),
	})
	if err != nil {
		return nil, err
	}
	s.Sidecar = sidecar

	sg := awsec2.NewSecurityGroup(stack, jsii.String("Tasks"), &awsec2.SecurityGroupProps{
		Vpc:              s.Vpc,
		Description:      jsii.String("cwstream ECS demo tasks: no inbound; outbound for image pulls and AMP"),
		AllowAllOutbound: jsii.Bool(true),
	})
	s.Service = awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{
		ServiceName:       jsii.String(DemoServiceName(env.Name)),
		Cluster:           s.Cluster,
		TaskDefinition:    s.TaskDefinition,
		DesiredCount:      jsii.Number(env.EcsDemo.DesiredCount),
		AssignPublicIp:    jsii.Bool(true),
		VpcSubnets:        &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		SecurityGroups:    &[]awsec2.ISecurityGroup{sg},
		CircuitBreaker:    &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
		MinHealthyPercent: jsii.Number(100),
	})
	// The task role's AMP policy is a separate AWS::IAM::Policy that CDK
	// does not order before the service (only the role itself). Without
	// this, the first tasks can start before the policy is attached and
	// their first remote writes get 403, a 4xx the prometheusremotewrite
	// exporter treats as permanent: those samples are dropped, not retried.
	s.Service.Node().AddDependency(sidecar.Policy)

	// No NAT gateway and no interface endpoints: the sidecar's image is on
	// public ECR, which no VPC endpoint serves, and a NAT gateway would
	// cost more than the demo itself. Nothing can reach the tasks (the
	// security group has no inbound rule).
	const publicIP = "The ECS demo runs in public subnets with a public IP per task instead of a NAT gateway: the ADOT image is on public ECR (no VPC endpoint serves it) and a NAT gateway would cost more than the demo; the tasks' security group allows no inbound traffic."
	cw.SuppressGuard(cw.CfnOf(s.Service), "ecs_service_assign_public_ip_disabled_check", publicIP)
	for _, subnet := range *s.Vpc.PublicSubnets() {
		cw.SuppressGuard(cw.CfnOf(subnet), "subnet_auto_assign_public_ip_disabled_check", publicIP)
	}

	output(stack, "DemoClusterName", s.Cluster.ClusterName(), "ECS demo cluster")
	output(stack, "DemoServiceName", s.Service.ServiceName(), "ECS demo service (application + ADOT collector sidecar)")
	output(stack, "AdotLogGroup", sidecar.LogGroup.LogGroupName(), "The ADOT collector sidecar's log group")
	outputWorkspaceGeneration(stack, props.Workspace)
	return s, nil
}
