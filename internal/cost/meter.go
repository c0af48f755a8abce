package cost

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/tags"
)

// FirehoseRecordUnit is the size Firehose rounds each record up to when it
// bills ingestion: 5 KB, which its pricing page spells out as 5,120 bytes.
const FirehoseRecordUnit = 5 << 10

// Metric names one CloudWatch metric.
type Metric struct {
	Namespace, Name string
}

// Filter is a metric stream's selection: include filters and additional
// statistics. The zero Filter streams everything the payloads hold.
type Filter struct {
	// Include lists the metrics streamed; nil streams every metric.
	Include map[Metric]bool
	// Percentiles lists, per metric, the percentiles streamed (as in
	// naming.Percentile: "p99", "p99_9"); a metric absent from a non-nil
	// map streams none. Nil streams every percentile the payloads hold.
	Percentiles map[Metric][]string
}

func (f Filter) includes(m Metric) bool { return f.Include == nil || f.Include[m] }

func (f Filter) keepsPercentile(m Metric, q float64) bool {
	return f.Percentiles == nil || slices.Contains(f.Percentiles[m], naming.Percentile(q))
}

// Traffic is what recorded payloads show of a stream.
type Traffic struct {
	// Minutes is the number of distinct minutes of CloudWatch timestamps
	// (period ends) the updates fall in: the time the payloads cover.
	Minutes int
	// Records is the number of Firehose records; Malformed how many of
	// them could not be decoded completely (their good frames still count).
	Records, Malformed int
	// Bytes is the records' size; BilledBytes their size with each record
	// rounded up to FirehoseRecordUnit, as Firehose bills ingestion. With
	// a Filter, both are scaled per record by the share of its updates the
	// filter keeps (the records of a filtered stream are smaller).
	Bytes, BilledBytes float64
	// Updates is the number of metric updates (datapoints), one per
	// metric, dimension set and minute, zero-count ones included.
	// BilledUpdates adds one per started group of five additional
	// statistics (percentiles) of an update, as metric streams bill them.
	Updates, BilledUpdates int
	// Samples is the number of samples written after the configuration;
	// Series the number of distinct series among them and SeriesBytes the
	// bytes of their names and labels (what AMP stores once per series).
	Samples, Series int
	SeriesBytes     int
	// RemoteWriteBytes is the size of the remote-write request bodies
	// (prompb.WriteRequest, snappy-compressed) that carry the samples, each
	// record's samples encoded as one request: what passes through an AMP
	// interface endpoint. The Lambda batches a whole invocation into
	// requests of up to 2,000 samples, where a series' samples share one
	// label set and snappy sees more repetition, so this errs on the high
	// side; HTTP headers, SigV4 and TLS framing are not counted. It is
	// measured only when asked (Meter.MeasureRemoteWrite), since encoding
	// and compressing about doubles a record's metering time;
	// RemoteWriteMeasured says whether it was.
	RemoteWriteBytes    float64
	RemoteWriteMeasured bool
	// ConvertTime is the in-process time spent converting the records.
	ConvertTime time.Duration
	// Names maps every series name the payloads can produce (every
	// statistic and percentile streamed, before the configuration) to its
	// CloudWatch metric and statistic: what Suggest resolves queries with.
	Names map[string]Stat
	// TagResources counts, per lookup, the resources the payloads carry
	// whose tags the enrichment looks up (internal/tags), and TagRefresh
	// is its refresh interval; 0 when the configuration has it off. A
	// lookup covers a region ("eu-west-1"), or with tags.role_arn an
	// account's region ("123456789012 eu-west-1"), TagAccounts then true.
	TagResources map[string]int
	TagRefresh   time.Duration
	TagAccounts  bool
}

// Stat is one statistic of one CloudWatch metric.
type Stat struct {
	Metric Metric
	// Name is the statistic as a series name ends: minimum, maximum, sum,
	// sample_count, average, or a percentile such as p99 or p99_9.
	Name string
	// Q is the percentile's quantile (0.99), 0 for a basic statistic.
	Q float64
}

// CloudWatchName is the statistic as CloudWatch spells it in additional
// statistics (p99, p99.9); empty for a basic statistic.
func (s Stat) CloudWatchName() string {
	if s.Q == 0 {
		return ""
	}
	return "p" + strconv.FormatFloat(math.Round(s.Q*100*1e6)/1e6, 'f', -1, 64)
}

