package tagstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// MotoConfig points the SDK at moto_server with static credentials.
func MotoConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(url),
	}
}

// SeedMoto creates the fixture payloads' RDS instances and cluster
// (eu-west-1), ECS clusters and services (us-east-1) and an ALB with a
// target group (us-east-1) in moto_server, tagged with Team and, for
// orders-db-1, Environment. It returns the ALB's ARN: moto draws load
// balancer ids at random, so the fixtures' app/web/50dc6c495c0c9188 cannot
// be made there.
func SeedMoto(t testing.TB, cfg aws.Config) (albARN string) {
	t.Helper()
	ctx := context.Background()
	euCfg := cfg.Copy()
	euCfg.Region = "eu-west-1"
	rc := rds.NewFromConfig(euCfg)
	team := func(v string) []rdstypes.Tag { return []rdstypes.Tag{{Key: aws.String("Team"), Value: aws.String(v)}} }
	if _, err := rc.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String("orders-aurora"), Engine: aws.String("aurora-mysql"),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("password123"),
		Tags: team("payments"),
	}); err != nil {
		t.Fatalf("moto CreateDBCluster: %v", err)
	}
	for id, tags := range map[string][]rdstypes.Tag{
		"orders-db-1":     append(team("payments"), rdstypes.Tag{Key: aws.String("Environment"), Value: aws.String("prod")}),
		"orders-db-2":     team("payments"),
		"analytics-mysql": team("data"),
		"not-streamed":    team("ghost"),
	} {
		if _, err := rc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("mysql"),
			AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("password123"),
			Tags: tags,
		}); err != nil {
			t.Fatalf("moto CreateDBInstance %s: %v", id, err)
		}
	}
	if _, err := rc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("orders-aurora-instance-1"), DBInstanceClass: aws.String("db.r6g.large"),
		Engine: aws.String("aurora-mysql"), DBClusterIdentifier: aws.String("orders-aurora"), Tags: team("payments"),
	}); err != nil {
		t.Fatalf("moto CreateDBInstance orders-aurora-instance-1: %v", err)
	}

	ec := ecs.NewFromConfig(cfg)
	ecsTeam := func(v string) []ecstypes.Tag { return []ecstypes.Tag{{Key: aws.String("Team"), Value: aws.String(v)}} }
	if _, err := ec.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("app"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1"), Memory: aws.Int32(512)}},
	}); err != nil {
		t.Fatalf("moto RegisterTaskDefinition: %v", err)
	}
	for cluster, svcs := range map[string][2][]string{
		"prod-web":   {{"web"}, {"web-frontend", "web", "orders-api", "payments", "payments-worker", "payments"}},
		"batch-jobs": {{"data"}, {"ingest", "data", "transform", "data", "report-export", "data"}},
	} {
		if _, err := ec.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster), Tags: ecsTeam(svcs[0][0])}); err != nil {
			t.Fatalf("moto CreateCluster: %v", err)
		}
		for i := 0; i < len(svcs[1]); i += 2 {
			if _, err := ec.CreateService(ctx, &ecs.CreateServiceInput{
				Cluster: aws.String(cluster), ServiceName: aws.String(svcs[1][i]), TaskDefinition: aws.String("app"),
				DesiredCount: aws.Int32(1), Tags: ecsTeam(svcs[1][i+1]),
			}); err != nil {
				t.Fatalf("moto CreateService %s: %v", svcs[1][i], err)
			}
		}
	}

	e2 := ec2.NewFromConfig(cfg)
	vpc, err := e2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("moto CreateVpc: %v", err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := e2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(az),
		})
		if err != nil {
			t.Fatalf("moto CreateSubnet: %v", err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	lc := elb.NewFromConfig(cfg)
	lb, err := lc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("web"), Subnets: subnets, Type: elbtypes.LoadBalancerTypeEnumApplication,
		Tags: []elbtypes.Tag{{Key: aws.String("Team"), Value: aws.String("web")}},
	})
	if err != nil {
		t.Fatalf("moto CreateLoadBalancer: %v", err)
	}
	if _, err := lc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("web-tg"), VpcId: vpc.Vpc.VpcId, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		Tags: []elbtypes.Tag{{Key: aws.String("Team"), Value: aws.String("web")}},
	}); err != nil {
		t.Fatalf("moto CreateTargetGroup: %v", err)
	}
	return aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
}
