package adot

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/cwstream/cwstream/internal/demoapp"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// The collector these tests run is tools/adotcheck: the OpenTelemetry
// Collector built from the component versions ADOT ImageVersion ships
// (`make adotcheck` builds it into build/adotcheck; CWSTREAM_ADOTCHECK
// names another path). Without it the tests skip, except under CI=true.

// collectorBinary returns the adotcheck binary or skips.
func collectorBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CWSTREAM_ADOTCHECK")
	if path == "" {
		path = filepath.Join(testutil.RepoRoot(t), "build", "adotcheck")
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("the collector (tools/adotcheck) is not built: run 'make adotcheck' (%v)", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " — CI=true, so this fails instead of skipping")
		}
		t.Skip(msg)
	}
	return path
}

// TestCollectorValidatesGolden loads every golden configuration with the
// collector's own configuration code (adotcheck validate: decode into each
// component's Config, strictly, then validate components and pipelines).
func TestCollectorValidatesGolden(t *testing.T) {
	bin := collectorBinary(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden configurations: %v", err)
	}
	// What `cwstream adot-config` prints (cmd/cwstream's golden file).
	files = append(files, testutil.Testdata(t, "golden", "adot-config.yaml"))
	out, err := exec.Command(bin, append([]string{"validate"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("adotcheck validate: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), ": valid\n"); n != len(files) {
		t.Errorf("%d of %d files reported valid:\n%s", n, len(files), out)
	}
}

// TestCollectorRejects proves the check can fail: configurations the
// collector refuses, each for its own reason.
func TestCollectorRejects(t *testing.T) {
	bin := collectorBinary(t)
	good, err := Config(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ from, to, want string }{
		"unknown key":        {"limit_percentage: 80", "limit_percentage: 80\n    bogus: 1", "bogus"},
		"unknown component":  {"      - batch\n", "      - batch\n      - filter\n", "filter"},
		"bad relabel action": {"action: replace", "action: rename", "rename"},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("configuration has no %q", tc.from)
			}
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(good, tc.from, tc.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "validate", path).CombinedOutput()
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("error does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

// Task metadata the fake endpoint serves: one Fargate task of the demo
// service with the application and the collector.
const (
	testCluster = "cwstream-test"
	testTaskID  = "0123456789abcdef0123456789abcdef"
	testService = "cwstream-test-demo"
	appDockerID = "app-0123456789abcdef0123456789abcdef-1111"
	colDockerID = "app-0123456789abcdef0123456789abcdef-2222"
)

// fakeTaskMetadata serves the ECS task metadata endpoint v4 paths the
// collector reads: the container's own metadata (the ECS detector), /task
// (both) and /task/stats (container metrics). Counters grow by step on
// every stats call, as Docker's do.
func fakeTaskMetadata(t *testing.T) *httptest.Server {
	t.Helper()
	arn := fmt.Sprintf("arn:aws:ecs:eu-west-1:123456789012:task/%s/%s", testCluster, testTaskID)
	container := func(name, id string, memMiB uint64) map[string]any {
		return map[string]any{
			"DockerId": id, "Name": name, "DockerName": "ecs-" + name, "Image": "example/" + name + ":1",
			"ImageID": "sha256:" + strings.Repeat("ab", 32), "KnownStatus": "RUNNING", "Type": "NORMAL",
			"CreatedAt": "2026-01-01T00:00:00Z", "StartedAt": "2026-01-01T00:00:01Z",
			"Limits":       map[string]any{"CPU": 128, "Memory": memMiB},
			"Networks":     []map[string]any{{"NetworkMode": "awsvpc", "IPv4Addresses": []string{"10.0.0.10"}}},
			"ContainerARN": "arn:aws:ecs:eu-west-1:123456789012:container/" + testCluster + "/" + testTaskID + "/" + name,
		}
	}
	app, col := container("app", appDockerID, 128), container(ContainerName, colDockerID, MemoryLimitMiB)
	task := map[string]any{
		"Cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/" + testCluster, "TaskARN": arn,
		"Family": "cwstream-test-demo", "Revision": "3", "ServiceName": testService,
		"DesiredStatus": "RUNNING", "KnownStatus": "RUNNING", "LaunchType": "FARGATE",
		"AvailabilityZone": "eu-west-1a", "Limits": map[string]any{"CPU": 0.25, "Memory": 512},
		"Containers": []any{app, col},
	}
	var mu sync.Mutex
	calls := uint64(0)
	stats := func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		calls++
		now := time.Now().UTC()
		one := func(name, id string, scale uint64) map[string]any {
			u := func(v uint64) uint64 { return v * scale * calls }
			return map[string]any{
				"name": name, "id": id, "read": now.Format(time.RFC3339Nano), "preread": now.Add(-10 * time.Second).Format(time.RFC3339Nano),
				"cpu_stats": map[string]any{
					"cpu_usage":        map[string]any{"total_usage": u(2e8), "usage_in_kernelmode": u(5e7), "usage_in_usermode": u(1.5e8), "percpu_usage": []uint64{u(1e8), u(1e8)}},
					"system_cpu_usage": 1e12 + 2e10*calls, "online_cpus": 2,
				},
				"precpu_stats": map[string]any{
					"cpu_usage":        map[string]any{"total_usage": u(2e8) - 2e8*scale, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
					"system_cpu_usage": 1e12 + 2e10*(calls-1), "online_cpus": 2,
				},
				"memory_stats":       map[string]any{"usage": 40 << 20 * scale, "max_usage": 60 << 20 * scale, "limit": 256 << 20, "stats": map[string]uint64{"cache": 4 << 20}},
				"networks":           map[string]any{"eth1": map[string]any{"rx_bytes": u(1e6), "rx_packets": u(1000), "tx_bytes": u(2e6), "tx_packets": u(1500)}},
				"network_rate_stats": map[string]any{"rx_bytes_per_sec": 1e5 * float64(scale), "tx_bytes_per_sec": 2e5 * float64(scale)},
				"blkio_stats": map[string]any{"io_service_bytes_recursive": []map[string]any{
					{"major": 202, "minor": 26368, "op": "Read", "value": u(4096)},
					{"major": 202, "minor": 26368, "op": "Write", "value": u(8192)},
				}},
			}
		}
		return map[string]any{appDockerID: one("app", appDockerID, 2), colDockerID: one(ContainerName, colDockerID, 1)}
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		switch r.URL.Path {
		case "", "/":
			body = col
		case "/task":
			body = task
		case "/task/stats":
			body = stats()
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// testApp is the ECS demo's application (internal/demoapp), with some
// requests already served so its request series exist.
func testApp(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(demoapp.NewHandler(prometheus.NewRegistry()))
	t.Cleanup(s.Close)
	for _, path := range []string{"/", "/", "/error", "/slow"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	return s
}

// freePort returns a free 127.0.0.1 port for the collector's health check.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCollectorEndToEnd runs the collector with the configuration Config
// renders: it scrapes an httptest application, reads a fake task metadata
// endpoint, and remote-writes into a real Prometheus, from which the
// application's series and the container metrics are read back with their
// task labels. SigV4 cannot be used offline (nothing here could verify a
// signature), so this configuration is the one variant without it; the
// sigv4auth configuration is proven by TestCollectorValidatesGolden.
func TestCollectorEndToEnd(t *testing.T) {
	collectorBinary(t) // skip before starting anything
	p := promtest.Start(t)
	app := testApp(t)
	tmde := fakeTaskMetadata(t)

	o := testOptions()
	o.RemoteWriteURL = p.WriteURL()
	o.SigV4 = false
	o.Region = ""
	o.ScrapeTargets = []string{strings.TrimPrefix(app.URL, "http://")}
	o.ScrapeInterval = time.Second
	o.ServiceName = testService
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	startCollector(ctx, t, o, "ECS_CONTAINER_METADATA_URI_V4="+tmde.URL)
	taskLabels := fmt.Sprintf(`%s=%q,%s=%q,%s=%q,env="test"`, LabelCluster, testCluster, LabelTask, testTaskID, LabelService, testService)
	// Application series, labelled with the scrape job, the task and the
	// external label; the relabel rule's $1 and $ anchor took effect, and
	// the dropped series are absent.
	errors := waitSeries(ctx, t, p, `http_requests_total{job="app",code="500",path="/error",`+taskLabels+`}`)
	if got := errors[0]["class"]; len(errors) != 1 || got != "5xx" {
		t.Errorf("relabelled class=%q, want 5xx (the ${1} and the $ anchor must reach Prometheus): %v", got, errors)
	}
	if ok := waitSeries(ctx, t, p, `http_requests_total{code="200",path="/",`+taskLabels+`}`); ok[0]["class"] != "" {
		t.Errorf("the relabel rule matched a 200: %v", ok)
	}
	// The histogram arrives whole: every bucket of every path.
	buckets := waitSeries(ctx, t, p, `http_request_duration_seconds_bucket{path="/",`+taskLabels+`}`)
	if len(buckets) != 9 {
		t.Errorf("%d buckets of /, want 9 (8 bounds and +Inf)", len(buckets))
	}
	if got, err := p.Series(ctx, `{__name__=~"go_gc_.*"}`, time.Now().Add(-time.Hour), time.Now()); err != nil || len(got) != 0 {
		t.Errorf("dropped series were written: %v %v", got, err)
	}
	// The counter of / reads back sample by sample as the scrapes saw it:
	// it only grows, and the collector wrote more than one scrape.
	samples, err := p.Samples(ctx, `http_requests_total{path="/"}`, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(samples) != 1 || len(samples[0].Points) < 2 {
		t.Fatalf("http_requests_total samples: %v %v", samples, err)
	}
	for i := 1; i < len(samples[0].Points); i++ {
		if samples[0].Points[i].V < samples[0].Points[i-1].V {
			t.Errorf("http_requests_total decreases: %v", samples[0].Points)
		}
	}

	// Container metrics: the names the receiver really produces once the
	// exporter has translated them (metrics.go documents them); per
	// container for the container_* series, per task for ecs_task_*.
	for _, name := range ContainerMetricNames() {
		match := fmt.Sprintf(`%s{container_name="app",%s}`, name, taskLabels)
		if strings.HasPrefix(name, "ecs_task_") {
			match = fmt.Sprintf(`%s{%s}`, name, taskLabels)
		}
		waitSeries(ctx, t, p, match)
	}
	// Another collection, so the cumulative counters have two samples.
	time.Sleep(2 * o.ScrapeInterval)

	// What the dashboards are proven against: every series the collector
	// wrote of the metrics they read, as it wrote them.
	got, err := p.Series(ctx, dashboardSeriesMatch, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		for k := range s {
			if strings.HasPrefix(k, "aws_") || strings.HasPrefix(k, "cloud_") || strings.HasPrefix(k, "otel_") || strings.HasPrefix(k, "service_") {
				t.Errorf("%s: resource or scope attribute %s left as a label", s["__name__"], k)
			}
		}
		if s["instance"] != "" {
			s["instance"] = "localhost:8080" // the httptest port varies
		}
	}
	writtenGolden(t, got)
}

// dashboardSeriesMatch selects the sidecar series the ECS dashboard reads.
const dashboardSeriesMatch = `{__name__=~"up|http_requests_total|http_request_duration_seconds_bucket|container_cpu_usage_total_Nanoseconds|container_cpu_usage_vcpu_vCPU|container_memory_usage_Bytes|container_memory_utilized_MiB|ecs_task_network_io_usage_(rx|tx)_bytes_Bytes"}`

// writtenGolden compares (or with -update writes) WrittenSeriesFile.
func writtenGolden(t *testing.T, series []map[string]string) {
	t.Helper()
	lines := make([]string, 0, len(series))
	for _, s := range series {
		b, err := json.Marshal(s) // map keys sorted
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	golden(t, filepath.Base(WrittenSeriesFile), strings.Join(lines, "\n")+"\n")
}

// TestCollectorLogs403 shows what the sidecar's log says when the task
// role lacks the ingestion policy: a store that answers as AMP does to an
// unauthorized write. operations.md's troubleshooting quotes it.
func TestCollectorLogs403(t *testing.T) {
	collectorBinary(t)
	const denied = `{"Message":"User: arn:aws:sts::123456789012:assumed-role/demo-task/abc is not authorized to perform: aps:RemoteWrite on resource: arn:aws:aps:eu-west-1:123456789012:workspace/ws-1"}`
	amp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, denied, http.StatusForbidden)
	}))
	defer amp.Close()
	app := testApp(t)
	o := DefaultOptions()
	o.RemoteWriteURL, o.SigV4 = amp.URL+"/workspaces/ws-1/api/v1/remote_write", false
	o.ScrapeTargets = []string{strings.TrimPrefix(app.URL, "http://")}
	o.ScrapeInterval = time.Second
	o.ContainerMetrics, o.TaskLabels = false, false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := startCollector(ctx, t, o)
	for !strings.Contains(log.String(), "403") {
		select {
		case <-ctx.Done():
			t.Fatalf("no 403 in the collector log:\n%s", log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	text := log.String()
	// Permanent: the exporter drops the batch instead of retrying it.
	for _, want := range []string{"403 Forbidden", "is not authorized to perform: aps:RemoteWrite", "Permanent error"} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %q:\n%s", want, text)
		}
	}
}

// startCollector runs the collector (adotcheck run) with the configuration
// of o and the extra environment until the test ends, waits until it is
// healthy, and returns its log, which a failed test prints. The sidecar's
// health check port is fixed (the image's /healthcheck asks 13133); here it
// is a free one, so nothing on the machine collides.
func startCollector(ctx context.Context, t *testing.T, o Options, env ...string) *testutil.SyncBuffer {
	t.Helper()
	bin := collectorBinary(t)
	cfg, err := Config(o)
	if err != nil {
		t.Fatal(err)
	}
	health := freePort(t)
	cfg = strings.Replace(cfg, fmt.Sprintf("127.0.0.1:%d", HealthCheckPort), fmt.Sprintf("127.0.0.1:%d", health), 1)
	cmd := exec.Command(bin, "run")
	cmd.Env = append(append(os.Environ(), ConfigEnv+"="+cfg), env...)
	log := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("collector log:\n%s", log.String())
		}
	})
	waitHealthy(ctx, t, health)
	return log
}

// waitHealthy polls the health_check extension the image's /healthcheck
// binary asks.
func waitHealthy(ctx context.Context, t *testing.T, port int) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("collector never healthy at %s: %v", url, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitSeries waits until Prometheus holds a series matching match and
// returns them.
func waitSeries(ctx context.Context, t *testing.T, p *promtest.Server, match string) []map[string]string {
	t.Helper()
	for {
		got, err := p.Series(ctx, match, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatalf("series %s: %v", match, err)
		}
		if len(got) > 0 {
			return got
		}
		select {
		case <-ctx.Done():
			all, _ := p.Series(context.Background(), `{__name__=~".+"}`, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
			names := []string{}
			for _, s := range all {
				if !slices.Contains(names, s[model.MetricNameLabel]) {
					names = append(names, s[model.MetricNameLabel])
				}
			}
			slices.Sort(names)
			t.Fatalf("no series %s; Prometheus has %s", match, strings.Join(names, " "))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
