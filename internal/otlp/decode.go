package otlp

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/wire"
)

// Field numbers of the OpenTelemetry messages this decoder reads; the same
// in 0.7 and 1.0 unless the name says which.
const (
	requestResourceMetrics = 1 // ExportMetricsServiceRequest.resource_metrics

	resourceMetricsResource = 1 // ResourceMetrics.resource
	resourceMetricsScope    = 2 // 0.7 instrumentation_library_metrics, 1.0 scope_metrics

	resourceAttributes = 1 // Resource.attributes

	keyValueKey   = 1 // KeyValue.key
	keyValueValue = 2 // KeyValue.value

	anyValueString = 1 // AnyValue.string_value
	anyValueKVList = 6 // AnyValue.kvlist_value

	kvListValues = 1 // KeyValueList.values

	scopeMetrics = 2 // InstrumentationLibraryMetrics.metrics, ScopeMetrics.metrics

	metricName     = 1  // Metric.name
	metricUnit     = 3  // Metric.unit
	metricFirstNon = 4  // Metric 0.7 int_gauge … 1.0 exponential_histogram: not sent by CloudWatch
	metricLastNon  = 10 //
	metricSummary  = 11 // 0.7 Metric.double_summary, 1.0 Metric.summary

	summaryDataPoints = 1 // (Double)Summary.data_points

	pointLabels     = 1 // 0.7 DoubleSummaryDataPoint.labels (StringKeyValue); reserved in 1.0
	pointStart      = 2 // start_time_unix_nano
	pointTime       = 3 // time_unix_nano
	pointCount      = 4 // count
	pointSum        = 5 // sum
	pointQuantiles  = 6 // quantile_values
	pointAttributes = 7 // 1.0 SummaryDataPoint.attributes (KeyValue); not in 0.7

	stringKeyValueKey   = 1 // StringKeyValue.key
	stringKeyValueValue = 2 // StringKeyValue.value

	quantileQuantile = 1 // ValueAtQuantile.quantile
	quantileValue    = 2 // ValueAtQuantile.value
)

// Resource attribute keys CloudWatch sets.
const (
	attrAccountID = "cloud.account.id"
	attrRegion    = "cloud.region"
	attrStreamARN = "aws.exporter.arn"
)

// Data point label (0.7) or attribute (1.0) keys that are not dimensions.
// In 1.0 CloudWatch may also nest the dimensions in one attribute,
// Dimensions, whose value is a key-value list.
const (
	keyNamespace  = "Namespace"
	keyMetricName = "MetricName"
	keyDimensions = "Dimensions"
)

// Bounds on what one data point may hold. CloudWatch allows 30 dimensions
// and a stream a handful of percentiles; anything far beyond is not a
// metric stream, and unbounded it would let one record cost seconds
// (labels are sorted per datapoint) or grow the name caches without end.
const (
	maxLabels    = 64
	maxQuantiles = 64
)

// metricNamePrefix starts every metric name CloudWatch streams:
// amazonaws.com/<Namespace>/<MetricName>.
const metricNamePrefix = "amazonaws.com/"

// Decoder decodes records. It keeps one cw.Update whose slices are reused
// between data points, so a Decoder is not safe for concurrent use; the zero
// value is ready.
type Decoder struct {
	u cw.Update
	r wire.Reader
}

// Decode calls fn with every data point of every frame in data, read as
// version v (wire.OTel07 or wire.OTel10), in order. The Update and its
// strings are only valid during the call and alias data.
//
// Malformed input, including a data point with the other version's
// dimensions field, yields a *wire.Error naming the format, the frame and
// the byte offset; the data points of the frames before the bad one have
// already been passed to fn. An error from fn stops decoding and is
// returned as is.
func (d *Decoder) Decode(data []byte, v wire.Format, fn func(*cw.Update) error) error {
	if v != wire.OTel07 && v != wire.OTel10 {
		return &wire.Error{Format: v, Reason: "not an OpenTelemetry format"}
	}
	d.r = wire.Reader{Format: v}
	for off := 0; off < len(data); d.r.Frame++ {
		d.r.FrameOffset = off
		msg, end, ferr := wire.NextFrame(data, off)
		if ferr != nil {
			ferr.Format, ferr.Index = v, d.r.Frame
			return ferr
		}
		if err := d.request(msg, end-len(msg), fn); err != nil {
			return err
		}
		off = end
	}
	return nil
}

