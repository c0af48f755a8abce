package dashboards

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/rules"
	"github.com/cwstream/cwstream/internal/sample"
)

// TestQueriesAgainstPrometheus loads stream data into a real Prometheus that
// also evaluates the rule file, then runs every variable query, every panel
// query and every rule expression: each must parse, every variable and panel
// query must return data, and so must every rule's probe (the measured value
// behind an alert), which proves the rules read series that exist. The data
// is the fixture payloads' (see streamSamples) and the series the ADOT
// collector sidecar wrote in its own end-to-end test (see sidecarSamples).
func TestQueriesAgainstPrometheus(t *testing.T) {
	proveQueries(t, streamSamples(t))
}

// proveQueries runs every variable, panel and rule query on samples in a
// real Prometheus and fails on any that does not parse or returns no data.
func proveQueries(t *testing.T, samples []sample.Sample) {
	t.Helper()
	ruleFile, err := rules.Build(rules.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Prometheus 2.42 predates query_offset; here the recordings are
	// evaluated at the present, over data that has all arrived.
	ruleText, err := ruleFile.StripQueryOffsets().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	newest := samples[0].T
	for _, s := range samples {
		newest = max(newest, s.T)
	}
	// Every proof includes the ADOT sidecar's series, ending at the same
	// minute as the stream's: the ECS dashboard reads both paths.
	data := append(slices.Clip(samples), sidecarSamples(t, newest)...)
	// The data spans about an hour. Without an out-of-order window,
	// Prometheus 2.42 takes only samples within an hour (half its block) of
	// the newest it holds, and an empty head starts at the first sample it
	// appends: whether the oldest samples are refused as "out of bounds"
	// then depends on which series comes first in the request, and rule
	// evaluations that start with Prometheus can set it too (the test
	// failed so once, on a loaded machine). AMP runs with a window.
	p := promtest.Start(t, promtest.WithRules(string(ruleText), time.Second), promtest.WithOutOfOrderWindow(3*time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	end := loadSamples(ctx, t, p, data)

	waitForRecordings(ctx, t, p, ruleFile)
	now := time.Now()

	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		t.Run(deref(d.Uid), func(t *testing.T) {
			vars := resolveVariables(ctx, t, p, d, end)
			panels := Panels(d)
			if len(panels) == 0 {
				t.Fatal("no panels")
			}
			for _, panel := range panels {
				if len(panel.Queries) == 0 {
					t.Errorf("panel %q: no Prometheus queries", panel.Title)
					continue
				}
				for _, q := range panel.Queries {
					expr := substitute(q.Expr, vars)
					if leftover.MatchString(expr) {
						t.Errorf("panel %q query %s: unsubstituted variable in %s", panel.Title, q.RefID, expr)
						continue
					}
					n, err := queryRange(ctx, p, expr, now)
					if err != nil {
						t.Errorf("panel %q query %s: %v\n%s", panel.Title, q.RefID, err, expr)
						continue
					}
					// Every query, not only one per panel: the fixtures hold
					// every series the dashboards read, so no data is a
					// misspelt name or filter, or a series to add to the
					// fixtures (tools/otlp07gen).
					if n == 0 {
						t.Errorf("panel %q query %s: no data\n%s", panel.Title, q.RefID, expr)
					}
				}
			}
		})
	}

	t.Run("rules", func(t *testing.T) {
		for _, g := range ruleFile.Groups {
			for _, r := range g.Rules {
				if _, err := p.Query(ctx, r.Expr, now); err != nil {
					t.Errorf("%s/%s: expr: %v", g.Name, r.Name(), err)
				}
				probe := r.Probe
				if probe == "" {
					probe = r.Expr // a recording rule's own expression must return data
				}
				got, err := p.Query(ctx, probe, now)
				if err != nil {
					t.Errorf("%s/%s: probe: %v", g.Name, r.Name(), err)
				} else if len(got) == 0 {
					t.Errorf("%s/%s: probe returned no data: %s", g.Name, r.Name(), probe)
				}
			}
		}
		checkRuleHealth(ctx, t, p)
	})
}

// waitForRecordings waits until Prometheus has evaluated every recording
// rule into a series (the dashboards read them), and reports each that has
// not after 15 s — fifteen evaluations — without ending the test, so one
// run lists every gap.
func waitForRecordings(ctx context.Context, t *testing.T, p *promtest.Server, f rules.File) {
	t.Helper()
	var missing []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				missing = append(missing, r.Record)
			}
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(missing) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		missing = slices.DeleteFunc(missing, func(rec string) bool {
			got, err := p.Query(ctx, rec, time.Now())
			if err != nil {
				t.Fatalf("recorded series %s: %v", rec, err)
			}
			return len(got) > 0
		})
	}
	for _, rec := range missing {
		t.Errorf("recorded series %s: no data 15 s after loading the samples", rec)
	}
}

// checkRuleHealth fails on any rule Prometheus could not evaluate.
func checkRuleHealth(ctx context.Context, t *testing.T, p *promtest.Server) {
	t.Helper()
	var r struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.API().Get(ctx, "/api/v1/rules", nil, &r); err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			count++
			if rule.Health == "err" || rule.LastError != "" {
				t.Errorf("rule %s/%s: health %s: %s", g.Name, rule.Name, rule.Health, rule.LastError)
			}
		}
	}
	if count == 0 {
		t.Error("Prometheus loaded no rules")
	}
}

// leftover finds a template variable substitute did not replace ($1 and
// ${1} in label_replace are not variables).
var leftover = regexp.MustCompile(`\$\{?[A-Za-z_]`)

// labelValuesQuery matches Grafana's label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+), ([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// resolveVariables runs each query variable in order with the values chosen
// so far, requires it to list values, and selects "All" as the dashboards do
// by default. It returns name → substituted value.
func resolveVariables(ctx context.Context, t *testing.T, p *promtest.Server, d dashboard.Dashboard, end time.Time) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			continue
		case "query":
		default:
			t.Errorf("variable %s: unexpected type %s", v.Name, v.Type)
			continue
		}
		if v.Query == nil || v.Query.String == nil {
			t.Fatalf("variable %s: no query", v.Name)
		}
		m := labelValuesQuery.FindStringSubmatch(*v.Query.String)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(selector, label)", v.Name, *v.Query.String)
		}
		selector := substitute(m[1], vars)
		values, err := labelValues(ctx, p, m[2], selector, end)
		if err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		if len(values) == 0 && v.AllValue != nil && *v.AllValue == teamAll {
			// The team variable reads the info series, which exist only
			// with the tag enrichment on; without, it offers All alone.
			vars[v.Name] = teamAll
			continue
		}
		if len(values) == 0 {
			t.Fatalf("variable %s: no values for %s on %s", v.Name, m[2], selector)
		}
		if v.AllValue == nil || v.IncludeAll == nil || !*v.IncludeAll {
			t.Fatalf("variable %s: no All option", v.Name)
		}
		vars[v.Name] = *v.AllValue
	}
	return vars
}

// substitute replaces $name and ${name} with the variables' values, longest
// names first so $cluster does not eat part of a longer name.
func substitute(expr string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "${"+n+"}", vars[n])
		expr = strings.ReplaceAll(expr, "$"+n, vars[n])
	}
	return expr
}
