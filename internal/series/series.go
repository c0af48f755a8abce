// Package series turns CloudWatch metric updates into labelled Prometheus
// samples: one gauge sample per statistic, named by the naming contract,
// labelled with the dimensions, account_id, region and the external labels,
// then relabelled with the configured Prometheus relabel rules.
//
// It is the hot path between the decoder and the remote-write client, so it
// avoids per-datapoint allocation: names come from a naming.Cache, label
// slices are cut from reused chunks, and label values alias the update's
// strings (and so the decoder's input) instead of being copied.
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

// Label names cwstream sets besides the dimensions.
const (
	LabelAccountID = "account_id"
	LabelRegion    = "region"
)

// maxCachedQuantiles bounds the percentile decisions kept: streams ask for
// a handful of percentiles, so more is hostile input, decided uncached.
const maxCachedQuantiles = 1024

// chunkLabels is the size of one label chunk; a datapoint with more labels
// than this gets a chunk of its own.
const chunkLabels = 4096

// Stats counts what a Builder did since it was made.
type Stats struct {
	Datapoints     int // updates seen
	Samples        int // samples appended
	DroppedRelabel int // samples a relabel rule dropped
	DroppedNoName  int // samples whose __name__ a relabel rule removed
	Skipped        int // statistics the configuration does not emit (not lost: unwanted)
}

// Builder builds samples. It is not safe for concurrent use.
type Builder struct {
	cfg     *config.Config
	names   *naming.Cache
	ext     []sample.Label // external labels, sorted
	emit    [len(naming.Statistics)]bool
	keepPct map[float64]bool
	relabel []*relabel.Config

	chunks [][]sample.Label // label chunks; chunks[cur][used:] is free
	cur    int
	used   int

	lbls []sample.Label // scratch: one datapoint's labels before sorting

	// Relabel scratch.
	lb      *labels.Builder
	name    string
	collect func(labels.Label)

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
		lb:      labels.NewBuilder(labels.EmptyLabels()),
	}
	b.collect = b.collectLabel
	for name, value := range cfg.ExternalLabels {
		b.ext = append(b.ext, sample.Label{Name: name, Value: value})
	}
	slices.SortFunc(b.ext, func(x, y sample.Label) int { return strings.Compare(x.Name, y.Name) })
	for i, s := range naming.Statistics {
		b.emit[i] = cfg.Emits(s)
	}
	return b
}

// Stats returns the counts so far.
func (b *Builder) Stats() Stats { return b.stats }

// Reset lets the Builder reuse its label memory. Call it only when no
// sample appended before is used any more.
func (b *Builder) Reset() {
	b.cur, b.used = 0, 0
}

// Append appends the samples of u to dst and returns the extended slice.
// The samples' strings alias u's strings: they stay valid as long as the
// input u was decoded from is left unchanged.
func (b *Builder) Append(dst []sample.Sample, u *cw.Update) []sample.Sample {
	b.stats.Datapoints++
	names := b.names.Metric(u.Namespace, u.MetricName)
	lbls := b.labels(u)
	t := u.TimestampMillis()
	n0 := len(dst)

	add := func(stat int, v float64) {
		if !b.emit[stat] {
			b.stats.Skipped++
			return
		}
		dst = append(dst, sample.Sample{Name: names.Stat[stat], Labels: lbls, T: t, V: v})
	}
	if u.HasMin {
		add(0, u.Min)
	}
	if u.HasMax {
		add(1, u.Max)
	}
	add(2, u.Sum)
	add(3, u.Count)
	if u.Count > 0 {
		add(4, u.Sum/u.Count)
	}
	for _, q := range u.Percentiles {
		if !b.keepsPercentile(q.Q) {
			b.stats.Skipped++
			continue
		}
		dst = append(dst, sample.Sample{Name: names.Percentile(q.Q), Labels: lbls, T: t, V: q.Value})
	}
	if len(b.relabel) > 0 {
		dst = b.applyRelabel(dst, n0)
	}
	b.stats.Samples += len(dst) - n0
	return dst
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

// labels returns u's labels, sorted by name, in a slice cut from a chunk.
func (b *Builder) labels(u *cw.Update) []sample.Label {
	l := b.lbls[:0]
	if u.AccountID != "" {
		l = append(l, sample.Label{Name: LabelAccountID, Value: u.AccountID})
	}
	if u.Region != "" {
		l = append(l, sample.Label{Name: LabelRegion, Value: u.Region})
	}
	for _, d := range u.Dimensions {
		// An empty value is no label in Prometheus; sending one only
		// risks a rejection.
		if d.Value != "" {
			l = append(l, sample.Label{Name: b.names.Label(d.Name), Value: d.Value})
		}
	}
	l = append(l, b.ext...)
	sortLabels(l)
	b.lbls = l
	out := b.alloc(len(l))
	copy(out, l)
	return out
}

// alloc cuts n labels from the chunks. Chunks are never grown in place, so
// slices handed out earlier stay valid until Reset.
func (b *Builder) alloc(n int) []sample.Label {
	for {
		if b.cur < len(b.chunks) {
			c := b.chunks[b.cur]
			if b.used+n <= len(c) {
				out := c[b.used : b.used+n : b.used+n]
				b.used += n
				return out
			}
			b.cur++
			b.used = 0
			continue
		}
		b.chunks = append(b.chunks, make([]sample.Label, max(chunkLabels, n)))
	}
}

// applyRelabel relabels the samples dst[from:] in place and removes the
// dropped ones. Each sample's labels may now differ from its siblings', so
// each gets its own slice.
//
// The labels go into a labels.Builder with Set and come out with Range, so
// no labels.Labels is built: with Prometheus's default string-backed labels
// that saves two allocations per sample.
func (b *Builder) applyRelabel(dst []sample.Sample, from int) []sample.Sample {
	out := dst[:from]
	for _, s := range dst[from:] {
		b.lb.Reset(labels.EmptyLabels())
		b.lb.Set(labels.MetricName, s.Name)
		for _, l := range s.Labels {
			b.lb.Set(l.Name, l.Value)
		}
		if !relabel.ProcessBuilder(b.lb, b.relabel...) {
			b.stats.DroppedRelabel++
			continue
		}
		b.lbls, b.name = b.lbls[:0], ""
		b.lb.Range(b.collect)
		if b.name == "" {
			b.stats.DroppedNoName++
			continue
		}
		sortLabels(b.lbls)
		lbls := b.alloc(len(b.lbls))
		copy(lbls, b.lbls)
		out = append(out, sample.Sample{Name: b.name, Labels: lbls, T: s.T, V: s.V})
	}
	return out
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
