package streamtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cwstream/cwstream/internal/cw"
)

// Clone copies u, slices included, so that it outlives the decoder's call.
func Clone(u *cw.Update) cw.Update {
	c := *u
	c.Dimensions = append([]cw.Dimension(nil), u.Dimensions...)
	c.Percentiles = append([]cw.Quantile(nil), u.Percentiles...)
	return c
}

// DimensionsStyle says how OTel10 puts the dimensions into a data point.
type DimensionsStyle int

const (
	// Nested puts them into one attribute, Dimensions, whose value is a
	// key-value list.
	Nested DimensionsStyle = iota
	// Flat makes each dimension an attribute of its own.
	Flat
)

// OTel10 encodes ups as one length-delimited ExportMetricsServiceRequest
// per perFrame updates (all in one frame when perFrame is 0), the way
// CloudWatch writes a Firehose record in the opentelemetry1.0 format.
// Consecutive updates of one resource share a ResourceMetrics, and of one
// metric a Metric.
func OTel10(ups []cw.Update, perFrame int, style DimensionsStyle) []byte {
	if perFrame <= 0 {
		perFrame = max(len(ups), 1)
	}
	var out []byte
	for lo := 0; lo < len(ups); lo += perFrame {
		req := &colpb.ExportMetricsServiceRequest{}
		var rm *metricspb.ResourceMetrics
		var last *cw.Update
		for i := lo; i < min(lo+perFrame, len(ups)); i++ {
			u := &ups[i]
			if last == nil || last.AccountID != u.AccountID || last.Region != u.Region || last.StreamARN != u.StreamARN {
				rm = &metricspb.ResourceMetrics{Resource: resource(u), ScopeMetrics: []*metricspb.ScopeMetrics{{}}}
				req.ResourceMetrics = append(req.ResourceMetrics, rm)
			}
			sm := rm.ScopeMetrics[0]
			name := "amazonaws.com/" + u.Namespace + "/" + u.MetricName
			// Consecutive data points of one metric share it, as in
			// CloudWatch's records.
			if n := len(sm.Metrics); n > 0 && sm.Metrics[n-1].Name == name && sm.Metrics[n-1].Unit == u.Unit && last == &ups[i-1] {
				s := sm.Metrics[n-1].GetSummary()
				s.DataPoints = append(s.DataPoints, point(u, style))
			} else {
				sm.Metrics = append(sm.Metrics, &metricspb.Metric{
					Name: name,
					Unit: u.Unit,
					Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: []*metricspb.SummaryDataPoint{point(u, style)}}},
				})
			}
			last = u
		}
		msg, err := proto.Marshal(req)
		if err != nil {
			panic(fmt.Sprintf("marshal an ExportMetricsServiceRequest: %v", err)) // cannot happen for these types
		}
		out = protowire.AppendVarint(out, uint64(len(msg)))
		out = append(out, msg...)
	}
	return out
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func resource(u *cw.Update) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		str("cloud.provider", "aws"),
		str("cloud.account.id", u.AccountID),
		str("cloud.region", u.Region),
		str("aws.exporter.arn", u.StreamARN),
	}}
}

func point(u *cw.Update, style DimensionsStyle) *metricspb.SummaryDataPoint {
	attrs := []*commonpb.KeyValue{str("Namespace", u.Namespace), str("MetricName", u.MetricName)}
	var dims []*commonpb.KeyValue
	for _, d := range u.Dimensions {
		dims = append(dims, str(d.Name, d.Value))
	}
	if style == Flat {
		attrs = append(attrs, dims...)
	} else {
		attrs = append(attrs, &commonpb.KeyValue{Key: "Dimensions", Value: &commonpb.AnyValue{
			Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: dims}}}})
	}
	var qs []*metricspb.SummaryDataPoint_ValueAtQuantile
	if u.HasMin {
		qs = append(qs, &metricspb.SummaryDataPoint_ValueAtQuantile{Quantile: 0, Value: u.Min})
	}
	for _, q := range u.Percentiles {
		qs = append(qs, &metricspb.SummaryDataPoint_ValueAtQuantile{Quantile: q.Q, Value: q.Value})
	}
	if u.HasMax {
		qs = append(qs, &metricspb.SummaryDataPoint_ValueAtQuantile{Quantile: 1, Value: u.Max})
	}
	return &metricspb.SummaryDataPoint{
		Attributes:        attrs,
		StartTimeUnixNano: u.StartUnixNano,
		TimeUnixNano:      u.EndUnixNano,
		Count:             uint64(u.Count),
		Sum:               u.Sum,
		QuantileValues:    qs,
	}
}

