// Package series turns CloudWatch metric updates into labelled Prometheus
// samples: one gauge sample per statistic, named by the naming contract,
// labelled with the dimensions, account_id, region and the external labels,
// then relabelled with the configured Prometheus relabel rules.
//
// It is the hot path between the decoder and the remote write, so the work
// for a series is done once, not once per sample: the Builder keeps, per
// input series (namespace, metric, account, region, dimensions), what each
// statistic becomes after naming and relabelling (see cache.go). A datapoint
// of a series seen before costs one map lookup and no allocation; the rules
// run again only for a series new to the cache. The relabel semantics are
// Prometheus's own (model/relabel): the cache only remembers their result,
// which depends on nothing but the input labels.
package series

import (
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/sample"
)

// maxCachedQuantiles bounds the percentile decisions kept: streams ask for
// a handful of percentiles, so more is hostile input, decided uncached.
const maxCachedQuantiles = 1024

// Stats counts what a Builder did since it was made.
type Stats struct {
	Datapoints     int // updates seen
	Samples        int // samples appended
	DroppedRelabel int // samples a relabel rule dropped
	DroppedNoName  int // samples whose __name__ a relabel rule removed
	Skipped        int // statistics the configuration does not emit (not lost: unwanted)
}

// Builder builds samples. It is not safe for concurrent use.
//
// The samples it returns own their strings and label slices (they alias
// neither the decoder's input nor each other's memory beyond what one series
// shares), so they stay valid after the input is reused.
type Builder struct {
	cfg     *config.Config
	names   *naming.Cache
	ext     []sample.Label // external labels, sorted
	emit    [len(naming.Statistics)]bool
	keepPct map[float64]bool
	relabel []*relabel.Config

	cache cache

	// Scratch.
	key     []byte
	fields  []string
	lbls    []sample.Label
	lb      *labels.Builder
	name    string
	collect func(labels.Label)
	spare   result // a quantile's result when its series keeps no more

	stats Stats
}

// New returns a Builder for cfg, which must be valid (config.Parse
// validates).
func New(cfg *config.Config) *Builder {
	b := &Builder{
		cfg:     cfg,
		names:   naming.NewCache(),
		keepPct: make(map[float64]bool),
		relabel: cfg.RelabelConfigs,
		cache:   newCache(defaultCacheSeries, defaultCacheBytes),
		lb:      labels.NewBuilder(labels.EmptyLabels()),
	}
	b.collect = b.collectLabel
	for name, value := range cfg.ExternalLabels {
		b.ext = append(b.ext, sample.Label{Name: name, Value: value})
	}
	slices.SortFunc(b.ext, func(x, y sample.Label) int { return strings.Compare(x.Name, y.Name) })
	for _, s := range naming.Statistics {
		b.emit[s] = cfg.Emits(s)
	}
	return b
}

// Stats returns the counts so far.
func (b *Builder) Stats() Stats { return b.stats }

// Append appends the samples of u to dst and returns the extended slice.
func (b *Builder) Append(dst []sample.Sample, u *cw.Update) []sample.Sample {
	b.stats.Datapoints++
	e := b.entry(u)
	t := u.TimestampMillis()
	if u.HasMin {
		dst = b.add(dst, b.statResult(e, naming.Minimum), t, u.Min)
	}
	if u.HasMax {
		dst = b.add(dst, b.statResult(e, naming.Maximum), t, u.Max)
	}
	dst = b.add(dst, b.statResult(e, naming.Sum), t, u.Sum)
	dst = b.add(dst, b.statResult(e, naming.SampleCount), t, u.Count)
	if u.Count > 0 {
		dst = b.add(dst, b.statResult(e, naming.Average), t, u.Sum/u.Count)
	}
	for _, q := range u.Percentiles {
		dst = b.add(dst, b.pctResult(e, q.Q), t, q.Value)
	}
	return dst
}

// add appends the sample r says a statistic becomes, or counts why there
// is none.
func (b *Builder) add(dst []sample.Sample, r *result, t int64, v float64) []sample.Sample {
	switch r.outcome {
	case skipped:
		b.stats.Skipped++
	case droppedByRule:
		b.stats.DroppedRelabel++
	case droppedNoName:
		b.stats.DroppedNoName++
	default:
		b.stats.Samples++
		dst = append(dst, sample.Sample{Name: r.name, Labels: r.labels, Hash: r.hash, T: t, V: v})
	}
	return dst
}

// entry returns the cache entry of u's series, making it on a miss.
func (b *Builder) entry(u *cw.Update) *entry {
	b.key = appendKey(b.key[:0], u)
	if e := b.cache.get(b.key); e != nil {
		return e
	}
	key := string(b.key)
	b.fields = splitKey(b.fields[:0], key)
	e := &entry{key: key, names: b.names.Metric(u.Namespace, u.MetricName)}
	e.labels = b.seriesLabels(b.fields)
	e.size = entrySize(e)
	b.cache.put(e)
	return e
}