func (d *Decoder) request(b []byte, base int, fn func(*cw.Update) error) error {
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, requestResourceMetrics, "resource_metrics")
		if err != nil || !ok {
			return err
		}
		if err := d.resourceMetrics(v, at, fn); err != nil {
			return err
		}
	}
}

func (d *Decoder) resourceMetrics(b []byte, base int, fn func(*cw.Update) error) error {
	// The resource applies to all metrics of the message wherever it stands,
	// so read it first; CloudWatch writes it first anyway.
	d.u.AccountID, d.u.Region, d.u.StreamARN = "", "", ""
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, resourceMetricsResource, "resource")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.resource(v, at); err != nil {
			return err
		}
	}
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, resourceMetricsScope, "scope_metrics")
		if err != nil || !ok {
			return err
		}
		if err := d.scope(v, at, fn); err != nil {
			return err
		}
	}
}

func (d *Decoder) resource(b []byte, base int) error {
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, resourceAttributes, "resource attribute")
		if err != nil || !ok {
			return err
		}
		key, val, _, err := d.keyValue(v, at)
		if err != nil {
			return err
		}
		switch key {
		case attrAccountID:
			d.u.AccountID = val
		case attrRegion:
			d.u.Region = val
		case attrStreamARN:
			d.u.StreamARN = val
		}
	}
}

// keyValue reads a KeyValue. A string value comes back in val; a key-value
// list (kvlist_value) comes back as its bytes in list, at record offset
// listAt. Other value kinds read as "": no attribute CloudWatch sets has them.
func (d *Decoder) keyValue(b []byte, base int) (key, val string, list kvList, err error) {
	var f wire.Field
	for pos := 0; pos < len(b); {
		if err := d.r.Next(b, &pos, base, &f); err != nil {
			return "", "", kvList{}, err
		}
		switch f.Num {
		case keyValueKey:
			if key, err = d.r.Str(&f, "attribute key"); err != nil {
				return "", "", kvList{}, err
			}
		case keyValueValue:
			if err := d.r.Want(&f, protowire.BytesType, "attribute value"); err != nil {
				return "", "", kvList{}, err
			}
			if val, list, err = d.anyValue(f.Val, f.VAt); err != nil {
				return "", "", kvList{}, err
			}
		}
	}
	return key, val, list, nil
}

// kvList is the content of an AnyValue's kvlist_value.
type kvList struct {
	b  []byte
	at int
	ok bool
}

func (d *Decoder) anyValue(b []byte, base int) (s string, list kvList, err error) {
	var f wire.Field
	for pos := 0; pos < len(b); {
		if err := d.r.Next(b, &pos, base, &f); err != nil {
			return "", kvList{}, err
		}
		if f.Typ != protowire.BytesType {
			continue
		}
		switch f.Num {
		case anyValueString:
			if s, err = d.r.Str(&f, "attribute value"); err != nil {
				return "", kvList{}, err
			}
		case anyValueKVList:
			list = kvList{b: f.Val, at: f.VAt, ok: true}
		}
	}
	return s, list, nil
}

func (d *Decoder) scope(b []byte, base int, fn func(*cw.Update) error) error {
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, scopeMetrics, "metric")
		if err != nil || !ok {
			return err
		}
		if err := d.metric(v, at, fn); err != nil {
			return err
		}
	}
}

