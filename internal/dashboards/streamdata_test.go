package dashboards

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/sample"
)

// INTERIM: until `cwstream dryrun testdata/payloads/*.bin` exists, the test
// data is generated from this table, named through package naming exactly as
// the stream names it. The table is also the list of what the fixture
// payloads must contain (TestFixtureMetricList prints it); once they do,
// streamSamples reads the dry run's output instead and this table stays as
// that checklist.

type dims map[string]string

// streamMetric is one CloudWatch metric in the dimension sets and
// statistics the dashboards and rules read.
type streamMetric struct {
	namespace, metric string
	dimSets           []dims
	stats             []string
	base, amplitude   float64 // generated values: base ± amplitude
}

const (
	testAccount = "123456789012"
	testRegion  = "eu-west-1"
	testLB      = "app/web/50dc6c495c0c9188"
	testTG      = "targetgroup/web/73e2d6bc24d8a067"
	testCluster = "prod"
)

var (
	lbOnly   = dims{"LoadBalancer": testLB}
	lbTG     = dims{"LoadBalancer": testLB, "TargetGroup": testTG}
	lbAZ     = dims{"LoadBalancer": testLB, "AvailabilityZone": "eu-west-1a"}
	lbTGAZ   = dims{"LoadBalancer": testLB, "TargetGroup": testTG, "AvailabilityZone": "eu-west-1a"}
	primary  = dims{"DBInstanceIdentifier": "db-primary"}
	replica  = dims{"DBInstanceIdentifier": "db-replica"}
	dbClass  = dims{"DatabaseClass": "db.r6g.large"}
	cluster  = dims{"ClusterName": testCluster}
	svcWeb   = dims{"ClusterName": testCluster, "ServiceName": "web"}
	svcWork  = dims{"ClusterName": testCluster, "ServiceName": "worker"}
	taskFam  = dims{"ClusterName": testCluster, "TaskDefinitionFamily": "web"}
	services = []dims{svcWeb, svcWork}
)

func streamMetrics() []streamMetric {
	const (
		alb = "AWS/ApplicationELB"
		rds = "AWS/RDS"
		ecs = "AWS/ECS"
		ci  = "ECS/ContainerInsights"
	)
	sum, avg, mn, mx := []string{"sum"}, []string{"average"}, []string{"minimum"}, []string{"maximum"}
	avgMax := []string{"average", "maximum"}
	bothDBs := []dims{primary, replica}
	return []streamMetric{
		{alb, "RequestCount", []dims{lbOnly, lbTG, lbAZ}, sum, 6000, 1200},
		{alb, "TargetResponseTime", []dims{lbOnly, lbTG}, []string{"average", "p50", "p90", "p99"}, 0.12, 0.05},
		{alb, "HTTPCode_Target_2XX_Count", []dims{lbOnly, lbTG}, sum, 5600, 1000},
		{alb, "HTTPCode_Target_4XX_Count", []dims{lbOnly, lbTG}, sum, 300, 50},
		{alb, "HTTPCode_Target_5XX_Count", []dims{lbOnly, lbTG}, sum, 20, 10},
		{alb, "HTTPCode_ELB_4XX_Count", []dims{lbOnly}, sum, 8, 3},
		{alb, "HTTPCode_ELB_5XX_Count", []dims{lbOnly}, sum, 2, 1},
		{alb, "HealthyHostCount", []dims{lbTG, lbTGAZ}, []string{"minimum", "maximum"}, 3, 0},
		{alb, "UnHealthyHostCount", []dims{lbTG, lbTGAZ}, []string{"minimum", "maximum"}, 0, 0},
		{alb, "TargetConnectionErrorCount", []dims{lbOnly}, sum, 1, 1},
		{alb, "RejectedConnectionCount", []dims{lbOnly}, sum, 0, 0},
		{alb, "NewConnectionCount", []dims{lbOnly}, sum, 900, 200},
		{alb, "ConsumedLCUs", []dims{lbOnly}, sum, 0.8, 0.2},

		{rds, "CPUUtilization", []dims{primary, replica, dbClass}, avgMax, 35, 15},
		{rds, "FreeableMemory", bothDBs, mn, 2 << 30, 256 << 20},
		{rds, "DatabaseConnections", bothDBs, avgMax, 120, 30},
		{rds, "DBLoadCPU", bothDBs, avg, 0.8, 0.3},
		{rds, "DBLoadNonCPU", bothDBs, avg, 0.3, 0.1},
		{rds, "ReadLatency", bothDBs, []string{"average", "p99"}, 0.002, 0.001},
		{rds, "WriteLatency", bothDBs, []string{"average", "p99"}, 0.004, 0.002},
		{rds, "ReadIOPS", bothDBs, avg, 450, 100},
		{rds, "WriteIOPS", bothDBs, avg, 300, 80},
		{rds, "ReadThroughput", bothDBs, avg, 8 << 20, 2 << 20},
		{rds, "WriteThroughput", bothDBs, avg, 4 << 20, 1 << 20},
		{rds, "DiskQueueDepth", bothDBs, avg, 1.5, 0.5},
		{rds, "FreeStorageSpace", bothDBs, mn, 80 << 30, 1 << 30},
		{rds, "ReplicaLag", []dims{replica}, mx, 2, 1},

		{ecs, "CPUUtilization", append([]dims{cluster}, services...), avgMax, 40, 20},
		{ecs, "MemoryUtilization", append([]dims{cluster}, services...), avgMax, 55, 10},

		{ci, "CpuUtilized", []dims{cluster, svcWeb, svcWork, taskFam}, avg, 800, 200},
		{ci, "CpuReserved", []dims{cluster, svcWeb, svcWork, taskFam}, avg, 2048, 0},
		{ci, "MemoryUtilized", []dims{cluster, svcWeb, svcWork, taskFam}, avg, 1500, 300},
		{ci, "MemoryReserved", []dims{cluster, svcWeb, svcWork, taskFam}, avg, 4096, 0},
		{ci, "RunningTaskCount", services, avg, 4, 0},
		{ci, "DesiredTaskCount", services, avg, 4, 0},
		{ci, "PendingTaskCount", services, avg, 0, 0},
		{ci, "DeploymentCount", services, avg, 1, 0},
		{ci, "NetworkRxBytes", services, avg, 250_000, 50_000},
		{ci, "NetworkTxBytes", services, avg, 400_000, 80_000},
		{ci, "StorageReadBytes", services, sum, 1 << 20, 1 << 18},
		{ci, "StorageWriteBytes", services, sum, 2 << 20, 1 << 19},
		{ci, "RestartCount", services, sum, 0, 0},
	}
}