// seriesLabels returns the sorted labels of a series from its key's fields, in a
// slice of their own. The values are substrings of the key, which the cache
// owns, so they do not alias the decoder's input.
func (b *Builder) seriesLabels(f []string) []sample.Label {
	l := b.lbls[:0]
	if f[keyAccount] != "" {
		l = append(l, sample.Label{Name: naming.LabelAccountID, Value: f[keyAccount]})
	}
	if f[keyRegion] != "" {
		l = append(l, sample.Label{Name: naming.LabelRegion, Value: f[keyRegion]})
	}
	for i := keyDimensions; i+1 < len(f); i += 2 {
		// An empty value is no label in Prometheus; sending one only
		// risks a rejection.
		if f[i+1] != "" {
			l = append(l, sample.Label{Name: b.names.Label(f[i]), Value: f[i+1]})
		}
	}
	l = append(l, b.ext...)
	sortLabels(l)
	b.lbls = l
	return slices.Clone(l)
}

// statResult returns what basic statistic s of e's series becomes,
// working it out the first time.
func (b *Builder) statResult(e *entry, s naming.Statistic) *result {
	r := &e.stat[s]
	if !r.done {
		if b.emit[s] {
			b.remember(e, r, e.names.Stat[s])
		} else {
			*r = result{outcome: skipped}
		}
		r.done = true
	}
	return r
}

// pctResult returns what quantile q of e's series becomes.
func (b *Builder) pctResult(e *entry, q float64) *result {
	for i := range e.pcts {
		if e.pcts[i].q == q {
			return &e.pcts[i].result
		}
	}
	if len(e.pcts) == maxCachedPercentiles {
		// Hostile input: decided again next time.
		b.spare = result{outcome: skipped, done: true}
		if b.keepsPercentile(q) {
			b.spare, _ = b.resolve(e, e.names.Percentile(q))
			b.spare.done = true
		}
		return &b.spare
	}
	grown := cap(e.pcts)
	e.pcts = append(e.pcts, pctResult{q: q, result: result{outcome: skipped}})
	b.cache.grow(e, (cap(e.pcts)-grown)*pctSize)
	r := &e.pcts[len(e.pcts)-1].result
	if b.keepsPercentile(q) {
		b.remember(e, r, e.names.Percentile(q))
	}
	r.done = true
	return r
}

func (b *Builder) keepsPercentile(q float64) bool {
	keep, ok := b.keepPct[q]
	if !ok {
		keep = b.cfg.KeepsPercentile(naming.Percentile(q))
		if len(b.keepPct) < maxCachedQuantiles {
			b.keepPct[q] = keep
		}
	}
	return keep
}

// remember resolves the sample named name of e's series into r, which e
// holds, and counts what that adds to e's size.
func (b *Builder) remember(e *entry, r *result, name string) {
	var own bool
	*r, own = b.resolve(e, name)
	b.cache.grow(e, resultSize(e, r, name, own))
}

// resolve works out what the sample named name of e's series becomes:
// relabelled with the rules when there are any. own reports whether the
// result's labels are a slice of their own, not one e already holds.
func (b *Builder) resolve(e *entry, name string) (r result, own bool) {
	if len(b.relabel) == 0 {
		return result{name: name, labels: e.labels, hash: sample.SeriesHash(name, e.labels)}, false
	}
	b.lb.Reset(labels.EmptyLabels())
	b.lb.Set(labels.MetricName, name)
	for _, l := range e.labels {
		b.lb.Set(l.Name, l.Value)
	}
	if !relabel.ProcessBuilder(b.lb, b.relabel...) {
		return result{outcome: droppedByRule}, false
	}
	b.lbls, b.name = b.lbls[:0], ""
	b.lb.Range(b.collect)
	if b.name == "" {
		return result{outcome: droppedNoName}, false
	}
	sortLabels(b.lbls)
	// The statistics of one series mostly relabel alike: share their label
	// slice rather than keep a copy per statistic.
	lbls := e.sameLabels(b.lbls)
	if own = lbls == nil; own {
		lbls = slices.Clone(b.lbls)
	}
	return result{name: b.name, labels: lbls, hash: sample.SeriesHash(b.name, lbls)}, own
}

// collectLabel gathers the relabelled labels; it is stored as b.collect
// once so that passing it to Range allocates nothing.
func (b *Builder) collectLabel(l labels.Label) {
	if l.Name == labels.MetricName {
		b.name = l.Value
		return
	}
	b.lbls = append(b.lbls, sample.Label{Name: l.Name, Value: l.Value})
}

// sortLabels sorts a handful of labels by name with an insertion sort,
// which allocates nothing.
func sortLabels(l []sample.Label) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].Name < l[j-1].Name; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}
