package tags

import (
	"slices"
	"testing"
)

func TestParseARN(t *testing.T) {
	tests := []struct {
		arn  string
		kind string
		dims []Dimension
	}{
		{"arn:aws:rds:eu-west-1:123456789012:db:orders-db-1", "rds:db", []Dimension{{"DBInstanceIdentifier", "orders-db-1"}}},
		{"arn:aws-cn:rds:cn-north-1:123456789012:cluster:orders-aurora", "rds:cluster", []Dimension{{"DBClusterIdentifier", "orders-aurora"}}},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", "elasticloadbalancing:loadbalancer", []Dimension{{"LoadBalancer", "app/web/50dc6c495c0c9188"}}},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/73e2d6bc24d8a067", "elasticloadbalancing:targetgroup", []Dimension{{"TargetGroup", "targetgroup/web-tg/73e2d6bc24d8a067"}}},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/prod-web", "ecs:cluster", []Dimension{{"ClusterName", "prod-web"}}},
		{"arn:aws:ecs:us-east-1:123456789012:service/prod-web/orders-api", "ecs:service", []Dimension{{"ClusterName", "prod-web"}, {"ServiceName", "orders-api"}}},
		// Not supported: a network load balancer, a classic one, an ECS
		// service with the short ARN, a snapshot, a task, no ARN at all.
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/edge/1111111111111111", "", nil},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/classic-lb", "", nil},
		{"arn:aws:ecs:us-east-1:123456789012:service/orders-api", "", nil},
		{"arn:aws:rds:eu-west-1:123456789012:snapshot:nightly", "", nil},
		{"arn:aws:ecs:us-east-1:123456789012:task/prod-web/0123456789abcdef", "", nil},
		{"orders-db-1", "", nil},
	}
	for _, tt := range tests {
		a, ok := ParseARN(tt.arn)
		if ok != (tt.kind != "") || a.Kind != tt.kind || !slices.Equal(a.Dimensions, tt.dims) {
			t.Errorf("ParseARN(%q) = %+v, %v; want kind %q, %v", tt.arn, a, ok, tt.kind, tt.dims)
			continue
		}
		if ok && (a.Account != "123456789012" || a.Region == "") {
			t.Errorf("ParseARN(%q): account %q region %q", tt.arn, a.Account, a.Region)
		}
	}
}
