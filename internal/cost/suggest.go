package cost

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/streamsel"
	"github.com/cwstream/cwstream/internal/tags"
)

// Suggestion is what dashboards and rules read, resolved to CloudWatch.
type Suggestion struct {
	// Stats lists every statistic read, sorted by metric and name.
	Stats []Stat
	// Presence lists the queries whose selectors match every series name
	// the payloads produce (such as {__name__=~"aws_.+"}): they ask
	// whether data arrives, which any kept series answers, so they do not
	// keep everything.
	Presence []string
	// Unknown lists series names read that the payloads do not produce:
	// metrics the payloads lack, or names not written by cwstream.
	Unknown []string
}

// infoNames are the series names of the tag enrichment's info series.
var infoNames = func() []string {
	var out []string
	for _, ns := range tags.Namespaces() {
		out = append(out, tags.InfoName(ns))
	}
	return out
}()

// Suggest resolves what r reads against names, the series names a stream
// produces (Traffic.Names). Expressions are parsed with Prometheus's PromQL
// parser after Substitute; a name matcher is resolved against names, so
// regular expressions over names are followed exactly; a recording rule's
// series stands for what its expression reads; the tag enrichment's info
// series are cwstream's own and suggest nothing.
func Suggest(r Reads, names map[string]Stat) (Suggestion, error) {
	p := parser.NewParser(parser.Options{})
	read := map[string]bool{}
	unknown := map[string]bool{}
	var presence []string
	visiting := map[string]bool{}

	var visit func(src, expr string) error
	visit = func(src, expr string) error {
		e, err := p.ParseExpr(Substitute(expr))
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", src, err, expr)
		}
		var errs []error
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			var nameMatchers []*labels.Matcher
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName {
					nameMatchers = append(nameMatchers, m)
				}
			}
			matches := func(name string) bool {
				for _, m := range nameMatchers {
					if !m.Matches(name) {
						return false
					}
				}
				return true
			}
			// Recording rules first: their series are not streamed.
			recorded := false
			for rec, recExpr := range r.Records {
				if !matches(rec) {
					continue
				}
				recorded = true
				if visiting[rec] {
					continue // a rule reading itself (or a cycle) adds nothing
				}
				visiting[rec] = true
				if err := visit(src+" → "+rec, recExpr); err != nil {
					errs = append(errs, err)
				}
			}
			var hit []string
			for name := range names {
				if matches(name) {
					hit = append(hit, name)
				}
			}
			switch {
			case len(names) > 0 && len(hit) == len(names):
				presence = append(presence, src+": "+vs.String())
			case len(hit) > 0:
				for _, name := range hit {
					read[name] = true
				}
			case !recorded && slices.ContainsFunc(infoNames, matches):
				// The tag enrichment's info series (internal/tags): written
				// by cwstream itself, not streamed, so nothing to suggest.
			case !recorded:
				if vs.Name != "" {
					unknown[vs.Name] = true
				} else {
					unknown[vs.String()] = true
				}
			}
			return nil
		})
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	}
	for _, q := range r.Queries {
		if err := visit(q.Source, q.Expr); err != nil {
			return Suggestion{}, err
		}
	}
	var s Suggestion
	for name := range read {
		s.Stats = append(s.Stats, names[name])
	}
	slices.SortFunc(s.Stats, func(a, b Stat) int {
		return cmp.Or(cmp.Compare(a.Metric.Namespace, b.Metric.Namespace), cmp.Compare(a.Metric.Name, b.Metric.Name), cmp.Compare(a.Name, b.Name))
	})
	slices.Sort(presence)
	s.Presence = slices.Compact(presence)
	s.Unknown = slices.Sorted(maps.Keys(unknown))
	return s, nil
}

// Metrics returns the metrics read, sorted.
func (s Suggestion) Metrics() []Metric {
	var out []Metric
	for _, st := range s.Stats {
		if len(out) == 0 || out[len(out)-1] != st.Metric {
			out = append(out, st.Metric)
		}
	}
	return out
}

// Filter returns the metric stream selection that carries what is read.
func (s Suggestion) Filter() Filter {
	f := Filter{Include: map[Metric]bool{}, Percentiles: map[Metric][]string{}}
	for _, st := range s.Stats {
		f.Include[st.Metric] = true
		if st.Q != 0 {
			f.Percentiles[st.Metric] = append(f.Percentiles[st.Metric], st.Name)
		}
	}
	return f
}