// PerMinute returns v per distinct minute of the traffic.
func (t Traffic) PerMinute(v float64) float64 {
	if t.Minutes == 0 {
		return 0
	}
	return v / float64(t.Minutes)
}

// Meter measures traffic record by record. It is not safe for concurrent
// use.
type Meter struct {
	filter  Filter
	conv    *convert.Converter
	dec     decode.Decoder
	now     func() time.Time
	minutes map[uint64]bool
	series  map[string]bool
	names   map[string]Stat
	seen    map[metricQ]bool
	samples []sample.Sample
	t       Traffic
	key     []byte
	tagIDs  map[string]map[string]bool // lookup (see Traffic.TagResources) → resource ids (tags on)
	ids     []string
	wr      prompb.WriteRequest // reused: the request a record's samples make
	raw     []byte              // its encoding, reused
	body    []byte              // snappy-compressed, reused
}

// NewMeter returns a Meter for the configuration cfg (valid) and the
// stream selection f. The samples are cfg's: f changes what the stream is
// billed for, so pair a Filter with a configuration that drops what it
// excludes (as Suggestion.Config does).
func NewMeter(cfg *config.Config, f Filter) *Meter {
	return &Meter{
		filter:  f,
		conv:    convert.New(cfg),
		now:     time.Now,
		minutes: map[uint64]bool{},
		series:  map[string]bool{},
		names:   map[string]Stat{},
		seen:    map[metricQ]bool{},
		tagIDs:  tagIDs(cfg),
		t:       Traffic{TagRefresh: tagRefresh(cfg), TagAccounts: cfg.Tags.Enabled && cfg.Tags.RoleARN != ""},
	}
}

func tagIDs(cfg *config.Config) map[string]map[string]bool {
	if !cfg.Tags.Enabled {
		return nil
	}
	return map[string]map[string]bool{}
}

func tagRefresh(cfg *config.Config) time.Duration {
	if !cfg.Tags.Enabled {
		return 0
	}
	return time.Duration(cfg.Tags.Refresh)
}

// Add measures one Firehose record's data. On malformed data it counts
// the frames before the bad one, as dryrun shows them, and returns the
// decoder's error. (The Lambda writes none of a malformed record's samples:
// the record goes to S3 whole, so the estimate errs on the high side.)
func (m *Meter) Add(data []byte) error {
	m.t.Records++
	all, kept := 0, 0
	derr := m.dec.Decode(data, func(u *cw.Update) error {
		all++
		metric := Metric{u.Namespace, u.MetricName}
		m.learn(metric, u)
		if m.tagIDs != nil {
			m.countResources(u)
		}
		if !m.filter.includes(metric) {
			return nil
		}
		kept++
		m.minutes[u.EndUnixNano/uint64(time.Minute)] = true
		extra := 0
		for _, p := range u.Percentiles {
			if m.filter.keepsPercentile(metric, p.Q) {
				extra++
			}
		}
		m.t.Updates++
		m.t.BilledUpdates += 1 + (extra+4)/5
		return nil
	})
	// A record that yields no update is still billed when the stream
	// is unfiltered; a filtered stream would not have sent it.
	share := 1.0
	if all > 0 {
		share = float64(kept) / float64(all)
	} else if m.filter.Include != nil {
		share = 0
	}
	if share > 0 {
		size := share * float64(len(data))
		m.t.Bytes += size
		m.t.BilledBytes += math.Ceil(size/FirehoseRecordUnit) * FirehoseRecordUnit
	}

	start := m.now()
	var err error
	m.samples, _, err = m.conv.Record(m.samples[:0], data)
	m.t.ConvertTime += m.now().Sub(start)
	for _, s := range m.samples {
		m.t.Samples++
		m.key = appendSeriesKey(m.key[:0], s)
		if !m.series[string(m.key)] {
			m.series[string(m.key)] = true
			m.t.Series++
			m.t.SeriesBytes += len(m.key)
		}
	}
	if m.t.RemoteWriteMeasured && len(m.samples) > 0 {
		m.t.RemoteWriteBytes += float64(m.requestSize(m.samples))
	}
	if derr == nil {
		derr = err
	}
	if derr != nil {
		m.t.Malformed++
		return derr
	}
	return nil
}

// MeasureRemoteWrite makes m count Traffic.RemoteWriteBytes, which the
// interface endpoints item needs; call it before the first Add.
func (m *Meter) MeasureRemoteWrite() {
	m.t.RemoteWriteMeasured = true
}