func (d *Decoder) metric(b []byte, base int, fn func(*cw.Update) error) error {
	// Name and unit first, wherever they stand, then the data points.
	var name, unit string
	var f wire.Field
	for pos := 0; pos < len(b); {
		if err := d.r.Next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch {
		case f.Num == metricName:
			name, err = d.r.Str(&f, "metric name")
		case f.Num == metricUnit:
			unit, err = d.r.Str(&f, "metric unit")
		case f.Num >= metricFirstNon && f.Num <= metricLastNon:
			err = d.r.Errorf(f.At, nil, "metric %q holds data of kind %d, not a summary: CloudWatch metric streams send only summaries", name, f.Num)
		}
		if err != nil {
			return err
		}
	}
	ns, metric := splitMetricName(name)
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, metricSummary, "summary")
		if err != nil || !ok {
			return err
		}
		if err := d.summary(v, at, ns, metric, unit, fn); err != nil {
			return err
		}
	}
}

// splitMetricName splits amazonaws.com/<Namespace>/<MetricName>. The data
// point labels Namespace and MetricName take precedence; this is the
// fallback. Namespaces hold slashes (AWS/RDS), metric names do not.
func splitMetricName(name string) (ns, metric string) {
	name = strings.TrimPrefix(name, metricNamePrefix)
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

func (d *Decoder) summary(b []byte, base int, ns, metric, unit string, fn func(*cw.Update) error) error {
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(b, &pos, base, summaryDataPoints, "data point")
		if err != nil || !ok {
			return err
		}
		u := &d.u
		u.Namespace, u.MetricName, u.Unit = ns, metric, unit
		if err := d.point(v, at); err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
}

func (d *Decoder) point(b []byte, base int) error {
	u := &d.u
	u.Dimensions = u.Dimensions[:0]
	u.Percentiles = u.Percentiles[:0]
	u.StartUnixNano, u.EndUnixNano = 0, 0
	u.Count, u.Sum, u.Min, u.Max = 0, 0, 0, 0
	u.HasMin, u.HasMax = false, false
	v10 := d.r.Format == wire.OTel10
	var f wire.Field
	for pos := 0; pos < len(b); {
		if err := d.r.Next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch f.Num {
		case pointLabels:
			if v10 {
				err = d.r.Errorf(f.At, nil, "data point has labels (field 1), which only OpenTelemetry 0.7 defines: the record mixes the 0.7 and 1.0 formats")
			} else if err = d.r.Want(&f, protowire.BytesType, "data point label"); err == nil {
				err = d.label(f.Val, f.VAt)
			}
		case pointAttributes:
			if !v10 {
				err = d.r.Errorf(f.At, nil, "data point has attributes (field 7), which only OpenTelemetry 1.0 defines: the record mixes the 0.7 and 1.0 formats")
			} else if err = d.r.Want(&f, protowire.BytesType, "data point attribute"); err == nil {
				err = d.attribute(f.Val, f.VAt)
			}
		case pointStart:
			if err = d.r.Want(&f, protowire.Fixed64Type, "start_time_unix_nano"); err == nil {
				u.StartUnixNano = f.U64
			}
		case pointTime:
			if err = d.r.Want(&f, protowire.Fixed64Type, "time_unix_nano"); err == nil {
				u.EndUnixNano = f.U64
			}
		case pointCount:
			if err = d.r.Want(&f, protowire.Fixed64Type, "count"); err == nil {
				u.Count = float64(f.U64)
			}
		case pointSum:
			if err = d.r.Want(&f, protowire.Fixed64Type, "sum"); err == nil {
				u.Sum = math.Float64frombits(f.U64)
			}
		case pointQuantiles:
			if err = d.r.Want(&f, protowire.BytesType, "quantile_values"); err == nil {
				err = d.quantile(f.Val, f.VAt)
			}
		}
		if err != nil {
			return err
		}
	}
	if u.EndUnixNano == 0 {
		return d.r.Errorf(base, nil, "data point of %s/%s has no time_unix_nano", u.Namespace, u.MetricName)
	}
	return nil
}

// label reads one 0.7 StringKeyValue label.
func (d *Decoder) label(b []byte, base int) error {
	if k, v, ok := stringPair(b); ok {
		return d.setLabel(wire.Alias(k), wire.Alias(v), base)
	}
	var key, val string
	var f wire.Field
	for pos := 0; pos < len(b); {
		if err := d.r.Next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch f.Num {
		case stringKeyValueKey:
			key, err = d.r.Str(&f, "label key")
		case stringKeyValueValue:
			val, err = d.r.Str(&f, "label value")
		}
		if err != nil {
			return err
		}
	}
	return d.setLabel(key, val, base)
}

// Tags of the string fields of StringKeyValue (0.7 labels) and KeyValue
// (1.0 attributes): field 1 or 2, wire type 2.
const keyTag, valueTag, stringTag = 0x0a, 0x12, 0x0a

// stringField reads the bytes field with the one-byte tag at the start of
// b; ok is false when b does not start with it or its length runs past b.
func stringField(b []byte, tag byte) (v, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != tag {
		return nil, nil, false
	}
	n, l := protowire.ConsumeVarint(b[1:])
	if l < 0 || n > uint64(len(b)-1-l) {
		return nil, nil, false
	}
	end := 1 + l + int(n)
	return b[1+l : end], b[end:], true
}

// stringPair reads a 0.7 StringKeyValue laid out as CloudWatch and every
// proto encoder writes it: key (field 1), then value (field 2), lengths
// exact, both valid UTF-8. ok is false for anything else, which the general
// reader then decodes (and reports, when malformed). Labels are most of a
// 0.7 record; this skips the general loop's work on them.
func stringPair(b []byte) (key, val []byte, ok bool) {
	key, rest, ok := stringField(b, keyTag)
	if !ok {
		return nil, nil, false
	}
	val, rest, ok = stringField(rest, valueTag)
	if !ok || len(rest) != 0 || !wire.ValidUTF8(key) || !wire.ValidUTF8(val) {
		return nil, nil, false
	}
	return key, val, true
}

// stringKV reads a KeyValue laid out as CloudWatch and every proto encoder
// writes it: key (field 1), then value (field 2) holding only string_value
// (field 1), lengths exact. ok is false for anything else, which the
// general reader then decodes (and reports, when malformed). Attributes
// are most of a 1.0 record; this skips the general loop's work on them.
func stringKV(b []byte) (key, val []byte, ok bool) {
	key, rest, ok := stringField(b, keyTag)
	if !ok {
		return nil, nil, false
	}
	any, rest, ok := stringField(rest, valueTag)
	if !ok || len(rest) != 0 {
		return nil, nil, false
	}
	val, rest, ok = stringField(any, stringTag)
	if !ok || len(rest) != 0 || !wire.ValidUTF8(key) || !wire.ValidUTF8(val) {
		return nil, nil, false
	}
	return key, val, true
}

// attribute reads one 1.0 KeyValue attribute: Namespace, MetricName, a
// dimension, or Dimensions holding the dimensions as a key-value list.
func (d *Decoder) attribute(b []byte, base int) error {
	if k, v, ok := stringKV(b); ok {
		return d.setLabel(wire.Alias(k), wire.Alias(v), base)
	}
	key, val, list, err := d.keyValue(b, base)
	if err != nil {
		return err
	}
	if !list.ok {
		return d.setLabel(key, val, base)
	}
	if key != keyDimensions {
		return d.r.Errorf(base, nil, "data point attribute %q holds a key-value list; CloudWatch nests only %s", key, keyDimensions)
	}
	for pos := 0; ; {
		v, at, ok, err := d.r.NextMessage(list.b, &pos, list.at, kvListValues, "dimension")
		if err != nil || !ok {
			return err
		}
		if k, val, ok := stringKV(v); ok {
			if err := d.addDimension(wire.Alias(k), wire.Alias(val), at); err != nil {
				return err
			}
			continue
		}
		name, value, inner, err := d.keyValue(v, at)
		if err != nil {
			return err
		}
		if inner.ok {
			return d.r.Errorf(at, nil, "dimension %q holds a key-value list, not a string", name)
		}
		if err := d.addDimension(name, value, at); err != nil {
			return err
		}
	}
}

func (d *Decoder) setLabel(key, val string, at int) error {
	switch key {
	case keyNamespace:
		d.u.Namespace = val
	case keyMetricName:
		d.u.MetricName = val
	default:
		return d.addDimension(key, val, at)
	}
	return nil
}

func (d *Decoder) addDimension(name, value string, at int) error {
	u := &d.u
	if len(u.Dimensions) == maxLabels {
		return d.r.Errorf(at, nil, "data point has more than %d labels; CloudWatch allows 30 dimensions", maxLabels)
	}
	u.Dimensions = append(u.Dimensions, cw.Dimension{Name: name, Value: value})
	return nil
}

func (d *Decoder) quantile(b []byte, base int) error {
	var q, v float64
	var f wire.Field
	// As every encoder writes it: quantile (field 1), then value (field 2),
	// both fixed64.
	const quantileTag, valueTag = 0x09, 0x11
	pos := 0
	if len(b) == 18 && b[0] == quantileTag && b[9] == valueTag {
		q = math.Float64frombits(binary.LittleEndian.Uint64(b[1:9]))
		v = math.Float64frombits(binary.LittleEndian.Uint64(b[10:18]))
		pos = len(b)
	}
	for pos < len(b) {
		if err := d.r.Next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch f.Num {
		case quantileQuantile:
			if err = d.r.Want(&f, protowire.Fixed64Type, "quantile"); err == nil {
				q = math.Float64frombits(f.U64)
			}
		case quantileValue:
			if err = d.r.Want(&f, protowire.Fixed64Type, "quantile value"); err == nil {
				v = math.Float64frombits(f.U64)
			}
		}
		if err != nil {
			return err
		}
	}
	u := &d.u
	switch {
	case q == 0:
		u.Min, u.HasMin = v, true
	case q == 1:
		u.Max, u.HasMax = v, true
	case q > 0 && q < 1:
		if len(u.Percentiles) == maxQuantiles {
			return d.r.Errorf(base, nil, "data point has more than %d quantiles", maxQuantiles)
		}
		u.Percentiles = append(u.Percentiles, cw.Quantile{Q: q, Value: v})
	default:
		return d.r.Errorf(base, nil, "quantile %v of %s/%s is outside [0, 1]", q, u.Namespace, u.MetricName)
	}
	return nil
}

// Version tells which OpenTelemetry version data holds, by walking its
// frames to the first data point that carries labels (0.7) or attributes
// (1.0). Every message on the way must have the shape of an
// ExportMetricsServiceRequest: a field these messages do not define, a
// wrong wire type or a bad length is an error, so that bytes which merely
// parse as frames are not taken for metrics. Frames without a single data
// point decode to nothing in either version; Version calls them 0.7.
// A data point with neither field, or with both, cannot be placed and is
// an error.
func Version(data []byte) (wire.Format, error) {
	s := sniffer{r: wire.Reader{}}
	for off := 0; off < len(data); s.r.Frame++ {
		s.r.FrameOffset = off
		msg, end, ferr := wire.NextFrame(data, off)
		if ferr != nil {
			ferr.Index = s.r.Frame
			return 0, ferr
		}
		if v, err := s.walk(msg, end-len(msg), requestMsg); v != 0 || err != nil {
			return v, err
		}
		off = end
	}
	if s.points > 0 {
		return 0, &wire.Error{Offset: 0, Reason: fmt.Sprintf("cannot tell OpenTelemetry 0.7 from 1.0: none of the %d data points has labels or attributes", s.points)}
	}
	return wire.OTel07, nil
}

// message describes one OpenTelemetry message for Version: which fields it
// may hold, with their wire types, and which of them to descend into.
type message struct {
	name   string
	fields map[protowire.Number]protowire.Type
	sub    map[protowire.Number]*message
}

// The shapes of both versions, merged; where they differ the data point
// decides. Scalar fields CloudWatch never sends are allowed when the
// protocol defines them, so that only foreign shapes are refused.
var (
	requestMsg = &message{name: "ExportMetricsServiceRequest",
		fields: map[protowire.Number]protowire.Type{1: protowire.BytesType}}
	resourceMetricsMsg = &message{name: "ResourceMetrics",
		fields: map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType, 3: protowire.BytesType}}
	scopeMetricsMsg = &message{name: "ScopeMetrics",
		fields: map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType, 3: protowire.BytesType}}
	metricMsg = &message{name: "Metric",
		fields: map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType, 3: protowire.BytesType,
			4: protowire.BytesType, 5: protowire.BytesType, 6: protowire.BytesType, 7: protowire.BytesType, 8: protowire.BytesType,
			9: protowire.BytesType, 10: protowire.BytesType, 11: protowire.BytesType, 12: protowire.BytesType}}
	summaryMsg = &message{name: "Summary",
		fields: map[protowire.Number]protowire.Type{1: protowire.BytesType}}
	pointMsg = &message{name: "SummaryDataPoint",
		fields: map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.Fixed64Type, 3: protowire.Fixed64Type,
			4: protowire.Fixed64Type, 5: protowire.Fixed64Type, 6: protowire.BytesType, 7: protowire.BytesType, 8: protowire.VarintType}}
)