// minuteMillis is the period of every metric-stream datapoint.
const minuteMillis = 60_000

// JSONLine appends u as one line of the json output format: the object the
// CloudWatch user guide shows, on one line, ending in a newline. Its
// timestamp is the start of the update's minute (see package cwjson).
// Percentiles are named pNN as CloudWatch names them (p99, p99.9).
func JSONLine(dst []byte, u *cw.Update) []byte {
	q := func(s string) []byte { b, _ := json.Marshal(s); return b }
	num := func(v float64) []byte { return strconv.AppendFloat(nil, v, 'g', -1, 64) }
	dst = append(dst, `{"metric_stream_name":`...)
	stream := u.StreamARN[strings.LastIndexByte(u.StreamARN, '/')+1:]
	dst = append(dst, q(stream)...)
	dst = append(append(dst, `,"account_id":`...), q(u.AccountID)...)
	dst = append(append(dst, `,"region":`...), q(u.Region)...)
	dst = append(append(dst, `,"namespace":`...), q(u.Namespace)...)
	dst = append(append(dst, `,"metric_name":`...), q(u.MetricName)...)
	dst = append(dst, `,"dimensions":{`...)
	for i, d := range u.Dimensions {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, q(d.Name)...), ':'), q(d.Value)...)
	}
	dst = append(dst, `},"timestamp":`...)
	dst = strconv.AppendInt(dst, int64(u.EndUnixNano/1e6)-minuteMillis, 10)
	dst = append(dst, `,"value":{"count":`...)
	dst = append(dst, num(u.Count)...)
	dst = append(append(dst, `,"sum":`...), num(u.Sum)...)
	if u.HasMax {
		dst = append(append(dst, `,"max":`...), num(u.Max)...)
	}
	if u.HasMin {
		dst = append(append(dst, `,"min":`...), num(u.Min)...)
	}
	for _, p := range u.Percentiles {
		dst = append(dst, `,"p`...)
		dst = strconv.AppendFloat(dst, p.Q*100, 'f', -1, 64)
		dst = append(append(dst, `":`...), num(p.Value)...)
	}
	dst = append(dst, `},"unit":`...)
	dst = append(dst, q(jsonUnit(u.Unit))...)
	return append(dst, "}\n"...)
}

// JSON encodes ups as JSON lines, one update a line.
func JSON(ups []cw.Update) []byte {
	var b bytes.Buffer
	var line []byte
	for i := range ups {
		line = JSONLine(line[:0], &ups[i])
		b.Write(line)
	}
	return b.Bytes()
}

// jsonUnit maps the OTel unit CloudWatch streams back to the MetricDatum
// unit the json format carries. The unit names no series, so an unknown
// one is passed through.
func jsonUnit(u string) string {
	switch u {
	case "%":
		return "Percent"
	case "1":
		return "None"
	case "By":
		return "Bytes"
	case "s":
		return "Seconds"
	case "ms":
		return "Milliseconds"
	case "{Count}":
		return "Count"
	}
	return u
}

// Collect runs decode and returns a copy of every update it passes to its
// callback, with decode's error.
func Collect(decode func(fn func(*cw.Update) error) error) ([]cw.Update, error) {
	var out []cw.Update
	err := decode(func(u *cw.Update) error {
		out = append(out, Clone(u))
		return nil
	})
	return out, err
}
