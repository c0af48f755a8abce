package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// PrivateNetworkProps configures a PrivateNetwork.
type PrivateNetworkProps struct {
	// VpcID and SubnetIDs name an existing VPC and the private subnets the
	// function runs in. An empty VpcID makes a small VPC: two isolated
	// subnets of VpcCidr, no NAT, no internet gateway.
	VpcID     string
	SubnetIDs []string
	VpcCidr   string
	// WorkspaceArn is the one AMP workspace the endpoint lets through.
	WorkspaceArn *string
	// TagLookups (tags.enabled in the function's configuration) adds an
	// interface endpoint for the Resource Groups Tagging API; with
	// TagRoleARN (tags.role_arn) also one for STS, which the lookups of
	// other accounts' tags need to assume that role.
	TagLookups bool
	TagRoleARN string
	// FlowLogRetentionDays and Key configure the created VPC's flow log.
	FlowLogRetentionDays int
	Key                  awskms.IKey
	RemovalPolicy        awscdk.RemovalPolicy
}

// PrivateNetwork is where the ingest function runs without internet access:
// private subnets, an interface endpoint for AMP's data plane
// (com.amazonaws.REGION.aps-workspaces, private DNS, so the function's
// remote-write URL resolves to it unchanged), with tag lookups the Tagging
// API's and STS's endpoints, and two security groups: the function's, which
// may only open HTTPS to the endpoints' group, which accepts only HTTPS from
// the function.
type PrivateNetwork struct {
	constructs.Construct
	VpcID     *string
	SubnetIDs *[]*string
	// Vpc is set when the construct created the VPC.
	Vpc           awsec2.Vpc
	FunctionGroup awsec2.CfnSecurityGroup
	EndpointGroup awsec2.CfnSecurityGroup
	Endpoint      awsec2.CfnVPCEndpoint
	// TaggingEndpoint is set with TagLookups, STSEndpoint with TagRoleARN
	// too; both are in EndpointGroup.
	TaggingEndpoint awsec2.CfnVPCEndpoint
	STSEndpoint     awsec2.CfnVPCEndpoint
	workspaceArn    *string
	tagRoleARN      string
	functionNetwork *FunctionNetwork
}

// FunctionNetwork is what a function needs to run in a PrivateNetwork.
type FunctionNetwork struct {
	net *PrivateNetwork
}

// Function returns the settings for NewIngestFunction's Network.
func (n *PrivateNetwork) Function() *FunctionNetwork { return n.functionNetwork }

// ApsWorkspacesService is AMP's data-plane endpoint service name (AMP user
// guide, "Using Amazon Managed Service for Prometheus with interface VPC
// endpoints").
func ApsWorkspacesService(region string) string {
	return fmt.Sprintf("com.amazonaws.%s.aps-workspaces", region)
}

// TaggingService is the Resource Groups Tagging API's endpoint service name
// (AWS PrivateLink guide, "AWS services that integrate with AWS
// PrivateLink"; Tagging API reference, "Access AWS Resource Groups Tagging
// API using an interface endpoint (AWS PrivateLink)": all of its actions
// work through the endpoint). Its private DNS name is the regional
// endpoint tagging.REGION.amazonaws.com, the one the SDK's client for the
// region calls.
func TaggingService(region string) string {
	return fmt.Sprintf("com.amazonaws.%s.tagging", region)
}

// STSService is STS's endpoint service name (AWS PrivateLink guide, same
// table). The endpoint serves the regional endpoint sts.REGION.amazonaws.com,
// not the global sts.amazonaws.com (IAM user guide, "Create a VPC endpoint
// for AWS STS"); SDK for Go v2 clients call the regional one by default
// (AWS SDKs and Tools reference guide, "AWS STS Regional endpoints"; the
// sts client's endpoint parameter UseGlobalEndpoint defaults to false).
func STSService(region string) string {
	return fmt.Sprintf("com.amazonaws.%s.sts", region)
}

