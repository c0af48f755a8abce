package rules

// The rule file run by the Prometheus rule engine of the pinned module
// (github.com/prometheus/prometheus/rules and promql, the version go.mod
// pins): Debian's promtool 2.42 predates query_offset (Prometheus 2.53) and
// rejects the file, so the checks and unit tests promtool ran are run here,
// in process, by the same code a current Prometheus evaluates rules with.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"go.yaml.in/yaml/v2"
)

// evalInterval is the groups' evaluation interval: AMP's default and the
// stream's resolution.
const evalInterval = time.Minute

// engine is a rule file loaded into the rule engine: its groups in file
// order, each evaluated on demand (Eval) rather than on a timer.
type engine struct {
	groups []*promrules.Group
}

// loadEngine loads f's rule file as Prometheus loads it (the same parser
// and validation), evaluating queries with query and writing recorded
// series to app.
func loadEngine(t testing.TB, f File, query promrules.QueryFunc, app storage.AppendableV2) *engine {
	t.Helper()
	text, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	m := promrules.NewManager(&promrules.ManagerOptions{
		QueryFunc:    query,
		AppendableV2: app,
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*promrules.Alert) {},
		Logger:       promslog.NewNopLogger(),
	})
	loaded, errs := m.LoadGroups(evalInterval, labels.EmptyLabels(), "", nil, false, path)
	if len(errs) > 0 {
		t.Fatalf("the rule engine refuses the rule file: %v", errs)
	}
	e := &engine{}
	for _, g := range f.Groups {
		lg := loaded[promrules.GroupKey(path, g.Name)]
		if lg == nil {
			t.Fatalf("group %s not loaded", g.Name)
		}
		for _, r := range lg.Rules() {
			if a, ok := r.(*promrules.AlertingRule); ok {
				// As promtool does: no for-state to restore from ALERTS_FOR_STATE.
				a.SetRestored(true)
			}
		}
		e.groups = append(e.groups, lg)
	}
	return e
}

