// Package telemetry is cwstream's self-observation: the slog logger the
// Lambda and the CLI use, and the per-invocation counters it emits once as
// CloudWatch Embedded Metric Format (EMF) lines, which CloudWatch Logs turns
// into metrics without any API call from the function.
package telemetry

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
)

// DefaultNamespace is the CloudWatch namespace of the EMF metrics unless
// the function is told another (lambdaenv.EnvMetricsNamespace); the CDK
// app's alarms read it.
const DefaultNamespace = "CWStream"

// MetricRecordsFailed is the EMF metric of records answered
// ProcessingFailed, which the CDK app alarms on.
const MetricRecordsFailed = "RecordsFailed"

// NewLogger returns a JSON logger at the named level (debug, info, warn,
// error; "" is info).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if level != "" {
		if err := l.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
		}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// Discard returns l, or a logger that drops everything when l is nil.
func Discard(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Invocation counts what one invocation did.
type Invocation struct {
	RecordsIn  int
	RecordsOK  int // answered Dropped: every sample acknowledged
	Datapoints int
	Samples    int // samples built
	// RelabelDropped counts samples the configured relabel rules dropped
	// (wanted, not lost; shown so a rule that drops too much is noticed).
	RelabelDropped int
	SamplesWritten int
	// SamplesSuperseded counts samples not sent because a later sample of
	// the same series and timestamp in the invocation carried another
	// value (CloudWatch revising a minute): the later value is written.
	// They count as written when it is.
	SamplesSuperseded int
	Series            int
	Requests          int
	Retries           int
	BytesSent         int64
	WriteLatency      time.Duration
	// NewestSample is the newest sample timestamp (ms) of the invocation;
	// how far it lags the clock tells how late data arrives.
	NewestSample int64
	// SamplesTooOld counts samples the store refused as older than it
	// accepts (cause too_old; also in SamplesDropped), and OldestTooOld is
	// the oldest one's timestamp (ms, 0 for none): how late data came
	// that could not be written.
	SamplesTooOld int
	OldestTooOld  int64

	RecordsFailed  map[string]int // cause → records answered ProcessingFailed
	SamplesDropped map[string]int // cause → samples not written

	// Tags counts the tag enrichment's work; nil when it is off.
	Tags *TagCounts
}

// TagCounts is what the tag enrichment did in an invocation. Its info series
// are written apart from the records' samples, so none of this touches a
// record's answer.
type TagCounts struct {
	InfoSeries       int // info series written
	InfoSeriesFailed int // info series the store did not acknowledge
	Lookups          int // tag lookups (one per region) that ended since the last invocation
	LookupErrors     int // of which failed or timed out
}

func (t *TagCounts) add(o *TagCounts) {
	t.InfoSeries += o.InfoSeries
	t.InfoSeriesFailed += o.InfoSeriesFailed
	t.Lookups += o.Lookups
	t.LookupErrors += o.LookupErrors
}

// FailRecord counts a record answered ProcessingFailed for cause.
func (inv *Invocation) FailRecord(cause string) {
	if inv.RecordsFailed == nil {
		inv.RecordsFailed = make(map[string]int)
	}
	inv.RecordsFailed[cause]++
}

// DropSamples counts n samples not written for cause.
func (inv *Invocation) DropSamples(cause string, n int) {
	if n == 0 {
		return
	}
	if inv.SamplesDropped == nil {
		inv.SamplesDropped = make(map[string]int)
	}
	inv.SamplesDropped[cause] += n
}

// Add sums the counts of o into inv (a replay adds up its invocations);
// latencies add up, NewestSample is the newer of the two.
func (inv *Invocation) Add(o *Invocation) {
	inv.RecordsIn += o.RecordsIn
	inv.RecordsOK += o.RecordsOK
	inv.Datapoints += o.Datapoints
	inv.Samples += o.Samples
	inv.RelabelDropped += o.RelabelDropped
	inv.SamplesWritten += o.SamplesWritten
	inv.SamplesSuperseded += o.SamplesSuperseded
	inv.Series += o.Series
	inv.Requests += o.Requests
	inv.Retries += o.Retries
	inv.BytesSent += o.BytesSent
	inv.WriteLatency += o.WriteLatency
	inv.NewestSample = max(inv.NewestSample, o.NewestSample)
	inv.SamplesTooOld += o.SamplesTooOld
	if o.OldestTooOld != 0 && (inv.OldestTooOld == 0 || o.OldestTooOld < inv.OldestTooOld) {
		inv.OldestTooOld = o.OldestTooOld
	}
	for c, n := range o.RecordsFailed {
		if inv.RecordsFailed == nil {
			inv.RecordsFailed = make(map[string]int)
		}
		inv.RecordsFailed[c] += n
	}
	for c, n := range o.SamplesDropped {
		inv.DropSamples(c, n)
	}
	if o.Tags != nil {
		if inv.Tags == nil {
			inv.Tags = &TagCounts{}
		}
		inv.Tags.add(o.Tags)
	}
}

// TotalFailed is the number of records answered ProcessingFailed.
func (inv *Invocation) TotalFailed() int {
	n := 0
	for _, c := range inv.RecordsFailed {
		n += c
	}
	return n
}

// TotalDropped is the number of samples not written.
func (inv *Invocation) TotalDropped() int {
	n := 0
	for _, c := range inv.SamplesDropped {
		n += c
	}
	return n
}

// LogAttrs returns the counts as slog attributes for the invocation's
// summary line: totals always (0 when nothing failed), the split by cause
// only when there is one, durations in milliseconds as in the EMF metrics.
func (inv *Invocation) LogAttrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.Int("records", inv.RecordsIn), slog.Int("records_ok", inv.RecordsOK),
		slog.Int("records_failed", inv.TotalFailed()), slog.Int("datapoints", inv.Datapoints),
		slog.Int("samples", inv.Samples), slog.Int("samples_written", inv.SamplesWritten),
		slog.Int("samples_superseded", inv.SamplesSuperseded),
		slog.Int("samples_too_old", inv.SamplesTooOld),
		slog.Int("samples_relabel_dropped", inv.RelabelDropped),
		slog.Int("samples_dropped", inv.TotalDropped()), slog.Int("series", inv.Series),
		slog.Int("requests", inv.Requests), slog.Int("retries", inv.Retries),
		slog.Int64("bytes_sent", inv.BytesSent), Millis("write_latency_ms", inv.WriteLatency),
	}
	if t := inv.Tags; t != nil {
		attrs = append(attrs, slog.Int("info_series", t.InfoSeries), slog.Int("info_series_failed", t.InfoSeriesFailed),
			slog.Int("tag_lookups", t.Lookups), slog.Int("tag_lookup_errors", t.LookupErrors))
	}
	if len(inv.RecordsFailed) > 0 {
		attrs = append(attrs, slog.Any("records_failed_by_cause", inv.RecordsFailed))
	}
	if len(inv.SamplesDropped) > 0 {
		attrs = append(attrs, slog.Any("samples_dropped_by_cause", inv.SamplesDropped))
	}
	return attrs
}