// noEgress is the rule CloudFormation cannot turn into "allow all": a group
// given it has no usable egress (ICMP type 252 code 86 to one address).
var noEgress = &awsec2.CfnSecurityGroup_EgressProperty{
	IpProtocol: jsii.String("icmp"), CidrIp: jsii.String("255.255.255.255/32"),
	FromPort: jsii.Number(252), ToPort: jsii.Number(86),
	Description: jsii.String("no egress"),
}

// NewPrivateNetwork creates the network (and the VPC, if none is given).
func NewPrivateNetwork(scope constructs.Construct, id string, props *PrivateNetworkProps) *PrivateNetwork {
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	n := &PrivateNetwork{Construct: c, workspaceArn: props.WorkspaceArn, tagRoleARN: props.TagRoleARN}
	n.functionNetwork = &FunctionNetwork{net: n}
	if props.VpcID != "" {
		n.VpcID = jsii.String(props.VpcID)
		n.SubnetIDs = jsii.Strings(props.SubnetIDs...)
	} else {
		flowLogs := NewLogGroup(c, "FlowLogs", &LogGroupProps{
			RetentionDays: props.FlowLogRetentionDays, Key: props.Key, RemovalPolicy: props.RemovalPolicy,
		})
		n.Vpc = awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
			IpAddresses: awsec2.IpAddresses_Cidr(jsii.String(props.VpcCidr)),
			MaxAzs:      jsii.Number(2),
			NatGateways: jsii.Number(0),
			SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
				Name: jsii.String("ingest"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24),
			}},
			RestrictDefaultSecurityGroup: jsii.Bool(false),
			FlowLogs: &map[string]*awsec2.FlowLogOptions{"Rejected": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_REJECT,
			}},
		})
		n.VpcID = n.Vpc.VpcId()
		ids := []*string{}
		for _, s := range *n.Vpc.IsolatedSubnets() {
			ids = append(ids, s.SubnetId())
		}
		n.SubnetIDs = &ids
	}

	// The groups' descriptions predate the Tagging API and STS endpoints,
	// which share the endpoint group; a new description would replace
	// both groups (GroupDescription requires replacement).
	n.FunctionGroup = awsec2.NewCfnSecurityGroup(c, jsii.String("FunctionGroup"), &awsec2.CfnSecurityGroupProps{
		VpcId:               n.VpcID,
		GroupDescription:    jsii.String("cwstream ingest function: HTTPS to the AMP endpoint only"),
		SecurityGroupEgress: &[]any{noEgress},
	})
	n.EndpointGroup = awsec2.NewCfnSecurityGroup(c, jsii.String("EndpointGroup"), &awsec2.CfnSecurityGroupProps{
		VpcId:            n.VpcID,
		GroupDescription: jsii.String("cwstream AMP endpoint: HTTPS from the ingest function only"),
		SecurityGroupIngress: &[]any{&awsec2.CfnSecurityGroup_IngressProperty{
			IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(443), ToPort: jsii.Number(443),
			SourceSecurityGroupId: n.FunctionGroup.AttrGroupId(),
			Description:           jsii.String("HTTPS from the ingest function"),
		}},
		SecurityGroupEgress: &[]any{noEgress},
	})
	// A rule of its own: inline, the two groups would refer to each other.
	awsec2.NewCfnSecurityGroupEgress(c, jsii.String("FunctionToEndpoint"), &awsec2.CfnSecurityGroupEgressProps{
		GroupId:    n.FunctionGroup.AttrGroupId(),
		IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(443), ToPort: jsii.Number(443),
		DestinationSecurityGroupId: n.EndpointGroup.AttrGroupId(),
		Description:                jsii.String("HTTPS to the interface endpoints"),
	})
	region := *stack.Region()
	n.Endpoint = n.interfaceEndpoint("Prometheus", ApsWorkspacesService(region))
	if props.TagLookups {
		n.TaggingEndpoint = n.interfaceEndpoint("Tagging", TaggingService(region))
		if props.TagRoleARN != "" {
			n.STSEndpoint = n.interfaceEndpoint("STS", STSService(region))
		}
	}
	return n
}

