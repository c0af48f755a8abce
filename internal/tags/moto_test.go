package tags

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/testutil"
)

// motoConfig points the SDK at moto_server with static credentials.
func motoConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(url),
	}
}

// seedMoto creates the fixture payloads' RDS instances and cluster
// (eu-west-1), ECS clusters and services (us-east-1) and an ALB with a
// target group (us-east-1) in moto_server, tagged with Team and, for
// orders-db-1, Environment. It returns the ALB's ARN: moto draws load
// balancer ids at random, so the fixtures' app/web/50dc6c495c0c9188 cannot
// be made there.
func seedMoto(t testing.TB, cfg aws.Config) (albARN string) {
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

// TestMoto looks the fixture payloads' resources up in moto_server's
// Resource Groups Tagging API (moto 5.2 serves it for rds:db, rds:cluster,
// ecs:cluster, ecs:service, elasticloadbalancing:loadbalancer and
// elasticloadbalancing:targetgroup) through the SDK, and checks the info
// series of what the fixtures stream.
func TestMoto(t *testing.T) {
	url := testutil.StartMoto(t)
	cfg := motoConfig(url)
	albARN := seedMoto(t, cfg)

	api := NewAPI(cfg)
	e := New(enabled(t, ""), api, Options{Wait: time.Minute})
	eachFixtureUpdate(t, e.Observe)
	// CloudWatch names an ALB by the final part of its ARN (app/<name>/<id>).
	lbDim := albARN[strings.Index(albARN, ":loadbalancer/")+len(":loadbalancer/"):]
	e.Observe(&cw.Update{AccountID: acct, Region: "us-east-1", Namespace: "AWS/ApplicationELB", MetricName: "RequestCount",
		Dimensions: []cw.Dimension{{Name: "LoadBalancer", Value: lbDim}}})
	got := infoText(e.Append(context.Background(), nil, 1710238560000))

	has := func(name, arnSuffix, dims, tags string) {
		t.Helper()
		for _, line := range got {
			if strings.HasPrefix(line, name+"{") && strings.Contains(line, arnSuffix+`"`) && strings.Contains(line, dims) && strings.Contains(line, tags) {
				return
			}
		}
		t.Errorf("no %s for %s with %s and %s in\n%s", name, arnSuffix, dims, tags, strings.Join(got, "\n"))
	}
	has("aws_rds_info", ":db:orders-db-1", `dimension_DBInstanceIdentifier="orders-db-1"`, `tag_Environment="prod",tag_Team="payments"`)
	has("aws_rds_info", ":db:orders-db-2", `dimension_DBInstanceIdentifier="orders-db-2"`, `tag_Team="payments"`)
	has("aws_rds_info", ":db:analytics-mysql", `dimension_DBInstanceIdentifier="analytics-mysql"`, `tag_Team="data"`)
	has("aws_rds_info", ":db:orders-aurora-instance-1", `dimension_DBInstanceIdentifier="orders-aurora-instance-1"`, `tag_Team="payments"`)
	has("aws_rds_info", ":cluster:orders-aurora", `dimension_DBClusterIdentifier="orders-aurora"`, `tag_Team="payments"`)
	for _, ns := range []string{"aws_ecs_info", "aws_ecs_containerinsights_info"} {
		has(ns, ":cluster/prod-web", `dimension_ClusterName="prod-web"`, `tag_Team="web"`)
		has(ns, ":cluster/batch-jobs", `dimension_ClusterName="batch-jobs"`, `tag_Team="data"`)
		has(ns, ":service/prod-web/orders-api", `dimension_ClusterName="prod-web",dimension_ServiceName="orders-api"`, `tag_Team="payments"`)
		has(ns, ":service/batch-jobs/report-export", `dimension_ClusterName="batch-jobs",dimension_ServiceName="report-export"`, `tag_Team="data"`)
	}
	has("aws_applicationelb_info", albARN[strings.LastIndex(albARN, ":"):], `dimension_LoadBalancer="`+lbDim+`"`, `tag_Team="web"`)
	// 5 RDS, 2×8 ECS, 1 ALB; the DB and the target group the stream did
	// not carry have none.
	if len(got) != 5+16+1 || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "not-streamed") || strings.Contains(s, "web-tg") }) {
		t.Errorf("%d info series, want 22:\n%s", len(got), strings.Join(got, "\n"))
	}
	if st := e.Stats(); st.LookupErrors != 0 || st.Lookups != 2 {
		t.Errorf("stats %+v", st)
	}
}