// Millis is a duration attribute in milliseconds (with microsecond
// precision), the unit of the EMF metrics, so logs and metrics compare.
func Millis(key string, d time.Duration) slog.Attr {
	return slog.Float64(key, float64(d.Microseconds())/1000)
}

// EMF writes the counts as Embedded Metric Format documents, one a line:
// the totals with the dimension FunctionName, then one document per failure
// cause with the dimensions FunctionName and Cause.
func (inv *Invocation) EMF(w io.Writer, namespace, function string, now time.Time) error {
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := func(dims []string, metrics []metric, values map[string]any) error {
		m := map[string]any{
			"_aws": map[string]any{
				"Timestamp": now.UnixMilli(),
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  namespace,
					"Dimensions": [][]string{dims},
					"Metrics":    metrics,
				}},
			},
		}
		maps.Copy(m, values)
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	totals := map[string]any{
		"FunctionName": function,
		"RecordsIn":    inv.RecordsIn, MetricRecordsFailed: inv.TotalFailed(),
		"Datapoints": inv.Datapoints, "Samples": inv.Samples, "SamplesWritten": inv.SamplesWritten,
		"SamplesDropped": inv.TotalDropped(), "SamplesRelabelDropped": inv.RelabelDropped, "SamplesSuperseded": inv.SamplesSuperseded, "SamplesTooOld": inv.SamplesTooOld, "Series": inv.Series,
		"Requests": inv.Requests, "Retries": inv.Retries, "BytesSent": inv.BytesSent,
		"WriteLatency": Millis("", inv.WriteLatency).Value.Float64(),
	}
	if t := inv.Tags; t != nil {
		totals["InfoSeries"], totals["InfoSeriesFailed"] = t.InfoSeries, t.InfoSeriesFailed
		totals["TagLookups"], totals["TagLookupErrors"] = t.Lookups, t.LookupErrors
	}
	units := map[string]string{"BytesSent": "Bytes", "WriteLatency": "Milliseconds", "DataLag": "Seconds", "TooOldMaxAge": "Seconds"}
	if inv.NewestSample > 0 {
		// The period end of the newest datapoint against the clock: how
		// late the stream delivers, Firehose buffering included.
		totals["DataLag"] = float64(now.UnixMilli()-inv.NewestSample) / 1000
	}
	if inv.OldestTooOld > 0 {
		// The age of the oldest sample the store refused as too old.
		totals["TooOldMaxAge"] = float64(now.UnixMilli()-inv.OldestTooOld) / 1000
	}
	var ms []metric
	for _, name := range slices.Sorted(maps.Keys(totals)) {
		if name == "FunctionName" {
			continue
		}
		unit := units[name]
		if unit == "" {
			unit = "Count"
		}
		ms = append(ms, metric{name, unit})
	}
	if err := doc([]string{"FunctionName"}, ms, totals); err != nil {
		return err
	}
	causes := slices.Sorted(maps.Keys(inv.RecordsFailed))
	for c := range inv.SamplesDropped {
		if !slices.Contains(causes, c) {
			causes = append(causes, c)
		}
	}
	slices.Sort(causes)
	for _, c := range causes {
		err := doc([]string{"FunctionName", "Cause"},
			[]metric{{MetricRecordsFailed, "Count"}, {"SamplesDropped", "Count"}},
			map[string]any{"FunctionName": function, "Cause": c,
				MetricRecordsFailed: inv.RecordsFailed[c], "SamplesDropped": inv.SamplesDropped[c]})
		if err != nil {
			return err
		}
	}
	return nil
}

// String is a one-line human summary, for the CLI.
func (inv *Invocation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d records (%d ok, %d failed), %d datapoints, %d samples written of %d, %d requests, %d retries",
		inv.RecordsIn, inv.RecordsOK, inv.TotalFailed(), inv.Datapoints, inv.SamplesWritten, inv.Samples, inv.Requests, inv.Retries)
	if len(inv.RecordsFailed) > 0 {
		fmt.Fprintf(&b, "; failed by cause: %v", inv.RecordsFailed)
	}
	if t := inv.Tags; t != nil {
		fmt.Fprintf(&b, "; %d info series written (%d failed), %d tag lookups (%d failed)", t.InfoSeries, t.InfoSeriesFailed, t.Lookups, t.LookupErrors)
	}
	return b.String()
}
