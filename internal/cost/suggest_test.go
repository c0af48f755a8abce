package cost

import (
	"slices"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/config"
)

func TestSubstitute(t *testing.T) {
	for in, want := range map[string]string{
		`rate(x{a=~"$svc"}[$__rate_interval])`:             `rate(x{a=~".*"}[5m])`,
		`x{a="${cluster:regex}", b='[[old]]'} offset $win`: `x{a=".*", b='.*'} offset 5m`,
		`x / $__interval_ms`:                               `x / 300000`,
		`x{a="\"$v\""}`:                                    `x{a="\".*\""}`,
		`label_replace(x, "y", "$1", "a", "(.*)")`:         `label_replace(x, "y", "$1", "a", "(.*)")`,
	} {
		if got := Substitute(in); got != want {
			t.Errorf("Substitute(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	elb := Metric{"AWS/ApplicationELB", "TargetResponseTime"}
	rds := Metric{"AWS/RDS", "CPUUtilization"}
	names := map[string]Stat{
		"aws_applicationelb_target_response_time_average": {elb, "average", 0},
		"aws_applicationelb_target_response_time_sum":     {elb, "sum", 0},
		"aws_applicationelb_target_response_time_p99":     {elb, "p99", 0.99},
		"aws_applicationelb_target_response_time_p99_9":   {elb, "p99_9", 0.999},
		"aws_rds_cpuutilization_maximum":                  {rds, "maximum", 0},
		"aws_rds_cpuutilization_minimum":                  {rds, "minimum", 0},
	}
	r := Reads{
		Queries: []Query{
			{"panel", `histogram_quantile(0.5, x) or aws_applicationelb_target_response_time_p99{lb=~"$lb"}`},
			{"regex", `{__name__=~"aws_applicationelb_target_response_time_(average|p99_9)"}`},
			{"presence", `absent_over_time({__name__=~"aws_.+"}[10m])`},
			{"alert", `job:cpu:max > 80`},
			{"other", `up`},
		},
		Records: map[string]string{"job:cpu:max": `max_over_time(aws_rds_cpuutilization_maximum[$__range])`},
	}
	s, err := Suggest(r, names)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range s.Stats {
		got = append(got, st.Metric.Name+"/"+st.Name)
	}
	want := []string{"TargetResponseTime/average", "TargetResponseTime/p99", "TargetResponseTime/p99_9", "CPUUtilization/maximum"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stats %v, want %v", got, want)
	}
	if len(s.Presence) != 1 || !strings.HasPrefix(s.Presence[0], "presence: ") {
		t.Errorf("presence %v", s.Presence)
	}
	if !slices.Equal(s.Unknown, []string{"up", "x"}) {
		t.Errorf("unknown %v, want [up x]", s.Unknown)
	}

	sf := s.StreamFilter()
	if len(sf.IncludeFilters) != 2 || sf.IncludeFilters[0].Namespace != "AWS/ApplicationELB" || !slices.Equal(sf.IncludeFilters[1].MetricNames, []string{"CPUUtilization"}) {
		t.Errorf("include filters %+v", sf.IncludeFilters)
	}
	if len(sf.AdditionalStatistics) != 1 || !slices.Equal(sf.AdditionalStatistics[0].Statistics, []string{"p99", "p99.9"}) {
		t.Errorf("additional statistics %+v", sf.AdditionalStatistics)
	}

	base, err := config.Parse([]byte("external_labels: {env: prod}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Statistics, []string{"maximum", "average"}) || !slices.Equal(*cfg.Percentiles, []string{"p99", "p99_9"}) || cfg.ExternalLabels["env"] != "prod" {
		t.Errorf("config: statistics %v percentiles %v labels %v", cfg.Statistics, *cfg.Percentiles, cfg.ExternalLabels)
	}
	keep := cfg.RelabelConfigs[len(cfg.RelabelConfigs)-1]
	for name, want := range map[string]bool{
		"aws_rds_cpuutilization_maximum":              true,
		"aws_rds_cpuutilization_minimum":              false,
		"aws_applicationelb_target_response_time_p99": true,
		"aws_applicationelb_target_response_time_sum": false,
	} {
		if keep.Regex.MatchString(name) != want {
			t.Errorf("keep rule on %s: %v, want %v", name, !want, want)
		}
	}

	if _, err := Suggest(Reads{Queries: []Query{{"bad", "sum(("}}}, names); err == nil || !strings.Contains(err.Error(), "bad:") {
		t.Errorf("bad PromQL: %v", err)
	}
}

func TestAddDashboard(t *testing.T) {
	model := `{
	  "panels": [
	    {"type": "row", "panels": [{"targets": [{"refId": "A", "expr": "a_sum / 60"}]}]},
	    {"targets": [
	      {"refId": "B", "expr": "b_sum", "datasource": {"type": "prometheus", "uid": "amp"}},
	      {"refId": "C", "expr": "{app=\"x\"} |= \"error\"", "datasource": {"type": "loki"}},
	      {"refId": "D", "namespace": "AWS/EC2", "datasource": {"type": "cloudwatch"}}
	    ]}
	  ],
	  "templating": {"list": [
	    {"name": "lb", "type": "query", "query": {"query": "label_values(c_sum{x=\"1\"}, dimension_LoadBalancer)"}},
	    {"name": "env", "type": "query", "query": "label_values(env)"},
	    {"name": "ds", "type": "datasource", "query": "prometheus"}
	  ]}
	}`
	var r Reads
	if err := r.AddDashboard("d.json", []byte(model)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range r.Queries {
		got = append(got, q.Source+" = "+q.Expr)
	}
	slices.Sort(got)
	want := []string{"d.json: target A = a_sum / 60", "d.json: target B = b_sum", `d.json: variable lb = c_sum{x="1"}`}
	if !slices.Equal(got, want) {
		t.Errorf("queries\n%q\nwant\n%q", got, want)
	}
	if err := r.AddDashboard("e.json", []byte(`{"panels": []}`)); err == nil || !strings.Contains(err.Error(), "no Prometheus queries") {
		t.Errorf("empty dashboard: %v", err)
	}
}
