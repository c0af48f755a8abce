package adot

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v2"

	"github.com/cwstream/cwstream/internal/testutil"
)

// testOptions are DefaultOptions with a relabel rule that uses $ (escaped
// by Config) and an external label.
func testOptions() Options {
	o := DefaultOptions()
	o.RemoteWriteURL = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd-4567-89ef-0123-456789abcdef/api/v1/remote_write"
	o.Region = "eu-west-1"
	o.ServiceName = "demo"
	o.ExternalLabels = map[string]string{"env": "test"}
	o.MetricRelabelConfigs = []*relabel.Config{
		// ${1} and the $ anchor must reach Prometheus unexpanded. (A rule
		// that labels only some series of a histogram would split it: the
		// collector assembles histograms after relabelling.)
		mustRelabel(`{source_labels: [__name__, code], regex: "http_requests_total;(5)[0-9][0-9]$", target_label: class, replacement: "${1}xx", action: replace}`),
		mustRelabel(`{source_labels: [__name__], regex: "go_gc_.*", action: drop}`),
	}
	return o
}

// mustRelabel parses one relabel rule as Prometheus reads it (defaults
// applied).
func mustRelabel(y string) *relabel.Config {
	var c relabel.Config
	if err := yaml.UnmarshalStrict([]byte(y), &c); err != nil {
		panic(err)
	}
	return &c
}

// goldenVariants are the configurations pinned in testdata/ and loaded by
// the collector itself (TestCollectorValidatesGolden).
func goldenVariants() map[string]Options {
	full := testOptions()

	minimal := DefaultOptions()
	minimal.RemoteWriteURL = full.RemoteWriteURL
	minimal.Region = "us-east-1"
	minimal.ContainerMetrics = false
	minimal.TaskLabels = false

	containersOnly := testOptions()
	containersOnly.ScrapeTargets = nil

	unsigned := testOptions()
	unsigned.SigV4 = false
	unsigned.Region = ""
	unsigned.RemoteWriteURL = "http://127.0.0.1:9090/api/v1/write"
	unsigned.ScrapeTargets = []string{"localhost:8080", "localhost:9100"}
	unsigned.ScrapeInterval = 15 * time.Second
	unsigned.MetricsPath = "/internal/metrics"
	unsigned.Job = "web"
	return map[string]Options{
		"full.yaml": full, "minimal.yaml": minimal, "containers-only.yaml": containersOnly, "unsigned.yaml": unsigned,
	}
}

func TestConfigGolden(t *testing.T) {
	for name, o := range goldenVariants() {
		t.Run(name, func(t *testing.T) {
			got, err := Config(o)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, got)
		})
	}
}

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), []byte(got))
}

// TestConfigShape reads the rendered YAML back and checks what each option
// controls.
func TestConfigShape(t *testing.T) {
	type tree = map[string]any
	parse := func(o Options) tree {
		t.Helper()
		s, err := Config(o)
		if err != nil {
			t.Fatal(err)
		}
		var m tree
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return toStringKeys(m).(tree)
	}
	get := func(m tree, path string) any {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			mm, ok := v.(tree)
			if !ok {
				return nil
			}
			v = mm[k]
		}
		return v
	}

	o := testOptions()
	m := parse(o)
	exp := "exporters.prometheusremotewrite."
	if get(m, exp+"endpoint") != o.RemoteWriteURL || get(m, exp+"auth.authenticator") != "sigv4auth" {
		t.Errorf("exporter %v", get(m, "exporters"))
	}
	if get(m, "extensions.sigv4auth.service") != "aps" || get(m, "extensions.sigv4auth.region") != o.Region {
		t.Errorf("sigv4auth %v", get(m, "extensions.sigv4auth"))
	}
	if get(m, exp+"external_labels.env") != "test" {
		t.Errorf("external labels %v", get(m, exp+"external_labels"))
	}
	scrape := get(m, "receivers.prometheus.config.scrape_configs").([]any)[0].(tree)
	if scrape["scrape_interval"] != "30s" || scrape["metrics_path"] != "/metrics" || scrape["job_name"] != "app" {
		t.Errorf("scrape config %v", scrape)
	}
	rules := scrape["metric_relabel_configs"].([]any)
	if r := rules[0].(tree); r["regex"] != "http_requests_total;(5)[0-9][0-9]$$" || r["replacement"] != "$${1}xx" {
		t.Errorf("relabel rule not escaped for the collector: %v", r)
	}
	// The rules given are not changed by the escaping.
	if o.MetricRelabelConfigs[0].Replacement != "${1}xx" {
		t.Errorf("the caller's rule was modified: %q", o.MetricRelabelConfigs[0].Replacement)
	}
	if get(m, "service.pipelines."+PipelineApp) == nil || get(m, "service.pipelines."+PipelineContainers) == nil {
		t.Errorf("pipelines %v", get(m, "service.pipelines"))
	}

	o.SigV4, o.Region, o.RemoteWriteURL = false, "", "http://127.0.0.1:9090/api/v1/write"
	o.ContainerMetrics, o.TaskLabels = false, false
	m = parse(o)
	if get(m, "extensions.sigv4auth") != nil || get(m, exp+"auth") != nil {
		t.Error("sigv4auth present without SigV4")
	}
	if get(m, "receivers.awsecscontainermetrics") != nil || get(m, "service.pipelines."+PipelineContainers) != nil {
		t.Error("container metrics present when off")
	}
	if get(m, "processors.resource/ecs") != nil || get(m, "processors.resourcedetection/ecs") != nil || get(m, exp+"resource_to_telemetry_conversion.enabled") != false {
		t.Error("task labels present when off")
	}
}

