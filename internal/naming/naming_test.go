package naming

import (
	"testing"

	"github.com/prometheus/common/model"
	"unsafe"
)

func TestPromString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CPUUtilization", "cpuutilization"},
		{"TargetResponseTime", "target_response_time"},
		{"HTTPCode_Target_5XX_Count", "httpcode_target_5_xx_count"},
		{"HTTPCode_ELB_4XX_Count", "httpcode_elb_4_xx_count"},
		{"ReadIOPS", "read_iops"},
		{"UnHealthyHostCount", "un_healthy_host_count"},
		{"DatabaseConnections", "database_connections"},
		{"glue.driver.aggregate.bytesRead", "glue_driver_aggregate_bytes_read"},
		{"Disk%Used", "disk_percentused"},
		{"a b,c\td/e\\f.g-h:i=j@k<l>m(n)o", "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o"},
		{"p99.9", "p99_9"},
		{"Café", "caf_"},
		{"", ""},
		{"already_snake", "already_snake"},
		{"Metric2Name", "metric2_name"},
	}
	for _, tt := range tests {
		if got := PromString(tt.in); got != tt.want {
			t.Errorf("PromString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name              string
		namespace, metric string
		stat              Statistic
		want              string
	}{
		{"rds", "AWS/RDS", "CPUUtilization", Average, "aws_rds_cpuutilization_average"},
		{"rds iops", "AWS/RDS", "ReadIOPS", Sum, "aws_rds_read_iops_sum"},
		{"container insights", "ECS/ContainerInsights", "RunningTaskCount", Maximum, "aws_ecs_containerinsights_running_task_count_maximum"},
		{"custom namespace", "MyApp/Backend", "QueueDepth", Minimum, "aws_myapp_backend_queue_depth_minimum"},
		{"glue prefix dropped", "AWS/Glue", "glue.driver.aggregate.bytesRead", Sum, "aws_glue_driver_aggregate_bytes_read_sum"},
		{"alb 5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", Sum, "aws_applicationelb_httpcode_target_5_xx_count_sum"},
		{"alb latency", "AWS/ApplicationELB", "TargetResponseTime", SampleCount, "aws_applicationelb_target_response_time_sample_count"},
		{"leading slash", "/aws/sagemaker/Endpoints", "CPUUtilization", Average, "aws_sagemaker_endpoints_cpuutilization_average"},
		{"no prefix for any namespace starting with aws, as YACE", "AWSome/App", "Hits", Sum, "awsome_app_hits_sum"},
		{"percent metric", "MyApp/Backend", "Disk%Used", Maximum, "aws_myapp_backend_disk_percentused_maximum"},
		{"ecs", "AWS/ECS", "MemoryUtilization", Average, "aws_ecs_memory_utilization_average"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.namespace, tt.metric, tt.stat.String()); got != tt.want {
				t.Errorf("Name(%q, %q, %q) = %q, want %q", tt.namespace, tt.metric, tt.stat, got, tt.want)
			}
			if got := NewCache().Metric(tt.namespace, tt.metric).Stat[tt.stat]; got != tt.want {
				t.Errorf("cached name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		q    float64
		want string
	}{
		{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}, {0.999, "p99_9"}, {0.55, "p55"},
		{0.7, "p70"}, {0.8, "p80"}, {0.95, "p95"}, {0.9999, "p99_99"}, {0.12345, "p12_35"}, {0.001, "p0_1"},
	}
	for _, tt := range tests {
		if got := Percentile(tt.q); got != tt.want {
			t.Errorf("Percentile(%v) = %q, want %q", tt.q, got, tt.want)
		}
	}
	n := NewCache().Metric("AWS/ApplicationELB", "TargetResponseTime")
	if got, want := n.Percentile(0.99), "aws_applicationelb_target_response_time_p99"; got != want {
		t.Errorf("Names.Percentile(0.99) = %q, want %q", got, want)
	}
	if n.Percentile(0.99) != n.Percentile(0.99) || len(n.pcts) != 1 {
		t.Errorf("percentile name not cached: %v", n.pcts)
	}
}

func TestLabelName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"DBInstanceIdentifier", "dimension_DBInstanceIdentifier"},
		{"Some-Dim.Name", "dimension_Some_Dim_Name"},
		{"LoadBalancer", "dimension_LoadBalancer"},
		{"a b/c=d", "dimension_a_b_c_d"},
		{"Free%", "dimension_Free_percent"},
		{"Zoné", "dimension_Zon_"},
	}
	c := NewCache()
	for _, tt := range tests {
		if got := LabelName(tt.in); got != tt.want {
			t.Errorf("LabelName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := c.Label(tt.in); got != tt.want || !model.LegacyValidation.IsValidLabelName(got) {
			t.Errorf("Cache.Label(%q) = %q, want %q (valid)", tt.in, got, tt.want)
		}
	}
}

// The cache must not keep keys that alias a buffer the caller reuses.
func TestCacheCopiesKeys(t *testing.T) {
	c := NewCache()
	buf := []byte("AWS/RDSCPUUtilizationDBInstanceIdentifier")
	alias := func(b []byte) string { return unsafe.String(&b[0], len(b)) } // as the decoder hands them out
	ns, metric, dim := alias(buf[:7]), alias(buf[7:21]), alias(buf[21:])
	c.Metric(ns, metric)
	c.Label(dim)
	for i := range buf {
		buf[i] = 'x'
	}
	if _, ok := c.metrics["AWS/RDS"]["CPUUtilization"]; !ok {
		t.Fatal("metric key lost")
	}
	if _, ok := c.labels["DBInstanceIdentifier"]; !ok {
		t.Fatal("label key lost")
	}
}

func BenchmarkCacheMetric(b *testing.B) {
	c := NewCache()
	b.ReportAllocs()
	for b.Loop() {
		n := c.Metric("AWS/ApplicationELB", "TargetResponseTime")
		_ = n.Percentile(0.99)
		_ = c.Label("LoadBalancer")
	}
}

// Hostile input cannot grow the cache without bound, and names stay right
// past the bound.
func TestCacheBounded(t *testing.T) {
	c := NewCache()
	c.size = maxEntries // as if full
	n := c.Metric("AWS/RDS", "CPUUtilization")
	if n.Stat[Average] != "aws_rds_cpuutilization_average" || len(c.metrics) != 0 {
		t.Fatalf("names %v, %d namespaces cached", n.Stat, len(c.metrics))
	}
	m := NewCache().Metric("AWS/RDS", "ReadLatency")
	for i := range 2 * maxPercentiles {
		q := 0.001 * float64(i+1)
		if got, want := m.Percentile(q), "aws_rds_read_latency_"+Percentile(q); got != want {
			t.Fatalf("Percentile(%v) = %q, want %q", q, got, want)
		}
	}
	if len(m.pcts) != maxPercentiles {
		t.Fatalf("%d percentile names cached, want at most %d", len(m.pcts), maxPercentiles)
	}
}

func TestParseStatistic(t *testing.T) {
	for _, s := range Statistics {
		if got, ok := ParseStatistic(s.String()); !ok || got != s {
			t.Errorf("ParseStatistic(%q) = %v, %v", s.String(), got, ok)
		}
	}
	for _, bad := range []string{"p99", "Sum", "count", ""} {
		if _, ok := ParseStatistic(bad); ok {
			t.Errorf("ParseStatistic(%q) accepted", bad)
		}
	}
	if got := StatisticNames(); len(got) != len(Statistics) || got[SampleCount] != "sample_count" {
		t.Errorf("StatisticNames() = %v", got)
	}
}