// requestSize returns the compressed size of samples as one remote-write
// request, one series per sample (a record holds one minute of each
// update, so a series rarely has two samples in it). prompb's own
// marshalling keeps the count independent of the Lambda's hand encoder
// (internal/remotewrite), which writes the same messages.
func (m *Meter) requestSize(samples []sample.Sample) int {
	ts := m.wr.Timeseries[:0]
	for _, s := range samples {
		var series prompb.TimeSeries
		if len(ts) < cap(ts) {
			series = ts[:len(ts)+1][len(ts)]
		}
		series.Labels = append(series.Labels[:0], prompb.Label{Name: model.MetricNameLabel, Value: s.Name})
		for _, l := range s.Labels {
			series.Labels = append(series.Labels, prompb.Label{Name: l.Name, Value: l.Value})
		}
		series.Samples = append(series.Samples[:0], prompb.Sample{Value: s.V, Timestamp: s.T})
		ts = append(ts, series)
	}
	m.wr.Timeseries = ts
	n := m.wr.Size()
	if cap(m.raw) < n {
		m.raw = make([]byte, n)
	}
	raw := m.raw[:n]
	if _, err := m.wr.MarshalToSizedBuffer(raw); err != nil {
		panic("cost: marshalling a remote-write request: " + err.Error()) // sized above: cannot fail
	}
	if k := snappy.MaxEncodedLen(n); cap(m.body) < k {
		m.body = make([]byte, k)
	}
	return len(snappy.Encode(m.body[:cap(m.body)], raw))
}

// learn records the names every statistic of u's metric would get, once
// per metric and percentile: naming builds strings, updates repeat.
func (m *Meter) learn(metric Metric, u *cw.Update) {
	if !m.seen[metricQ{metric, 0}] {
		c := cloneMetric(metric)
		m.seen[metricQ{c, 0}] = true
		for _, stat := range naming.StatisticNames() {
			m.names[naming.Name(c.Namespace, c.Name, stat)] = Stat{Metric: c, Name: stat}
		}
	}
	for _, p := range u.Percentiles {
		if m.seen[metricQ{metric, p.Q}] {
			continue
		}
		c := cloneMetric(metric)
		m.seen[metricQ{c, p.Q}] = true
		stat := naming.Percentile(p.Q)
		m.names[naming.Name(c.Namespace, c.Name, stat)] = Stat{Metric: c, Name: stat, Q: p.Q}
	}
}

// metricQ is a metric with a quantile (0 for its basic statistics).
type metricQ struct {
	m Metric
	q float64
}

// cloneMetric copies the strings, which alias the record's data.
func cloneMetric(m Metric) Metric {
	return Metric{strings.Clone(m.Namespace), strings.Clone(m.Name)}
}

// appendSeriesKey appends the series' name and labels: its identity and,
// in length, about what a store keeps of it.
func appendSeriesKey(b []byte, s sample.Sample) []byte {
	b = append(b, s.Name...)
	for _, l := range s.Labels {
		b = append(b, 0)
		b = append(b, l.Name...)
		b = append(b, '=')
		b = append(b, l.Value...)
	}
	return b
}

// Traffic returns what was measured so far.
func (m *Meter) Traffic() Traffic {
	t := m.t
	t.Minutes = len(m.minutes)
	t.Names = m.names
	if m.tagIDs != nil {
		t.TagResources = map[string]int{}
		for key, ids := range m.tagIDs {
			t.TagResources[key] = len(ids)
		}
	}
	return t
}

// countResources notes the resources of u whose tags the enrichment looks
// up (every supported kind: the lookup asks for the configured types, which
// the count of pages hardly changes).
func (m *Meter) countResources(u *cw.Update) {
	m.ids = tags.ResourceIDs(m.ids[:0], u)
	if len(m.ids) == 0 {
		return
	}
	key := u.Region
	if m.t.TagAccounts {
		key = u.AccountID + " " + u.Region
	}
	ids := m.tagIDs[key]
	if ids == nil {
		ids = map[string]bool{}
		m.tagIDs[strings.Clone(key)] = ids
	}
	for _, id := range m.ids {
		ids[id] = true
	}
}

// String summarises t in one line, for reports.
func (t Traffic) String() string {
	return fmt.Sprintf("%d records (%d malformed), %s, %d updates (%d billed), %d samples, %d series, %.0f bytes (%.0f billed)",
		t.Records, t.Malformed, plural(t.Minutes, "minute"), t.Updates, t.BilledUpdates, t.Samples, t.Series, t.Bytes, t.BilledBytes)
}
