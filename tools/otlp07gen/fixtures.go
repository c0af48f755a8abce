package main

import (
	"slices"
	"time"

	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// fixture is one Firehose record: the requests it holds, one frame each.
type fixture struct {
	Name   string // file name without extension
	About  string // one line for the README
	Frames []*colpb.ExportMetricsServiceRequest
}

// minute is the end of the minute every fixture reports (2024-03-12T10:16:00Z); the
// second minute of multi.bin ends one minute later.
var minute = time.Date(2024, 3, 12, 10, 16, 0, 0, time.UTC)

var (
	prodUSE1 = account{ID: "123456789012", Region: "us-east-1", Stream: "cwstream-otel07"}
	prodEUW1 = account{ID: "123456789012", Region: "eu-west-1", Stream: "cwstream-otel07"}
)

// Value shapes shared by the fixtures.
var (
	pct       = gen{Lo: 0.5, Hi: 95, MinN: 1, MaxN: 1}
	pctMulti  = gen{Lo: 2, Hi: 88, MinN: 2, MaxN: 6}
	oneCount  = func(lo, hi float64) gen { return gen{Lo: lo, Hi: hi, MinN: 1, MaxN: 1, Int: true} }
	counts    = func(lo, hi float64) gen { return gen{Lo: lo, Hi: hi, MinN: 1, MaxN: 12, Int: true} }
	byteRate  = gen{Lo: 1e3, Hi: 5e6, MinN: 1, MaxN: 1}
	latencyS  = gen{Lo: 0.0004, Hi: 0.25, MinN: 40, MaxN: 900, Skew: 3}
	bytesHuge = func(lo, hi float64) gen { return gen{Lo: lo, Hi: hi, MinN: 1, MaxN: 1, Int: true} }
)

func fixtures() []fixture {
	return []fixture{single(), ecs(), ecs2(), rds(), alb(), alb2(), multi(), odd()}
}

// single is the smallest realistic record: one frame, one data point.
func single() fixture {
	r := newRNG(1)
	s := series{Namespace: "AWS/EC2", Metric: "CPUUtilization", Unit: "%",
		Dims: []dim{{"InstanceId", "i-0a8337036a706dfa5"}}, Gen: pct}
	return fixture{
		Name:   "single",
		About:  "AWS/EC2 CPUUtilization of one instance: one frame, one data point",
		Frames: []*colpb.ExportMetricsServiceRequest{request(resourceMetrics(prodUSE1, metric(s, drawPoint(r, s, minute))))},
	}
}

// ecsClusters are the clusters of ecs.bin and ecs-2.bin, with their services.
var ecsClusters = []struct {
	name     string
	services []string
}{
	{"prod-web", []string{"web-frontend", "orders-api", "payments-worker"}},
	{"batch-jobs", []string{"ingest", "transform", "report-export"}},
}

func ecs() fixture {
	r := newRNG(2)
	var ss []series
	for _, c := range ecsClusters {
		cl := dim{"ClusterName", c.name}
		ss = append(ss,
			series{Namespace: "AWS/ECS", Metric: "CPUUtilization", Unit: "%", Dims: []dim{cl}, Gen: pctMulti},
			series{Namespace: "AWS/ECS", Metric: "MemoryUtilization", Unit: "%", Dims: []dim{cl}, Gen: pctMulti},
			series{Namespace: "ECS/ContainerInsights", Metric: "ContainerInstanceCount", Unit: "{Count}", Dims: []dim{cl}, Gen: oneCount(2, 8)},
			series{Namespace: "ECS/ContainerInsights", Metric: "ServiceCount", Unit: "{Count}", Dims: []dim{cl}, Gen: oneCount(3, 3)},
			series{Namespace: "ECS/ContainerInsights", Metric: "TaskCount", Unit: "{Count}", Dims: []dim{cl}, Gen: oneCount(6, 24)},
		)
		for _, svc := range c.services {
			d := []dim{{"ServiceName", svc}, cl} // given unsorted: labels() sorts as CloudWatch does
			ss = append(ss,
				series{Namespace: "AWS/ECS", Metric: "CPUUtilization", Unit: "%", Dims: d, Gen: pctMulti},
				series{Namespace: "AWS/ECS", Metric: "MemoryUtilization", Unit: "%", Dims: d, Gen: pctMulti},
				series{Namespace: "ECS/ContainerInsights", Metric: "RunningTaskCount", Unit: "{Count}", Dims: d, Gen: oneCount(2, 6)},
				series{Namespace: "ECS/ContainerInsights", Metric: "DesiredTaskCount", Unit: "{Count}", Dims: d, Gen: oneCount(2, 6)},
				series{Namespace: "ECS/ContainerInsights", Metric: "PendingTaskCount", Unit: "{Count}", Dims: d, Gen: oneCount(0, 1)},
				series{Namespace: "ECS/ContainerInsights", Metric: "CpuUtilized", Unit: "1", Dims: d, Gen: gen{Lo: 12, Hi: 900, MinN: 1, MaxN: 1}},
				series{Namespace: "ECS/ContainerInsights", Metric: "CpuReserved", Unit: "1", Dims: d, Gen: oneCount(1024, 1024)},
				series{Namespace: "ECS/ContainerInsights", Metric: "MemoryUtilized", Unit: "MBy", Dims: d, Gen: oneCount(180, 1900)},
				series{Namespace: "ECS/ContainerInsights", Metric: "MemoryReserved", Unit: "MBy", Dims: d, Gen: oneCount(2048, 2048)},
				series{Namespace: "ECS/ContainerInsights", Metric: "NetworkRxBytes", Unit: "By/s", Dims: d, Gen: byteRate},
				series{Namespace: "ECS/ContainerInsights", Metric: "NetworkTxBytes", Unit: "By/s", Dims: d, Gen: byteRate},
				series{Namespace: "ECS/ContainerInsights", Metric: "StorageReadBytes", Unit: "By", Dims: d, Gen: bytesHuge(0, 4e7)},
				series{Namespace: "ECS/ContainerInsights", Metric: "StorageWriteBytes", Unit: "By", Dims: d, Gen: bytesHuge(0, 9e7)},
				series{Namespace: "ECS/ContainerInsights", Metric: "DeploymentCount", Unit: "{Count}", Dims: d, Gen: oneCount(1, 2)},
				series{Namespace: "ECS/ContainerInsights", Metric: "TaskSetCount", Unit: "{Count}", Dims: d, Gen: oneCount(1, 1)},
				series{Namespace: "ECS/ContainerInsights", Metric: "RestartCount", Unit: "{Count}", Dims: d, Gen: oneCount(0, 3)},
			)
		}
	}
	return fixture{Name: "ecs", About: "AWS/ECS + ECS/ContainerInsights, 2 clusters × 3 services, one minute, 4 frames", Frames: framesOf(prodUSE1, r, ss, 4)}
}

// ecs2 is a later record of the same stream and minute as ecs.bin (CloudWatch spreads a
// minute's metrics over many requests and records): Container Insights for each cluster
// as a whole, which the dashboards' cluster utilisation rules read, and for each task
// definition family (named after its service, as is common), which their filters must
// keep out of the per-service panels.
func ecs2() fixture {
	r := newRNG(9)
	var ss []series
	for _, c := range ecsClusters {
		cl := dim{"ClusterName", c.name}
		n := float64(len(c.services))
		ss = append(ss,
			series{Namespace: "ECS/ContainerInsights", Metric: "CpuUtilized", Unit: "1", Dims: []dim{cl}, Gen: gen{Lo: 40 * n, Hi: 900 * n, MinN: 1, MaxN: 1}},
			series{Namespace: "ECS/ContainerInsights", Metric: "CpuReserved", Unit: "1", Dims: []dim{cl}, Gen: oneCount(1024*n, 1024*n)},
			series{Namespace: "ECS/ContainerInsights", Metric: "MemoryUtilized", Unit: "MBy", Dims: []dim{cl}, Gen: oneCount(180*n, 1900*n)},
			series{Namespace: "ECS/ContainerInsights", Metric: "MemoryReserved", Unit: "MBy", Dims: []dim{cl}, Gen: oneCount(2048*n, 2048*n)},
		)
		for _, svc := range c.services {
			d := []dim{{"TaskDefinitionFamily", svc}, cl}
			ss = append(ss,
				series{Namespace: "ECS/ContainerInsights", Metric: "CpuUtilized", Unit: "1", Dims: d, Gen: gen{Lo: 12, Hi: 900, MinN: 1, MaxN: 1}},
				series{Namespace: "ECS/ContainerInsights", Metric: "CpuReserved", Unit: "1", Dims: d, Gen: oneCount(1024, 1024)},
				series{Namespace: "ECS/ContainerInsights", Metric: "MemoryUtilized", Unit: "MBy", Dims: d, Gen: oneCount(180, 1900)},
				series{Namespace: "ECS/ContainerInsights", Metric: "MemoryReserved", Unit: "MBy", Dims: d, Gen: oneCount(2048, 2048)},
			)
		}
	}
	return fixture{Name: "ecs-2", About: "a later record of ecs.bin's stream and minute: ECS/ContainerInsights by ClusterName and by ClusterName+TaskDefinitionFamily; 2 frames",
		Frames: framesOf(prodUSE1, r, ss, 2)}
}

// framesOf draws one point of each series for the minute and splits them into n frames of
// near-equal length, as CloudWatch spreads one minute's metrics over several requests.
func framesOf(a account, r *rng, ss []series, n int) []*colpb.ExportMetricsServiceRequest {
	var ms []*metricspb.Metric
	for _, s := range ss {
		ms = append(ms, metric(s, drawPoint(r, s, minute)))
	}
	var frames []*colpb.ExportMetricsServiceRequest
	for _, part := range chunk(ms, n) {
		frames = append(frames, request(resourceMetrics(a, part...)))
	}
	return frames
}

func rds() fixture {
	r := newRNG(3)
	lat := []float64{0.5, 0.9, 0.99, 0.999}
	var ss []series
	instances := []struct{ id, class, engine string }{
		{"orders-db-1", "db.r6g.large", "postgres"},
		{"orders-db-2", "db.r6g.large", "postgres"},
		{"analytics-mysql", "db.m6g.xlarge", "mysql"},
		{"orders-aurora-instance-1", "db.r6g.2xlarge", "aurora-postgresql"},
	}
	for _, in := range instances {
		d := []dim{{"DBInstanceIdentifier", in.id}}
		ss = append(ss,
			series{Namespace: "AWS/RDS", Metric: "CPUUtilization", Unit: "%", Dims: d, Gen: pct},
			series{Namespace: "AWS/RDS", Metric: "FreeableMemory", Unit: "By", Dims: d, Gen: bytesHuge(1.1e9, 1.2e10)},
			series{Namespace: "AWS/RDS", Metric: "DatabaseConnections", Unit: "{Count}", Dims: d, Gen: oneCount(3, 180)},
			series{Namespace: "AWS/RDS", Metric: "DBLoad", Unit: "1", Dims: d, Gen: gen{Lo: 0, Hi: 4, MinN: 1, MaxN: 1}},
			series{Namespace: "AWS/RDS", Metric: "DBLoadCPU", Unit: "1", Dims: d, Gen: gen{Lo: 0, Hi: 2, MinN: 1, MaxN: 1}},
			series{Namespace: "AWS/RDS", Metric: "DBLoadNonCPU", Unit: "1", Dims: d, Gen: gen{Lo: 0, Hi: 2, MinN: 1, MaxN: 1}},
			series{Namespace: "AWS/RDS", Metric: "ReadLatency", Unit: "s", Dims: d, Percentiles: lat, Gen: gen{Lo: 0.0002, Hi: 0.02, MinN: 30, MaxN: 400, Skew: 3}},
			series{Namespace: "AWS/RDS", Metric: "WriteLatency", Unit: "s", Dims: d, Percentiles: lat, Gen: gen{Lo: 0.0005, Hi: 0.05, MinN: 30, MaxN: 400, Skew: 3}},
			series{Namespace: "AWS/RDS", Metric: "ReadIOPS", Unit: "{Count}/s", Dims: d, Gen: gen{Lo: 0, Hi: 1500, MinN: 1, MaxN: 1}},
			series{Namespace: "AWS/RDS", Metric: "WriteIOPS", Unit: "{Count}/s", Dims: d, Gen: gen{Lo: 1, Hi: 900, MinN: 1, MaxN: 1}},
			series{Namespace: "AWS/RDS", Metric: "ReadThroughput", Unit: "By/s", Dims: d, Gen: byteRate},
			series{Namespace: "AWS/RDS", Metric: "WriteThroughput", Unit: "By/s", Dims: d, Gen: byteRate},
			series{Namespace: "AWS/RDS", Metric: "DiskQueueDepth", Unit: "{Count}", Dims: d, Gen: gen{Lo: 0, Hi: 3, MinN: 1, MaxN: 1}},
		)
		if in.engine != "aurora-postgresql" {
			ss = append(ss, series{Namespace: "AWS/RDS", Metric: "FreeStorageSpace", Unit: "By", Dims: d, Gen: bytesHuge(2e10, 4.5e11)})
		}
		if in.id == "orders-db-2" {
			ss = append(ss, series{Namespace: "AWS/RDS", Metric: "ReplicaLag", Unit: "s", Dims: d, Gen: gen{Lo: 0, Hi: 4, MinN: 1, MaxN: 1, Int: true}})
		}
	}
	for _, role := range []string{"WRITER", "READER"} {
		d := []dim{{"DBClusterIdentifier", "orders-aurora"}, {"Role", role}}
		ss = append(ss,
			series{Namespace: "AWS/RDS", Metric: "CPUUtilization", Unit: "%", Dims: d, Gen: pct},
			series{Namespace: "AWS/RDS", Metric: "DatabaseConnections", Unit: "{Count}", Dims: d, Gen: oneCount(10, 300)},
			series{Namespace: "AWS/RDS", Metric: "ReadLatency", Unit: "s", Dims: d, Percentiles: lat, Gen: gen{Lo: 0.0002, Hi: 0.02, MinN: 30, MaxN: 400, Skew: 3}},
		)
	}
	for _, d := range [][]dim{{{"DBClusterIdentifier", "orders-aurora"}}, {{"EngineName", "aurora-postgresql"}}, {{"EngineName", "postgres"}}, {{"DatabaseClass", "db.r6g.large"}}} {
		ss = append(ss,
			series{Namespace: "AWS/RDS", Metric: "CPUUtilization", Unit: "%", Dims: d, Gen: pctMulti},
			series{Namespace: "AWS/RDS", Metric: "FreeableMemory", Unit: "By", Dims: d, Gen: gen{Lo: 1.1e9, Hi: 1.2e10, MinN: 2, MaxN: 4, Int: true}},
			series{Namespace: "AWS/RDS", Metric: "WriteLatency", Unit: "s", Dims: d, Percentiles: lat, Gen: gen{Lo: 0.0005, Hi: 0.05, MinN: 60, MaxN: 800, Skew: 3}},
		)
	}
	ss = append(ss, series{Namespace: "AWS/RDS", Metric: "AuroraReplicaLag", Unit: "ms", Dims: []dim{{"DBInstanceIdentifier", "orders-aurora-instance-1"}}, Gen: gen{Lo: 5, Hi: 40, MinN: 1, MaxN: 1}})
	frames := framesOf(prodEUW1, r, ss, 3)
	return fixture{Name: "rds", About: "AWS/RDS by DBInstanceIdentifier, DBClusterIdentifier(+Role), EngineName, DatabaseClass; latencies with p50/p90/p99/p99.9; 3 frames", Frames: frames}
}

// loadBalancers are the load balancers of alb.bin and alb-2.bin, with their target groups.
var loadBalancers = []struct {
	lb  string
	tgs []string
}{
	{"app/web/50dc6c495c0c9188", []string{"targetgroup/web-tg/73e2d6bc24d8a067", "targetgroup/web-canary-tg/0f1e2d3c4b5a6978"}},
	{"app/internal-api/9c1b7a3e5d2f4b60", []string{"targetgroup/api-tg/1a2b3c4d5e6f7a8b"}},
}

// p3 are the percentiles the ALB fixtures' stream adds to TargetResponseTime.
var p3 = []float64{0.5, 0.9, 0.99}

func alb() fixture {
	r := newRNG(4)
	var ss []series
	for _, l := range loadBalancers {
		d := []dim{{"LoadBalancer", l.lb}}
		ss = append(ss,
			series{Namespace: "AWS/ApplicationELB", Metric: "RequestCount", Unit: "{Count}", Dims: d, Gen: counts(20, 900)},
			series{Namespace: "AWS/ApplicationELB", Metric: "TargetResponseTime", Unit: "s", Dims: d, Percentiles: p3, Gen: latencyS},
			series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_ELB_4XX_Count", Unit: "{Count}", Dims: d, Gen: counts(1, 12)},
			series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_ELB_5XX_Count", Unit: "{Count}", Dims: d, Gen: oneCount(1, 3)},
			series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_2XX_Count", Unit: "{Count}", Dims: d, Gen: counts(20, 850)},
			series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_3XX_Count", Unit: "{Count}", Dims: d, Gen: counts(1, 30)},
			series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_4XX_Count", Unit: "{Count}", Dims: d, Gen: counts(1, 40)},
			series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_5XX_Count", Unit: "{Count}", Dims: d, Gen: oneCount(1, 4)},
			series{Namespace: "AWS/ApplicationELB", Metric: "RejectedConnectionCount", Unit: "{Count}", Dims: d, Gen: oneCount(1, 2)},
			series{Namespace: "AWS/ApplicationELB", Metric: "ConsumedLCUs", Unit: "{Count}", Dims: d, Gen: gen{Lo: 0.01, Hi: 3, MinN: 1, MaxN: 1}},
			series{Namespace: "AWS/ApplicationELB", Metric: "ActiveConnectionCount", Unit: "{Count}", Dims: d, Gen: counts(5, 400)},
			series{Namespace: "AWS/ApplicationELB", Metric: "NewConnectionCount", Unit: "{Count}", Dims: d, Gen: counts(1, 120)},
			series{Namespace: "AWS/ApplicationELB", Metric: "ProcessedBytes", Unit: "By", Dims: d, Gen: gen{Lo: 1e4, Hi: 5e7, MinN: 1, MaxN: 12, Int: true}},
		)
		for _, tg := range l.tgs {
			d := []dim{{"TargetGroup", tg}, {"LoadBalancer", l.lb}}
			ss = append(ss,
				series{Namespace: "AWS/ApplicationELB", Metric: "RequestCount", Unit: "{Count}", Dims: d, Gen: counts(10, 500)},
				series{Namespace: "AWS/ApplicationELB", Metric: "TargetResponseTime", Unit: "s", Dims: d, Percentiles: p3, Gen: latencyS},
				series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_2XX_Count", Unit: "{Count}", Dims: d, Gen: counts(10, 480)},
				series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_4XX_Count", Unit: "{Count}", Dims: d, Gen: counts(1, 20)},
				series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_5XX_Count", Unit: "{Count}", Dims: d, Gen: oneCount(1, 3)},
				series{Namespace: "AWS/ApplicationELB", Metric: "HealthyHostCount", Unit: "{Count}", Dims: d, Gen: gen{Lo: 2, Hi: 4, MinN: 6, MaxN: 6, Int: true}},
				series{Namespace: "AWS/ApplicationELB", Metric: "UnHealthyHostCount", Unit: "{Count}", Dims: d, Gen: gen{Lo: 0, Hi: 1, MinN: 6, MaxN: 6, Int: true}},
				series{Namespace: "AWS/ApplicationELB", Metric: "TargetConnectionErrorCount", Unit: "{Count}", Dims: d, Gen: oneCount(1, 2)},
			)
		}
	}
	frames := framesOf(prodUSE1, r, ss, 2)
	return fixture{Name: "alb", About: "AWS/ApplicationELB by LoadBalancer and by TargetGroup+LoadBalancer; TargetResponseTime with p50/p90/p99; 2 frames", Frames: frames}
}

// alb2 is a later record of the same stream and minute as alb.bin (CloudWatch spreads a
// minute's metrics over many requests and records): the load balancers per Availability
// Zone, which the dashboards' filters must keep out of per-load-balancer panels, and the
// load balancers' TargetConnectionErrorCount, which a dashboard panel reads.
func alb2() fixture {
	r := newRNG(8)
	var ss []series
	for _, l := range loadBalancers {
		lb := dim{"LoadBalancer", l.lb}
		ss = append(ss, series{Namespace: "AWS/ApplicationELB", Metric: "TargetConnectionErrorCount", Unit: "{Count}", Dims: []dim{lb}, Gen: oneCount(1, 3)})
		for _, az := range []string{"us-east-1a", "us-east-1b"} {
			d := []dim{lb, {"AvailabilityZone", az}}
			ss = append(ss,
				series{Namespace: "AWS/ApplicationELB", Metric: "RequestCount", Unit: "{Count}", Dims: d, Gen: counts(10, 450)},
				series{Namespace: "AWS/ApplicationELB", Metric: "TargetResponseTime", Unit: "s", Dims: d, Percentiles: p3, Gen: latencyS},
				series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_2XX_Count", Unit: "{Count}", Dims: d, Gen: counts(10, 420)},
				series{Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_5XX_Count", Unit: "{Count}", Dims: d, Gen: oneCount(1, 2)},
			)
			for _, tg := range l.tgs {
				d := []dim{{"TargetGroup", tg}, lb, {"AvailabilityZone", az}}
				ss = append(ss,
					series{Namespace: "AWS/ApplicationELB", Metric: "HealthyHostCount", Unit: "{Count}", Dims: d, Gen: gen{Lo: 1, Hi: 2, MinN: 6, MaxN: 6, Int: true}},
					series{Namespace: "AWS/ApplicationELB", Metric: "UnHealthyHostCount", Unit: "{Count}", Dims: d, Gen: gen{Lo: 0, Hi: 1, MinN: 6, MaxN: 6, Int: true}},
				)
			}
		}
	}
	return fixture{Name: "alb-2", About: "a later record of alb.bin's stream and minute: AWS/ApplicationELB by AvailabilityZone+LoadBalancer(+TargetGroup), and TargetConnectionErrorCount by LoadBalancer; 1 frame",
		Frames: framesOf(prodUSE1, r, ss, 1)}
}

// multi is a monitoring account's stream with linked accounts (cross-account observability):
// cloud.account.id is the source account, aws.exporter.arn the monitoring account's stream.
// Every series has two minutes: half of them as two data points of one Metric (newest
// first, as seen in real deliveries), half as two Metrics in different frames.
func multi() fixture {
	r := newRNG(5)
	var accts []account
	for _, id := range []string{"111122223333", "444455556666", "777788889999"} {
		for _, region := range []string{"us-east-1", "eu-central-1"} {
			accts = append(accts, account{ID: id, Region: region, Stream: "org-metrics", Owner: "111122223333"})
		}
	}
	seriesFor := func(a account, i int) []series {
		var ss []series
		for k := range 3 {
			inst := dim{"InstanceId", "i-0" + r.hex(16)}
			ss = append(ss,
				series{Namespace: "AWS/EC2", Metric: "CPUUtilization", Unit: "%", Dims: []dim{inst}, Gen: pct},
				series{Namespace: "AWS/EC2", Metric: "NetworkIn", Unit: "By", Dims: []dim{inst}, Gen: bytesHuge(1e4, 8e8)},
				series{Namespace: "AWS/EC2", Metric: "NetworkOut", Unit: "By", Dims: []dim{inst}, Gen: bytesHuge(1e4, 8e8)},
				series{Namespace: "AWS/EC2", Metric: "StatusCheckFailed", Unit: "{Count}", Dims: []dim{inst}, Gen: oneCount(0, 0)},
			)
			vol := dim{"VolumeId", "vol-0" + r.hex(16)}
			ss = append(ss,
				series{Namespace: "AWS/EBS", Metric: "VolumeReadOps", Unit: "{Count}", Dims: []dim{vol}, Gen: bytesHuge(0, 9000)},
				series{Namespace: "AWS/EBS", Metric: "VolumeWriteBytes", Unit: "By", Dims: []dim{vol}, Gen: gen{Lo: 4096, Hi: 262144, MinN: 1, MaxN: 60, Int: true}},
				series{Namespace: "AWS/EBS", Metric: "VolumeQueueLength", Unit: "{Count}", Dims: []dim{vol}, Gen: gen{Lo: 0, Hi: 0.02, MinN: 1, MaxN: 1}},
			)
			fn := dim{"FunctionName", []string{"checkout-handler", "image-resizer", "nightly-report"}[k]}
			ss = append(ss,
				series{Namespace: "AWS/Lambda", Metric: "Invocations", Unit: "{Count}", Dims: []dim{fn}, Gen: counts(1, 60)},
				series{Namespace: "AWS/Lambda", Metric: "Errors", Unit: "{Count}", Dims: []dim{fn}, Gen: counts(0, 2)},
				series{Namespace: "AWS/Lambda", Metric: "Duration", Unit: "ms", Dims: []dim{fn}, Percentiles: []float64{0.5, 0.99}, Gen: gen{Lo: 3, Hi: 2500, MinN: 5, MaxN: 200, Skew: 2.5}},
				series{Namespace: "AWS/Lambda", Metric: "ConcurrentExecutions", Unit: "{Count}", Dims: []dim{fn, {"Resource", fn.Value}}, Gen: counts(0, 12)},
			)
		}
		q := dim{"QueueName", []string{"orders", "orders-dlq"}[i%2]}
		ss = append(ss,
			series{Namespace: "AWS/SQS", Metric: "ApproximateNumberOfMessagesVisible", Unit: "{Count}", Dims: []dim{q}, Gen: oneCount(0, 5000)},
			series{Namespace: "AWS/SQS", Metric: "ApproximateAgeOfOldestMessage", Unit: "s", Dims: []dim{q}, Gen: oneCount(0, 3600)},
			series{Namespace: "AWS/SQS", Metric: "NumberOfMessagesSent", Unit: "{Count}", Dims: []dim{q}, Gen: counts(0, 300)},
			series{Namespace: "AWS/DynamoDB", Metric: "ConsumedReadCapacityUnits", Unit: "{Count}", Dims: []dim{{"TableName", "sessions"}}, Gen: counts(1, 400)},
			series{Namespace: "AWS/DynamoDB", Metric: "SuccessfulRequestLatency", Unit: "ms", Dims: []dim{{"TableName", "sessions"}, {"Operation", "GetItem"}}, Percentiles: []float64{0.5, 0.9, 0.99}, Gen: gen{Lo: 1.2, Hi: 40, MinN: 50, MaxN: 700, Skew: 3}},
			series{Namespace: "AWS/Usage", Metric: "CallCount", Unit: "1", Dims: []dim{{"Type", "API"}, {"Service", "EC2"}, {"Resource", "DescribeInstances"}, {"Class", "None"}}, Gen: counts(1, 8)},
		)
		return ss
	}
	// For every account: metrics of minute 1 (end = minute) and minute 2 (end = minute+1m).
	type perAcct struct {
		a      account
		joined []*metricspb.Metric // both minutes in one Metric
		m1, m2 []*metricspb.Metric // one minute each
	}
	var all []perAcct
	for i, a := range accts {
		p := perAcct{a: a}
		for j, s := range seriesFor(a, i) {
			p1 := drawPoint(r, s, minute)
			p2 := drawPoint(r, s, minute.Add(time.Minute))
			if j%2 == 0 {
				p.joined = append(p.joined, metric(s, p2, p1))
			} else {
				p.m1 = append(p.m1, metric(s, p1))
				p.m2 = append(p.m2, metric(s, p2))
			}
		}
		all = append(all, p)
	}
	// 12 frames: frames 0–5 carry minute 1 and the joined metrics, frames 6–11 minute 2.
	// Each frame holds parts of 3 accounts' data as separate ResourceMetrics.
	var frames []*colpb.ExportMetricsServiceRequest
	for f := range 12 {
		var rms []*metricspb.ResourceMetrics
		for k := range 3 {
			p := all[(f+k)%len(all)]
			part := k // each (account, region) is split in 3 parts over 3 frames
			var ms []*metricspb.Metric
			if f < 6 {
				// Concat, not append: appending to a sub-slice would overwrite the next part.
				ms = slices.Concat(chunk(p.joined, 3)[part], chunk(p.m1, 3)[part])
			} else {
				ms = chunk(p.m2, 3)[part]
			}
			rms = append(rms, resourceMetrics(p.a, ms...))
		}
		frames = append(frames, request(rms...))
	}
	return fixture{Name: "multi", About: "3 accounts × 2 regions (cross-account stream), 12 frames of 3 ResourceMetrics each, two consecutive minutes per series", Frames: frames}
}

// odd holds the edge cases a decoder must carry through unchanged.
func odd() fixture {
	r := newRNG(6)
	a := account{ID: "210987654321", Region: "ap-southeast-2", Stream: "edge-cases"}
	glueDims := []dim{{"JobName", "nightly-etl"}, {"JobRunId", "ALL"}, {"Type", "count"}}
	ss := []struct {
		s  series
		st *stats // fixed statistics instead of drawn ones
	}{
		{s: series{Namespace: "MyApp/Backend", Metric: "QueueDepth", Unit: "{Count}", Gen: oneCount(3, 40)}}, // no dimensions
		{s: series{Namespace: "MyApp/Backend", Metric: "CacheEvictions", Unit: "{Count}", Dims: []dim{{"Cache", "sessions"}}},
			st: &stats{Count: 0, Sum: 0, Min: 0, Max: 0}},
		{s: series{Namespace: "MyApp/Backend", Metric: "Requests", Unit: "{Count}", Dims: []dim{
			{"Path", "/api/v1/orders?id=42&x=a=b"},
			{"Customer", "café-ü 東京"},
			{"Tags", `team=core, env="prod"`},
			{"WinPath", `C:\logs\app.log`},
			{"Some-Dim.Name", "has space, comma"},
		}, Gen: counts(1, 90)}},
		{s: series{Namespace: "/Leading/Slash", Metric: "Widgets", Unit: "1", Dims: []dim{{"Env", "prod"}}, Gen: counts(1, 9)}},
		{s: series{Namespace: "AWS/Glue", Metric: "glue.driver.aggregate.bytesRead", Unit: "By", Dims: glueDims, Gen: bytesHuge(1e6, 8e9)}},
		{s: series{Namespace: "AWS/Glue", Metric: "glue.ALL.jvm.heap.usage", Unit: "%", Dims: []dim{{"JobName", "nightly-etl"}, {"JobRunId", "ALL"}, {"Type", "gauge"}}, Gen: gen{Lo: 0.05, Hi: 0.9, MinN: 1, MaxN: 1}}},
		{s: series{Namespace: "MyApp/Backend", Metric: "Disk%Used", Unit: "%", Dims: []dim{{"Mount", "/var/lib/data"}}, Gen: pct}},
		{s: series{Namespace: "MyApp/Backend", Metric: "RenderTime", Unit: "ms", Dims: []dim{{"Page", "home"}},
			Percentiles: []float64{0.55, 0.999}, Gen: gen{Lo: 8, Hi: 900, MinN: 200, MaxN: 200, Skew: 3}}},
		{s: series{Namespace: "MyApp/Backend", Metric: "LedgerBalance", Unit: "1", Dims: []dim{{"Ledger", "escrow"}}},
			st: &stats{Count: 3, Sum: 3.6e30, Min: 1.1e30, Max: 1.3e30}},
		{s: series{Namespace: "MyApp/Backend", Metric: "TemperatureDelta", Unit: "1", Dims: []dim{{"Sensor", "freezer-2"}}},
			st: &stats{Count: 4, Sum: -1093.8, Min: -275.5, Max: -270.1}},
		{s: series{Namespace: "AWS/RDS", Metric: "TransactionLogsDiskUsage", Unit: "By", Dims: []dim{{"DBInstanceIdentifier", "orders-aurora-instance-1"}}},
			st: &stats{Count: 1, Sum: -1, Min: -1, Max: -1}}, // real deliveries carry -1 here
		// Dimensions in a non-sorted order: the decoder must keep the label order it reads.
		{s: series{Namespace: "MyApp/Backend", Metric: "Latency", Unit: "s", KeepDimOrder: true,
			Dims: []dim{{"Stage", "prod"}, {"Api", "checkout"}}, Gen: gen{Lo: 0.01, Hi: 0.3, MinN: 10, MaxN: 10, Skew: 2}}},
	}
	var ms []*metricspb.Metric
	for _, c := range ss {
		var p *metricspb.DoubleSummaryDataPoint
		if c.st != nil {
			st := *c.st
			st.P = make([]float64, len(c.s.Percentiles))
			p = point(c.s, minute, st)
		} else {
			p = drawPoint(r, c.s, minute)
		}
		ms = append(ms, metric(c.s, p))
	}
	frames := []*colpb.ExportMetricsServiceRequest{
		request(resourceMetrics(a, ms[:6]...)),
		request(resourceMetrics(a, ms[6:]...)),
	}
	return fixture{Name: "odd", About: "edge cases: no dimensions, count 0, unicode/`/`/`=`/space/comma/quote/backslash values, `Some-Dim.Name`, custom and /Leading/Slash namespaces, AWS/Glue dotted names, `Disk%Used`, quantiles 0.55/0.999, ±huge/negative values, unsorted dimensions", Frames: frames}
}
