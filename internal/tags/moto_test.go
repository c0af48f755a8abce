package tags

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// TestMoto looks the fixture payloads' resources up in moto_server's
// Resource Groups Tagging API (moto 5.2 serves it for rds:db, rds:cluster,
// ecs:cluster, ecs:service, elasticloadbalancing:loadbalancer and
// elasticloadbalancing:targetgroup) through the SDK, and checks the info
// series of what the fixtures stream.
func TestMoto(t *testing.T) {
	url := testutil.StartMoto(t)
	cfg := tagstest.MotoConfig(url)
	albARN := tagstest.SeedMoto(t, cfg)

	api := NewAPI(cfg)
	e := New(enabled(t, ""), api, Options{Wait: time.Minute})
	eachFixtureUpdate(t, e.Observe)
	// CloudWatch names an ALB by the final part of its ARN (app/<name>/<id>).
	lbDim := albARN[strings.Index(albARN, ":loadbalancer/")+len(":loadbalancer/"):]
	e.Observe(&cw.Update{AccountID: tagstest.Account, Region: "us-east-1", Namespace: "AWS/ApplicationELB", MetricName: "RequestCount",
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
