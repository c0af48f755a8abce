package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// This file builds messages in the exact shape CloudWatch gives them (see the report of
// -inspect on the real deliveries):
//   - one ResourceMetrics per request in real deliveries (several in multi.bin on purpose);
//   - resource attributes cloud.provider, cloud.account.id, cloud.region, aws.exporter.arn,
//     in that order, all string values;
//   - one InstrumentationLibraryMetrics with no InstrumentationLibrary set;
//   - Metric name "amazonaws.com/<Namespace>/<MetricName>", no description, a UCUM-ish unit
//     ("%", "1", "By", "By/s", "ms", "s", "{Count}", "{Count}/s", ...), data as DoubleSummary;
//   - data point labels: Namespace, MetricName, then the dimensions sorted by name;
//   - start_time_unix_nano = time_unix_nano - 60 s, both on a minute boundary;
//   - quantile_values ascending: 0 (Minimum), the configured percentiles, 1 (Maximum).

// account is one (account, region) as a metric stream reports it.
type account struct {
	ID, Region string
	Stream     string // metric stream name; the ARN is in the stream owner's account
	Owner      string // account that owns the stream (monitoring account); ID when empty
}

func (a account) arn() string {
	owner := a.Owner
	if owner == "" {
		owner = a.ID
	}
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:metric-stream/%s", a.Region, owner, a.Stream)
}

type dim struct{ Name, Value string }

// series is one CloudWatch metric: namespace, name, dimensions, unit and which percentiles
// the stream's statistics configuration adds.
type series struct {
	Namespace, Metric, Unit string
	Dims                    []dim
	Percentiles             []float64 // besides 0 (min) and 1 (max), ascending
	KeepDimOrder            bool      // odd.bin only: labels in the given order, not sorted
	Gen                     gen
}

func (s series) otelName() string { return "amazonaws.com/" + s.Namespace + "/" + s.Metric }

// stats is what one summary data point carries.
type stats struct {
	Count    uint64
	Sum      float64
	Min, Max float64
	P        []float64 // aligned with series.Percentiles
}

// gen describes the samples behind a metric: n samples in [Lo, Hi), skewed towards Lo when
// Skew > 1 (latencies), rounded to integers when Int (counts).
type gen struct {
	Lo, Hi     float64
	MinN, MaxN int
	Skew       float64
	Int        bool
}

// draw makes the samples and computes the statistics from them, so min ≤ percentiles ≤ max
// and sum/count are consistent, as in CloudWatch.
func (g gen) draw(r *rng, percentiles []float64) stats {
	n := g.MinN
	if g.MaxN > g.MinN {
		n += r.intn(g.MaxN - g.MinN + 1)
	}
	if n == 0 {
		st := stats{P: make([]float64, len(percentiles))}
		return st
	}
	skew := g.Skew
	if skew == 0 {
		skew = 1
	}
	xs := make([]float64, n)
	sum := 0.0
	for i := range xs {
		v := g.Lo + (g.Hi-g.Lo)*math.Pow(r.float(), skew)
		if g.Int {
			v = math.Round(v)
		} else {
			v = round(v, 6)
		}
		xs[i] = v
		sum += v
	}
	sort.Float64s(xs)
	st := stats{Count: uint64(n), Sum: round(sum, 6), Min: xs[0], Max: xs[n-1]}
	for _, q := range percentiles {
		// Nearest rank, so every percentile is one of the samples.
		k := int(math.Ceil(q*float64(n))) - 1
		st.P = append(st.P, xs[max(k, 0)])
	}
	return st
}

// round keeps fixtures readable; the values stay arbitrary doubles on the wire.
func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

func resource(a account) *resourcepb.Resource {
	kv := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kv("cloud.provider", "aws"),
		kv("cloud.account.id", a.ID),
		kv("cloud.region", a.Region),
		kv("aws.exporter.arn", a.arn()),
	}}
}

func labels(s series) []*commonpb.StringKeyValue {
	dims := slices.Clone(s.Dims)
	if !s.KeepDimOrder {
		slices.SortStableFunc(dims, func(a, b dim) int { return strings.Compare(a.Name, b.Name) })
	}
	out := []*commonpb.StringKeyValue{
		{Key: "Namespace", Value: s.Namespace},
		{Key: "MetricName", Value: s.Metric},
	}
	for _, d := range dims {
		out = append(out, &commonpb.StringKeyValue{Key: d.Name, Value: d.Value})
	}
	return out
}

// point is one summary data point of s for the minute ending at end.
func point(s series, end time.Time, st stats) *metricspb.DoubleSummaryDataPoint {
	qs := []*metricspb.DoubleSummaryDataPoint_ValueAtQuantile{{Quantile: 0, Value: st.Min}}
	for i, q := range s.Percentiles {
		qs = append(qs, &metricspb.DoubleSummaryDataPoint_ValueAtQuantile{Quantile: q, Value: st.P[i]})
	}
	qs = append(qs, &metricspb.DoubleSummaryDataPoint_ValueAtQuantile{Quantile: 1, Value: st.Max})
	return &metricspb.DoubleSummaryDataPoint{
		Labels:            labels(s),
		StartTimeUnixNano: uint64(end.Add(-time.Minute).UnixNano()),
		TimeUnixNano:      uint64(end.UnixNano()),
		Count:             st.Count,
		Sum:               st.Sum,
		QuantileValues:    qs,
	}
}

// drawPoint draws the statistics of s for the minute ending at end.
func drawPoint(r *rng, s series, end time.Time) *metricspb.DoubleSummaryDataPoint {
	return point(s, end, s.Gen.draw(r, s.Percentiles))
}

func metric(s series, pts ...*metricspb.DoubleSummaryDataPoint) *metricspb.Metric {
	return &metricspb.Metric{
		Name: s.otelName(),
		Unit: s.Unit,
		Data: &metricspb.Metric_DoubleSummary{DoubleSummary: &metricspb.DoubleSummary{DataPoints: pts}},
	}
}

func resourceMetrics(a account, ms ...*metricspb.Metric) *metricspb.ResourceMetrics {
	return &metricspb.ResourceMetrics{
		Resource:                      resource(a),
		InstrumentationLibraryMetrics: []*metricspb.InstrumentationLibraryMetrics{{Metrics: ms}},
	}
}

func request(rms ...*metricspb.ResourceMetrics) *colpb.ExportMetricsServiceRequest {
	return &colpb.ExportMetricsServiceRequest{ResourceMetrics: rms}
}

// chunk splits ms into n consecutive parts of near-equal length, as CloudWatch spreads one
// minute's metrics over several requests.
func chunk[T any](ms []T, n int) [][]T {
	var out [][]T
	for i := range n {
		lo, hi := i*len(ms)/n, (i+1)*len(ms)/n
		out = append(out, ms[lo:hi])
	}
	return out
}