// interfaceEndpoint creates an endpoint to service in the network's subnets
// and endpoint group, with private DNS: the SDK's default regional endpoint
// names resolve to it, so the function needs no endpoint settings.
func (n *PrivateNetwork) interfaceEndpoint(id, service string) awsec2.CfnVPCEndpoint {
	return awsec2.NewCfnVPCEndpoint(n.Construct, jsii.String(id), &awsec2.CfnVPCEndpointProps{
		VpcId:             n.VpcID,
		ServiceName:       jsii.String(service),
		VpcEndpointType:   jsii.String("Interface"),
		SubnetIds:         anys(*n.SubnetIDs),
		SecurityGroupIds:  &[]any{n.EndpointGroup.AttrGroupId()},
		PrivateDnsEnabled: jsii.Bool(true),
	})
}

// attach runs fn in the network's subnets with the function group, and
// limits the AMP endpoint to remote writes by fn's role to the workspace
// and the STS endpoint to what the tag lookups ask of STS, by fn's role.
//
// The Tagging API endpoint keeps its default policy: neither the Tagging
// API reference's PrivateLink page nor the PrivateLink guide documents
// endpoint policy support for it (the guide leaves that to
// describe-vpc-endpoint-services, VpcEndpointPolicySupported), and a policy
// naming fn's role would also shut out the roles it assumes in other
// accounts (tags.role_arn), whose lookups use the same endpoint. The
// endpoint group admits only the function's group, and the role may call
// tag:GetResources alone.
func (f *FunctionNetwork) attach(fn awslambda.Function) {
	n := f.net
	cfn := CfnOf(fn)
	cfn.AddPropertyOverride(jsii.String("VpcConfig"), map[string]any{
		"SubnetIds":        n.SubnetIDs,
		"SecurityGroupIds": []*string{n.FunctionGroup.AttrGroupId()},
	})
	n.Endpoint.SetPolicyDocument(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": fn.Role().RoleArn()},
			"Action":    "aps:RemoteWrite",
			"Resource":  n.workspaceArn,
		}},
	})
	deps := []constructs.IDependable{n.Endpoint}
	if n.TaggingEndpoint != nil {
		deps = append(deps, n.TaggingEndpoint)
	}
	if n.STSEndpoint != nil {
		// IAM user guide, "Control access to AWS STS with VPC endpoint
		// policies": STS endpoints take a policy; these are the two calls
		// internal/tags makes (GetCallerIdentity to tell its own account
		// from others, AssumeRole for the others).
		role := fn.Role().RoleArn()
		n.STSEndpoint.SetPolicyDocument(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{
					"Effect":    "Allow",
					"Principal": map[string]any{"AWS": role},
					"Action":    "sts:GetCallerIdentity",
					"Resource":  "*",
				},
				map[string]any{
					"Effect":    "Allow",
					"Principal": map[string]any{"AWS": role},
					"Action":    "sts:AssumeRole",
					"Resource":  TagRoleResource(n.tagRoleARN),
				},
			},
		})
		deps = append(deps, n.STSEndpoint)
	}
	// Lambda creates the function's network interfaces when the function is
	// created: the endpoints and the groups come first.
	cfn.Node().AddDependency(deps...)
}

// networkInterfaceStatement is what Lambda needs on the execution role to
// manage a VPC function's network interfaces (Lambda developer guide,
// "Giving Lambda functions access to resources in an Amazon VPC", execution
// role permissions; the AWSLambdaVPCAccessExecutionRole managed policy
// grants the same on "*").
func networkInterfaceStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("NetworkInterfaces"),
		Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
		Resources: jsii.Strings("*"),
	})
}

const networkInterfaceReason = "Lambda manages a VPC function's network interfaces with the execution role: the Describe actions support no resource-level permissions and the interface ids are unknown before Lambda creates them, so the Lambda developer guide (and AWSLambdaVPCAccessExecutionRole) grant these six EC2 actions on *; the role may do nothing else outside its own logs and one workspace."

func anys(s []*string) *[]any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return &out
}