// eval evaluates every group at ts, in file order, and returns the rules'
// evaluation errors.
func (e *engine) eval(ctx context.Context, ts time.Time) error {
	var errs []string
	for _, g := range e.groups {
		g.Eval(ctx, ts)
		for _, r := range g.Rules() {
			if err := r.LastError(); err != nil {
				errs = append(errs, fmt.Sprintf("%s/%s at %s: %v", g.Name(), r.Name(), ts.UTC().Format(time.RFC3339), err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rule evaluation: %s", strings.Join(errs, "; "))
	}
	return nil
}

// firing returns the firing alerts of the alert rule named name, as
// "labels | annotations" strings, sorted.
func (e *engine) firing(name string) []string {
	var out []string
	for _, g := range e.groups {
		for _, r := range g.Rules() {
			a, ok := r.(*promrules.AlertingRule)
			if !ok || a.Name() != name {
				continue
			}
			for _, al := range a.ActiveAlerts() {
				if al.State == promrules.StateFiring {
					out = append(out, al.Labels.String()+" | "+al.Annotations.String())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// firingLabels returns, per alert name, the label sets of its firing alerts.
func (e *engine) firingLabels() map[string][]labels.Labels {
	out := map[string][]labels.Labels{}
	for _, g := range e.groups {
		for _, r := range g.Rules() {
			a, ok := r.(*promrules.AlertingRule)
			if !ok {
				continue
			}
			for _, al := range a.ActiveAlerts() {
				if al.State == promrules.StateFiring {
					out[a.Name()] = append(out[a.Name()], al.Labels)
				}
			}
		}
	}
	return out
}

// TestRuleEngineLoadsFile replaces `promtool check rules`: the pinned rule
// engine loads the file (every expression parsed, every field known), and
// every group carries the query offset it was built with.
func TestRuleEngineLoadsFile(t *testing.T) {
	for _, offset := range []time.Duration{DefaultQueryOffset, 0, 90 * time.Second} {
		t.Run(offset.String(), func(t *testing.T) {
			o := DefaultOptions()
			o.QueryOffset = offset
			f, err := Build(o)
			if err != nil {
				t.Fatal(err)
			}
			e := loadEngine(t, f, func(context.Context, string, time.Time) (promql.Vector, error) { return nil, nil }, nil)
			n := 0
			for i, g := range e.groups {
				n += len(g.Rules())
				want := offset
				if f.Groups[i].Name == "cwstream-sidecar" {
					want = 0
				}
				if got := g.QueryOffset(); got != want {
					t.Errorf("group %s: query offset %v, want %v", g.Name(), got, want)
				}
			}
			if want := ruleCount(f); n != want {
				t.Errorf("engine loaded %d rules, the file has %d", n, want)
			}
		})
	}
}

func ruleCount(f File) int {
	n := 0
	for _, g := range f.Groups {
		n += len(g.Rules)
	}
	return n
}

// TestEveryGroupHasQueryOffset reads the generated text: a group without
// query_offset would take the workspace's offset, which the sidecar group
// must not, and the file must say what it does without the workspace.
func TestEveryGroupHasQueryOffset(t *testing.T) {
	text, err := Text()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []map[string]any `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc.Groups {
		off, ok := g["query_offset"].(string)
		if !ok {
			t.Errorf("group %v has no query_offset", g["name"])
			continue
		}
		d, err := model.ParseDuration(off)
		if err != nil {
			t.Errorf("group %v: query_offset %q: %v", g["name"], off, err)
		}
		if want := map[bool]time.Duration{true: 0, false: DefaultQueryOffset}[g["name"] == "cwstream-sidecar"]; time.Duration(d) != want {
			t.Errorf("group %v: query_offset %v, want %v", g["name"], off, want)
		}
	}
}

// unitFile is promtool's unit test file format, the part the tests use.
type unitFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	Tests              []unitTest     `yaml:"tests"`
}

type unitTest struct {
	Name        string         `yaml:"name"`
	Interval    model.Duration `yaml:"interval"`
	InputSeries []struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	} `yaml:"input_series"`
	AlertRuleTests []struct {
		EvalTime  model.Duration `yaml:"eval_time"`
		Alertname string         `yaml:"alertname"`
		ExpAlerts []struct {
			ExpLabels      map[string]string `yaml:"exp_labels"`
			ExpAnnotations map[string]string `yaml:"exp_annotations"`
		} `yaml:"exp_alerts"`
	} `yaml:"alert_rule_test"`
	PromqlExprTests []struct {
		Expr       string         `yaml:"expr"`
		EvalTime   model.Duration `yaml:"eval_time"`
		ExpSamples []struct {
			Labels string  `yaml:"labels"`
			Value  float64 `yaml:"value"`
		} `yaml:"exp_samples"`
	} `yaml:"promql_expr_test"`
}

// TestRuleUnitTests replaces `promtool test rules`: it runs the unit tests
// of testdata/alerts_test.yaml (promtool's format: input series, alerts
// expected firing at an eval time with their labels and rendered
// annotations, expression values) on the default rule file, query offset
// included, with the pinned rule engine. As in promtool, the groups are
// evaluated every interval from 0, and an alert or an expression is read
// right after the last evaluation at or before its eval_time (promtool
// reads expressions after the last evaluation of all: a recorded series
// would then hold samples stamped after what the test means to read); the
// input series are in storage from the start (arrival is the lag
// simulation's subject).
func TestRuleUnitTests(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var uf unitFile
	if err := yaml.UnmarshalStrict(raw, &uf); err != nil {
		t.Fatalf("alerts_test.yaml: %v", err)
	}
	if time.Duration(uf.EvaluationInterval) != evalInterval {
		t.Fatalf("alerts_test.yaml: evaluation_interval %v, want %v", uf.EvaluationInterval, evalInterval)
	}
	f, err := Build(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, ut := range uf.Tests {
		t.Run(ut.Name, func(t *testing.T) { runUnitTest(t, f, ut) })
	}
}

func runUnitTest(t *testing.T, f File, ut unitTest) {
	var load strings.Builder
	fmt.Fprintf(&load, "load %s\n", ut.Interval)
	for _, s := range ut.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	ll, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true})
	if err != nil {
		t.Fatalf("input series: %v", err)
	}
	t.Cleanup(func() { _ = ll.Close() })
	e := loadEngine(t, f, promrules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()), ll.Storage())

	var last time.Duration
	for _, a := range ut.AlertRuleTests {
		last = max(last, time.Duration(a.EvalTime))
	}
	for _, q := range ut.PromqlExprTests {
		last = max(last, time.Duration(q.EvalTime))
	}
	epoch := time.Unix(0, 0).UTC()
	for at := time.Duration(0); at <= last; at += evalInterval {
		ts := epoch.Add(at)
		var evalErr error
		ll.WithSamplesTill(ts, func(err error) {
			if err != nil {
				evalErr = err
				return
			}
			evalErr = e.eval(ll.Context(), ts)
		})
		if evalErr != nil {
			t.Fatal(evalErr)
		}
		for _, a := range ut.AlertRuleTests {
			if ev := time.Duration(a.EvalTime); ev < at || ev >= at+evalInterval {
				continue
			}
			var want []string
			for _, x := range a.ExpAlerts {
				ls := map[string]string{labels.AlertName: a.Alertname}
				for k, v := range x.ExpLabels {
					ls[k] = v
				}
				want = append(want, labels.FromMap(ls).String()+" | "+labels.FromMap(x.ExpAnnotations).String())
			}
			slices.Sort(want)
			if got := e.firing(a.Alertname); !slices.Equal(got, want) {
				t.Errorf("%s at %s: firing\n  %s\nwant\n  %s", a.Alertname, a.EvalTime, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		}
		checkExprs(t, ll, ut, at)
	}
}

// checkExprs runs the expression tests whose eval_time is at ts, right
// after the evaluation at ts: what a dashboard sees then, recorded series
// included.
func checkExprs(t *testing.T, ll *promqltest.LazyLoader, ut unitTest, at time.Duration) {
	t.Helper()
	epoch := time.Unix(0, 0).UTC()
	for _, q := range ut.PromqlExprTests {
		if ev := time.Duration(q.EvalTime); ev < at || ev >= at+evalInterval {
			continue
		}
		ts := epoch.Add(time.Duration(q.EvalTime))
		qry, err := ll.QueryEngine().NewInstantQuery(ll.Context(), ll.Queryable(), nil, q.Expr, ts)
		if err != nil {
			t.Fatalf("%s: %v", q.Expr, err)
		}
		res := qry.Exec(ll.Context())
		vec, err := res.Vector()
		if err != nil {
			t.Fatalf("%s at %s: %v", q.Expr, q.EvalTime, err)
		}
		got := map[string]float64{}
		for _, s := range vec {
			got[s.Metric.String()] = s.F
		}
		want := map[string]float64{}
		for _, s := range q.ExpSamples {
			m, err := parser.NewParser(parser.Options{}).ParseMetric(s.Labels)
			if err != nil {
				t.Fatalf("%s: labels %q: %v", q.Expr, s.Labels, err)
			}
			want[m.String()] = s.Value
		}
		if !sameValues(got, want) {
			t.Errorf("%s at %s = %v, want %v", q.Expr, q.EvalTime, got, want)
		}
	}
}

// sameValues compares two label-set → value maps, values to 1e-12
// relative (a ratio computed in another order differs in the last bit).
func sameValues(got, want map[string]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
			return false
		}
	}
	return true
}