// toStringKeys converts yaml.v2's map[any]any trees.
func toStringKeys(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := map[string]any{}
		for k, v := range x {
			m[k.(string)] = toStringKeys(v)
		}
		return m
	case map[string]any:
		for k, v := range x {
			x[k] = toStringKeys(v)
		}
		return x
	case []any:
		for i := range x {
			x[i] = toStringKeys(x[i])
		}
	}
	return v
}

func TestValidate(t *testing.T) {
	bad := func(f func(*Options)) Options {
		o := testOptions()
		f(&o)
		return o
	}
	for _, tc := range []struct {
		option string
		o      Options
	}{
		{"RemoteWriteURL", bad(func(o *Options) { o.RemoteWriteURL = "" })},
		{"RemoteWriteURL", bad(func(o *Options) { o.RemoteWriteURL = "aps-workspaces/ws-1" })},
		{"RemoteWriteURL", bad(func(o *Options) { o.RemoteWriteURL = "http://aps-workspaces.eu-west-1.amazonaws.com/x" })},
		{"Region", bad(func(o *Options) { o.Region = "" })},
		{"Region", bad(func(o *Options) { o.Region = "Ireland" })},
		{"ScrapeTargets", bad(func(o *Options) { o.ScrapeTargets, o.ContainerMetrics = nil, false })},
		{"ScrapeTargets[1]", bad(func(o *Options) { o.ScrapeTargets = []string{"localhost:8080", "localhost"} })},
		{"Job", bad(func(o *Options) { o.Job = "my job" })},
		{"MetricsPath", bad(func(o *Options) { o.MetricsPath = "metrics" })},
		{"ScrapeInterval", bad(func(o *Options) { o.ScrapeInterval = 0 })},
		{"MetricRelabelConfigs[0]", bad(func(o *Options) { o.MetricRelabelConfigs = []*relabel.Config{{Action: relabel.Replace}} })},
		{"ExternalLabels", bad(func(o *Options) { o.ExternalLabels = map[string]string{"bad-name": "x"} })},
		{"ExternalLabels", bad(func(o *Options) { o.ExternalLabels = map[string]string{"__reserved": "x"} })},
	} {
		_, err := Config(tc.o)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != tc.option {
			t.Errorf("want an error naming %s, got %v", tc.option, err)
		}
	}
	// CDK tokens stand for values CloudFormation fills in.
	o := testOptions()
	o.RemoteWriteURL = "${Token[TOKEN.123]}api/v1/remote_write"
	o.Region = "${Token[AWS.Region.9]}"
	if _, err := Config(o); err != nil {
		t.Errorf("tokens: %v", err)
	}
}

func TestContainerDefinition(t *testing.T) {
	b, err := ContainerDefinition(testOptions(), LogOptions{Group: "/cwstream/demo/adot", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "container-definition.json", string(b))
	var def struct {
		Name        string `json:"name"`
		Image       string `json:"image"`
		Essential   *bool  `json:"essential"`
		Environment []struct{ Name, Value string }
		HealthCheck struct{ Command []string }
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	cfg, _ := Config(testOptions())
	if def.Name != "adot-collector" || strings.HasSuffix(def.Image, ":latest") || !strings.Contains(def.Image, ":v") {
		t.Errorf("name %q image %q", def.Name, def.Image)
	}
	if def.Essential == nil || *def.Essential {
		t.Error("essential must be present and false")
	}
	if len(def.Environment) != 1 || def.Environment[0].Name != "AOT_CONFIG_CONTENT" || def.Environment[0].Value != cfg {
		t.Errorf("environment %v", def.Environment)
	}
	if strings.Join(def.HealthCheck.Command, " ") != "CMD /healthcheck" {
		t.Errorf("health check %v", def.HealthCheck.Command)
	}
	if _, err := ContainerDefinition(testOptions(), LogOptions{}); err == nil {
		t.Error("no log group: no error")
	}
}