// streamSamples returns the samples the queries are proven against.
func streamSamples(t *testing.T) []sample.Sample {
	t.Helper()
	return interimSamples(streamMetrics(), 30)
}

// interimSamples generates minutes samples per series, one a minute, ending
// at a fixed time (loadSamples moves them to now), with the labels the
// stream adds: dimension_*, account_id, region and the external label env.
func interimSamples(metrics []streamMetric, minutes int) []sample.Sample {
	const end = int64(1_767_225_600_000) // 2026-01-01T00:00:00Z, a period end
	var out []sample.Sample
	for mi, m := range metrics {
		for di, d := range m.dimSets {
			labels := []sample.Label{{Name: "account_id", Value: testAccount}, {Name: "env", Value: "test"}, {Name: "region", Value: testRegion}}
			for name, value := range d {
				labels = append(labels, sample.Label{Name: naming.LabelName(name), Value: value})
			}
			slices.SortFunc(labels, func(a, b sample.Label) int { return strings.Compare(a.Name, b.Name) })
			for si, stat := range m.stats {
				name := naming.Name(m.namespace, m.metric, stat)
				for i := range minutes {
					phase := float64(i)/5 + float64(mi+di+si)
					out = append(out, sample.Sample{
						Name:   name,
						Labels: labels,
						T:      end - int64(minutes-1-i)*60_000,
						V:      m.base + m.amplitude*math.Sin(phase),
					})
				}
			}
		}
	}
	return out
}

// TestFixtureMetricList prints what the fixture payloads must contain (run
// with -v) and checks the table names series the way the stream does.
func TestFixtureMetricList(t *testing.T) {
	for _, m := range streamMetrics() {
		var sets []string
		for _, d := range m.dimSets {
			var names []string
			for n := range d {
				names = append(names, n)
			}
			slices.Sort(names)
			sets = append(sets, "["+strings.Join(names, ",")+"]")
		}
		t.Logf("%-21s %-27s %-55s %s", m.namespace, m.metric, strings.Join(sets, " "), strings.Join(m.stats, ","))
		for _, s := range m.stats {
			if name := naming.Name(m.namespace, m.metric, s); !naming.ValidMetricName(name) {
				t.Errorf("%s %s %s: invalid name %q", m.namespace, m.metric, s, name)
			}
		}
	}
}
