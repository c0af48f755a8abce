// Package cardinality summarises what a set of samples would add to a
// Prometheus store: how many datapoints, series and samples, which metric
// names carry the most series, which labels have the most values, and what
// relabelling dropped. It is what `cwstream dryrun --summary` prints.
package cardinality

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/series"
)

// Report accumulates samples. The zero value is not ready; use New.
type Report struct {
	samples int
	series  map[string]struct{}            // identity of each series
	byName  map[string]int                 // metric name → series
	values  map[string]map[string]struct{} // label name → values seen
	key     []byte
}

// New returns an empty report.
func New() *Report {
	return &Report{
		series: make(map[string]struct{}),
		byName: make(map[string]int),
		values: make(map[string]map[string]struct{}),
	}
}

// Add counts samples. It copies what it keeps, so the samples may alias
// memory that is reused afterwards.
func (r *Report) Add(samples []sample.Sample) {
	for _, s := range samples {
		r.samples++
		r.key = append(r.key[:0], s.Name...)
		for _, l := range s.Labels {
			r.key = append(r.key, 0xff)
			r.key = append(r.key, l.Name...)
			r.key = append(r.key, 0xfe)
			r.key = append(r.key, l.Value...)
		}
		if _, ok := r.series[string(r.key)]; ok {
			continue
		}
		r.series[string(r.key)] = struct{}{}
		r.byName[strings.Clone(s.Name)]++
		for _, l := range s.Labels {
			vs, ok := r.values[l.Name]
			if !ok {
				vs = make(map[string]struct{})
				r.values[strings.Clone(l.Name)] = vs
			}
			if _, ok := vs[l.Value]; !ok {
				vs[strings.Clone(l.Value)] = struct{}{}
			}
		}
	}
}

// Series returns the number of distinct series seen.
func (r *Report) Series() int { return len(r.series) }

// Samples returns the number of samples seen.
func (r *Report) Samples() int { return r.samples }

type count struct {
	name string
	n    int
}

func top(m map[string]int, n int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	slices.SortFunc(out, func(a, b count) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name, b.name))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Write prints the report; stats are the series builder's counts and
// limit bounds each top-N list.
func (r *Report) Write(w io.Writer, stats series.Stats, limit int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "datapoints: %d\nseries:     %d\nsamples:    %d\nmetric names: %d\n", stats.Datapoints, len(r.series), r.samples, len(r.byName))
	fmt.Fprintf(&b, "dropped by relabelling: %d samples", stats.DroppedRelabel)
	if stats.DroppedNoName > 0 {
		fmt.Fprintf(&b, " (+%d left without a name)", stats.DroppedNoName)
	}
	fmt.Fprintf(&b, "\nstatistics not emitted by configuration: %d\n", stats.Skipped)

	fmt.Fprintf(&b, "\nseries per metric name (top %d):\n", limit)
	for _, c := range top(r.byName, limit) {
		fmt.Fprintf(&b, "  %6d  %s\n", c.n, c.name)
	}
	distinct := make(map[string]int, len(r.values))
	for name, vs := range r.values {
		distinct[name] = len(vs)
	}
	fmt.Fprintf(&b, "\nlabels with the most values (top %d):\n", limit)
	for _, c := range top(distinct, limit) {
		examples := slices.Sorted(maps.Keys(r.values[c.name]))
		if len(examples) > 3 {
			examples = examples[:3]
		}
		fmt.Fprintf(&b, "  %6d  %s (e.g. %s)\n", c.n, c.name, quoteAll(examples))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