// StreamFilter is the metric stream part of an environment in cdk.json
// (infra's StreamConfig): include filters with metric names, and the
// additional statistics per metric.
type StreamFilter struct {
	IncludeFilters       []NamespaceFilter     `json:"includeFilters"`
	AdditionalStatistics []StatisticsSelection `json:"additionalStatistics,omitempty"`
}

// The selection types are the CDK app's own (package streamsel), so what
// --suggest prints is what cdk.json takes.
type (
	NamespaceFilter     = streamsel.NamespaceFilter
	StatisticsSelection = streamsel.StatisticsSelection
	MetricRef           = streamsel.MetricRef
)

// StreamFilter returns the stream settings, in the shape of cdk.json.
func (s Suggestion) StreamFilter() StreamFilter {
	var out StreamFilter
	pct := map[Metric][]string{}
	for _, st := range s.Stats {
		if n := len(out.IncludeFilters); n == 0 || out.IncludeFilters[n-1].Namespace != st.Metric.Namespace {
			out.IncludeFilters = append(out.IncludeFilters, NamespaceFilter{Namespace: st.Metric.Namespace})
		}
		f := &out.IncludeFilters[len(out.IncludeFilters)-1]
		if k := len(f.MetricNames); k == 0 || f.MetricNames[k-1] != st.Metric.Name {
			f.MetricNames = append(f.MetricNames, st.Metric.Name)
		}
		if st.Q != 0 {
			pct[st.Metric] = append(pct[st.Metric], st.CloudWatchName())
		}
	}
	// One selection per distinct set of statistics.
	bySet := map[string]*StatisticsSelection{}
	for _, m := range s.Metrics() {
		stats := pct[m]
		if len(stats) == 0 {
			continue
		}
		slices.Sort(stats)
		key := strings.Join(stats, ",")
		sel, ok := bySet[key]
		if !ok {
			sel = &StatisticsSelection{Statistics: stats}
			bySet[key] = sel
		}
		sel.Metrics = append(sel.Metrics, MetricRef{Namespace: m.Namespace, MetricName: m.Name})
	}
	for _, k := range slices.Sorted(maps.Keys(bySet)) {
		out.AdditionalStatistics = append(out.AdditionalStatistics, *bySet[k])
	}
	return out
}

// Config returns base changed to write exactly what is read: the basic
// statistics and percentiles read, and a keep rule for the names read
// after base's own relabel rules. External labels stay.
func (s Suggestion) Config(base *config.Config) (*config.Config, error) {
	var stats, pcts, names []string
	for _, st := range s.Stats {
		names = append(names, naming.Name(st.Metric.Namespace, st.Metric.Name, st.Name))
		if st.Q != 0 {
			pcts = append(pcts, st.Name)
		} else {
			stats = append(stats, st.Name)
		}
	}
	// Statistics in naming's order, as the defaults list them.
	var ordered []string
	for _, st := range naming.StatisticNames() {
		if slices.Contains(stats, st) {
			ordered = append(ordered, st)
		}
	}
	if len(ordered) == 0 {
		return nil, fmt.Errorf("suggest: the dashboards and rules read none of the series the payloads produce: a stream of these metrics serves nothing they show")
	}
	slices.Sort(pcts)
	pcts = slices.Compact(pcts)
	slices.Sort(names)

	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	rule := fmt.Sprintf("source_labels: [__name__]\nregex: %q\naction: keep\n", strings.Join(quoted, "|"))
	var keep any
	if err := yaml.Unmarshal([]byte(rule), &keep); err != nil {
		return nil, err
	}
	doc := map[string]any{"statistics": ordered, "percentiles": pcts}
	if len(base.ExternalLabels) > 0 {
		doc["external_labels"] = base.ExternalLabels
	}
	if base.Tags.Enabled {
		doc["tags"] = base.Tags
	}
	var rules []any
	for _, rc := range base.RelabelConfigs {
		b, err := yaml.Marshal(rc)
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		rules = append(rules, v)
	}
	doc["relabel_configs"] = append(rules, keep)
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return config.Parse(b)
}

// ConfigYAML renders c as the configuration file text.
func ConfigYAML(c *config.Config) ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("suggest: encode configuration: %w", err)
	}
	return b, nil
}

// MarshalIndent renders the stream settings as indented JSON.
func (f StreamFilter) MarshalIndent() ([]byte, error) {
	return json.MarshalIndent(f, "", "  ")
}
