// Package tags writes the resources' tags as YACE info series, so dashboards
// can filter and join CloudWatch metrics by team, service or environment:
//
//	aws_rds_info{name="arn:aws:rds:eu-west-1:123456789012:db:orders-db-1",
//	  account_id="123456789012", region="eu-west-1",
//	  dimension_DBInstanceIdentifier="orders-db-1", tag_Team="payments"} 0
//
// Metric streams carry dimensions, never tags. The Enricher notes, per
// datapoint and without allocating, which resources the stream carries
// (Observe), and once per invocation appends one info series per resource
// seen whose tags are known (Append). Tags come from the Resource Groups
// Tagging API (tag:GetResources, every page, per region), looked up on
// goroutines of their own every refresh interval and cached; a lookup that
// fails or hangs only leaves the info series as they were and is counted.
//
// Names and labels follow YACE (prometheus-community/yet-another-cloudwatch-exporter):
// the series is aws_<namespace>_info named like any series of the namespace
// (naming.Base(namespace, "info")), name is the ARN, account_id and region
// are set, each tag becomes tag_<Key> with the key sanitised as YACE's
// promutil.PromStringTag does without snake case (LabelName), its value
// untouched, and the value is 0 as in YACE. cwstream adds the dimension
// labels that identify the resource, read from its ARN, so the info series
// joins on the labels cwstream's series carry (they have no name label).
//
// The mapping, per YACE's pkg/config/services.go (resource type filters and
// the ARN patterns that name the dimensions):
//
//	namespace              resource type filter               ARN resource part                 dimensions
//	AWS/RDS                rds:db                             db:<id>                           DBInstanceIdentifier
//	AWS/RDS                rds:cluster                        cluster:<id>                      DBClusterIdentifier
//	AWS/ApplicationELB     elasticloadbalancing:loadbalancer  loadbalancer/app/<name>/<id>      LoadBalancer = app/<name>/<id>
//	AWS/ApplicationELB     elasticloadbalancing:targetgroup   targetgroup/<name>/<id>           TargetGroup = targetgroup/<name>/<id>
//	AWS/ECS                ecs:cluster                        cluster/<cluster>                 ClusterName
//	AWS/ECS                ecs:service                        service/<cluster>/<service>       ClusterName, ServiceName
//	ECS/ContainerInsights  ecs:cluster, ecs:service           as AWS/ECS                        as AWS/ECS
//
// Differences from YACE, each for a reason: YACE asks for
// elasticloadbalancing:loadbalancer/app, cwstream for every load balancer
// and keeps the ALBs by ARN (the documented service:type form, which moto
// serves too); a tag key that is not a classic label name after sanitising
// is left out (YACE with UTF-8 name validation would keep it, and a store
// with classic names would reject the series); info series are written
// only for resources the stream carries, not for every tagged resource.
package tags