func init() {
	requestMsg.sub = map[protowire.Number]*message{1: resourceMetricsMsg}
	resourceMetricsMsg.sub = map[protowire.Number]*message{2: scopeMetricsMsg}
	scopeMetricsMsg.sub = map[protowire.Number]*message{2: metricMsg}
	metricMsg.sub = map[protowire.Number]*message{metricSummary: summaryMsg}
	summaryMsg.sub = map[protowire.Number]*message{1: pointMsg}
}

type sniffer struct {
	r      wire.Reader
	points int
}

// walk checks b against m and descends; it returns the version as soon as
// a data point tells it.
func (s *sniffer) walk(b []byte, base int, m *message) (wire.Format, error) {
	var labels, attrs bool
	var f wire.Field
	for pos := 0; pos < len(b); {
		if err := s.r.Next(b, &pos, base, &f); err != nil {
			return 0, err
		}
		typ, ok := m.fields[f.Num]
		if !ok {
			return 0, s.r.Errorf(f.At, nil, "%s has no field %d (wire type %d): not an OpenTelemetry metrics request", m.name, f.Num, f.Typ)
		}
		if f.Typ != typ {
			return 0, s.r.Errorf(f.At, nil, "%s field %d has wire type %d, want %d: not an OpenTelemetry metrics request", m.name, f.Num, f.Typ, typ)
		}
		if m == pointMsg {
			labels = labels || f.Num == pointLabels
			attrs = attrs || f.Num == pointAttributes
			continue
		}
		if sub := m.sub[f.Num]; sub != nil {
			if v, err := s.walk(f.Val, f.VAt, sub); v != 0 || err != nil {
				return v, err
			}
		}
	}
	if m != pointMsg {
		return 0, nil
	}
	s.points++
	switch {
	case labels && attrs:
		return 0, s.r.Errorf(base, nil, "data point has both labels (0.7, field 1) and attributes (1.0, field 7)")
	case labels:
		return wire.OTel07, nil
	case attrs:
		return wire.OTel10, nil
	}
	return 0, nil
}
