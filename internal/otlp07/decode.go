// Package otlp07 decodes the OpenTelemetry 0.7 output format of CloudWatch
// Metric Streams into cw.Update values.
//
// A Firehose record holds one or more frames, each an unsigned varint length
// followed by that many bytes of an ExportMetricsServiceRequest. Every frame
// is decoded, and every length is checked against what is left.
//
// The decoder walks the protobuf with protowire instead of generated types:
// it allocates nothing per data point, and the strings it hands out alias the
// input. The Go types of OTLP v0.7.0 cannot live in this module (Prometheus
// requires OTLP v1), so tests check this decoder against payloads encoded by
// those official types in the separate module tools/otlp07gen.
package otlp07

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/cw"
)

// ErrJSONFormat reports a record that holds the JSON output format of a
// metric stream instead of OpenTelemetry 0.7.
var ErrJSONFormat = errors.New("the record holds JSON, not OpenTelemetry 0.7: the metric stream uses the JSON output format; set its OutputFormat to opentelemetry0.7")

// Error describes malformed input: which frame, where it starts and where in
// the record the problem is. Offsets count bytes from the start of the record.
type Error struct {
	Frame       int // 0-based index of the bad frame in the record
	FrameOffset int // byte offset of the bad frame's length prefix
	Offset      int // byte offset of the problem itself
	Reason      string
	Err         error // underlying cause, if any
}

func (e *Error) Error() string {
	if e.Offset == e.FrameOffset {
		return fmt.Sprintf("frame %d at offset %d: %s", e.Frame, e.FrameOffset, e.Reason)
	}
	return fmt.Sprintf("frame %d at offset %d: byte %d: %s", e.Frame, e.FrameOffset, e.Offset, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// Field numbers of the OpenTelemetry 0.7 protobuf messages this decoder reads.
const (
	requestResourceMetrics = 1 // ExportMetricsServiceRequest.resource_metrics

	resourceMetricsResource = 1 // ResourceMetrics.resource
	resourceMetricsILM      = 2 // ResourceMetrics.instrumentation_library_metrics

	resourceAttributes = 1 // Resource.attributes

	keyValueKey   = 1 // KeyValue.key
	keyValueValue = 2 // KeyValue.value

	anyValueString = 1 // AnyValue.string_value

	ilmMetrics = 2 // InstrumentationLibraryMetrics.metrics

	metricName          = 1  // Metric.name
	metricUnit          = 3  // Metric.unit
	metricIntGauge      = 4  // Metric.int_gauge … double_histogram: not sent by CloudWatch
	metricDoubleHist    = 9  //
	metricDoubleSummary = 11 // Metric.double_summary

	summaryDataPoints = 1 // DoubleSummary.data_points

	pointLabels    = 1 // DoubleSummaryDataPoint.labels
	pointStart     = 2 // DoubleSummaryDataPoint.start_time_unix_nano
	pointTime      = 3 // DoubleSummaryDataPoint.time_unix_nano
	pointCount     = 4 // DoubleSummaryDataPoint.count
	pointSum       = 5 // DoubleSummaryDataPoint.sum
	pointQuantiles = 6 // DoubleSummaryDataPoint.quantile_values

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

	// Per-frame position, for errors.
	frame, frameOffset int
}

// Decode calls fn with every data point of every frame in data, in order.
// The Update and its strings are only valid during the call and alias data.
//
// Malformed input yields an *Error naming the frame and byte offset; the data
// points of the frames before the bad one have already been passed to fn. An
// error from fn stops decoding and is returned as is.
func (d *Decoder) Decode(data []byte, fn func(*cw.Update) error) error {
	if looksLikeJSON(data) {
		return &Error{Reason: ErrJSONFormat.Error(), Err: ErrJSONFormat}
	}
	d.frame = 0
	for off := 0; off < len(data); d.frame++ {
		d.frameOffset = off
		n, l := protowire.ConsumeVarint(data[off:])
		if l < 0 {
			return d.errorf(off, protowire.ParseError(l), "length prefix: %v", protowire.ParseError(l))
		}
		start := off + l
		if n > uint64(len(data)-start) {
			return d.errorf(off, nil, "frame length %d runs past the end of the record (%d bytes left)", n, len(data)-start)
		}
		end := start + int(n)
		if err := d.request(data[start:end], start, fn); err != nil {
			return err
		}
		off = end
	}
	return nil
}

// looksLikeJSON tells a JSON-format metric stream record apart from frames.
// CloudWatch's JSON output is one object a line, starting `{"metric_stream_name"`.
// A frame of 123 bytes also starts with '{' (0x7b), but is followed by the
// tag of field 1 (0x0a, a newline), so a newline after '{' is not taken for
// JSON; the other bytes accepted here cannot start a valid request frame.
func looksLikeJSON(data []byte) bool {
	if len(data) < 2 || data[0] != '{' {
		return false
	}
	switch data[1] {
	case '"', ' ', '\r', '\t':
		return true
	}
	return false
}

func (d *Decoder) errorf(at int, err error, format string, args ...any) *Error {
	return &Error{Frame: d.frame, FrameOffset: d.frameOffset, Offset: at, Reason: fmt.Sprintf(format, args...), Err: err}
}

// field is one decoded protobuf field. For the bytes wire type, val holds
// the content and at its offset in the record; for fixed64 and varint, u64.
type field struct {
	num protowire.Number
	typ protowire.Type
	val []byte
	u64 uint64
	at  int // record offset of the field's tag
	vat int // record offset of val
}

// next reads the field at b[*pos:], whose record offset is base+*pos, and
// advances *pos past it.
func (d *Decoder) next(b []byte, pos *int, base int, f *field) error {
	at := base + *pos
	num, typ, n := protowire.ConsumeTag(b[*pos:])
	if n < 0 {
		return d.errorf(at, protowire.ParseError(n), "field tag: %v", protowire.ParseError(n))
	}
	*pos += n
	f.num, f.typ, f.at = num, typ, at
	rest := b[*pos:]
	switch typ {
	case protowire.BytesType:
		v, m := protowire.ConsumeBytes(rest)
		if m < 0 {
			return d.errorf(at, protowire.ParseError(m), "field %d: %v", num, protowire.ParseError(m))
		}
		f.val, f.vat = v, base+*pos+(m-len(v))
		*pos += m
	case protowire.Fixed64Type:
		v, m := protowire.ConsumeFixed64(rest)
		if m < 0 {
			return d.errorf(at, protowire.ParseError(m), "field %d: %v", num, protowire.ParseError(m))
		}
		f.u64 = v
		*pos += m
	case protowire.VarintType:
		v, m := protowire.ConsumeVarint(rest)
		if m < 0 {
			return d.errorf(at, protowire.ParseError(m), "field %d: %v", num, protowire.ParseError(m))
		}
		f.u64 = v
		*pos += m
	default:
		m := protowire.ConsumeFieldValue(num, typ, rest)
		if m < 0 {
			return d.errorf(at, protowire.ParseError(m), "field %d: %v", num, protowire.ParseError(m))
		}
		*pos += m
	}
	return nil
}

// nextMessage advances *pos to the next field num of b, which must be a
// length-delimited submessage, and returns its content and record offset;
// other fields are skipped. ok is false at the end of b.
func (d *Decoder) nextMessage(b []byte, pos *int, base int, num protowire.Number, what string) (v []byte, at int, ok bool, err error) {
	var f field
	for *pos < len(b) {
		if err := d.next(b, pos, base, &f); err != nil {
			return nil, 0, false, err
		}
		if f.num != num {
			continue
		}
		if err := d.want(&f, protowire.BytesType, what); err != nil {
			return nil, 0, false, err
		}
		return f.val, f.vat, true, nil
	}
	return nil, 0, false, nil
}

// want checks a known field's wire type, as the official decoder does.
func (d *Decoder) want(f *field, typ protowire.Type, what string) error {
	if f.typ != typ {
		return d.errorf(f.at, nil, "%s (field %d) has wire type %d, want %d", what, f.num, f.typ, typ)
	}
	return nil
}

// str returns the field's bytes as a string aliasing the input, after the
// UTF-8 check proto3 requires of string fields: an invalid label value would
// otherwise make the store reject a whole write request later.
func (d *Decoder) str(f *field, what string) (string, error) {
	if !utf8.Valid(f.val) {
		return "", d.errorf(f.vat, nil, "%s is not valid UTF-8", what)
	}
	if len(f.val) == 0 {
		return "", nil
	}
	return unsafe.String(unsafe.SliceData(f.val), len(f.val)), nil
}

func (d *Decoder) request(b []byte, base int, fn func(*cw.Update) error) error {
	for pos := 0; ; {
		v, at, ok, err := d.nextMessage(b, &pos, base, requestResourceMetrics, "resource_metrics")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.resourceMetrics(v, at, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) resourceMetrics(b []byte, base int, fn func(*cw.Update) error) error {
	// The resource applies to all metrics of the message wherever it stands,
	// so read it first; CloudWatch writes it first anyway.
	d.u.AccountID, d.u.Region, d.u.StreamARN = "", "", ""
	for pos := 0; ; {
		v, at, ok, err := d.nextMessage(b, &pos, base, resourceMetricsResource, "resource")
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
		v, at, ok, err := d.nextMessage(b, &pos, base, resourceMetricsILM, "instrumentation_library_metrics")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.ilm(v, at, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) resource(b []byte, base int) error {
	for pos := 0; ; {
		v, at, ok, err := d.nextMessage(b, &pos, base, resourceAttributes, "resource attribute")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		key, val, err := d.keyValue(v, at)
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
	return nil
}

// keyValue reads a KeyValue whose value is a string; other value kinds read
// as "" since no attribute CloudWatch sets has them.
func (d *Decoder) keyValue(b []byte, base int) (key, val string, err error) {
	var f field
	for pos := 0; pos < len(b); {
		if err := d.next(b, &pos, base, &f); err != nil {
			return "", "", err
		}
		switch f.num {
		case keyValueKey:
			if err := d.want(&f, protowire.BytesType, "attribute key"); err != nil {
				return "", "", err
			}
			if key, err = d.str(&f, "attribute key"); err != nil {
				return "", "", err
			}
		case keyValueValue:
			if err := d.want(&f, protowire.BytesType, "attribute value"); err != nil {
				return "", "", err
			}
			if val, err = d.anyString(f.val, f.vat); err != nil {
				return "", "", err
			}
		}
	}
	return key, val, nil
}

func (d *Decoder) anyString(b []byte, base int) (string, error) {
	var f field
	s := ""
	for pos := 0; pos < len(b); {
		if err := d.next(b, &pos, base, &f); err != nil {
			return "", err
		}
		if f.num == anyValueString && f.typ == protowire.BytesType {
			var err error
			if s, err = d.str(&f, "attribute value"); err != nil {
				return "", err
			}
		}
	}
	return s, nil
}

func (d *Decoder) ilm(b []byte, base int, fn func(*cw.Update) error) error {
	for pos := 0; ; {
		v, at, ok, err := d.nextMessage(b, &pos, base, ilmMetrics, "metric")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.metric(v, at, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) metric(b []byte, base int, fn func(*cw.Update) error) error {
	// Name and unit first, wherever they stand, then the data points.
	var name, unit string
	var f field
	for pos := 0; pos < len(b); {
		if err := d.next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch {
		case f.num == metricName:
			if err = d.want(&f, protowire.BytesType, "metric name"); err == nil {
				name, err = d.str(&f, "metric name")
			}
		case f.num == metricUnit:
			if err = d.want(&f, protowire.BytesType, "metric unit"); err == nil {
				unit, err = d.str(&f, "metric unit")
			}
		case f.num >= metricIntGauge && f.num <= metricDoubleHist:
			err = d.errorf(f.at, nil, "metric %q holds data of kind %d, not a DoubleSummary: CloudWatch metric streams send only summaries", name, f.num)
		}
		if err != nil {
			return err
		}
	}
	ns, metric := splitMetricName(name)
	for pos := 0; ; {
		v, at, ok, err := d.nextMessage(b, &pos, base, metricDoubleSummary, "double_summary")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.summary(v, at, ns, metric, unit, fn); err != nil {
			return err
		}
	}
	return nil
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
		v, at, ok, err := d.nextMessage(b, &pos, base, summaryDataPoints, "data point")
		if err != nil {
			return err
		}
		if !ok {
			break
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
	return nil
}

func (d *Decoder) point(b []byte, base int) error {
	u := &d.u
	u.Dimensions = u.Dimensions[:0]
	u.Percentiles = u.Percentiles[:0]
	u.StartUnixNano, u.EndUnixNano = 0, 0
	u.Count, u.Sum, u.Min, u.Max = 0, 0, 0, 0
	u.HasMin, u.HasMax = false, false
	var f field
	for pos := 0; pos < len(b); {
		if err := d.next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch f.num {
		case pointLabels:
			if err = d.want(&f, protowire.BytesType, "data point label"); err == nil {
				err = d.label(f.val, f.vat)
			}
		case pointStart:
			if err = d.want(&f, protowire.Fixed64Type, "start_time_unix_nano"); err == nil {
				u.StartUnixNano = f.u64
			}
		case pointTime:
			if err = d.want(&f, protowire.Fixed64Type, "time_unix_nano"); err == nil {
				u.EndUnixNano = f.u64
			}
		case pointCount:
			if err = d.want(&f, protowire.Fixed64Type, "count"); err == nil {
				u.Count = float64(f.u64)
			}
		case pointSum:
			if err = d.want(&f, protowire.Fixed64Type, "sum"); err == nil {
				u.Sum = math.Float64frombits(f.u64)
			}
		case pointQuantiles:
			if err = d.want(&f, protowire.BytesType, "quantile_values"); err == nil {
				err = d.quantile(f.val, f.vat)
			}
		}
		if err != nil {
			return err
		}
	}
	if u.EndUnixNano == 0 {
		return d.errorf(base, nil, "data point of %s/%s has no time_unix_nano", u.Namespace, u.MetricName)
	}
	return nil
}

func (d *Decoder) label(b []byte, base int) error {
	var key, val string
	var f field
	for pos := 0; pos < len(b); {
		if err := d.next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch f.num {
		case stringKeyValueKey:
			if err = d.want(&f, protowire.BytesType, "label key"); err == nil {
				key, err = d.str(&f, "label key")
			}
		case stringKeyValueValue:
			if err = d.want(&f, protowire.BytesType, "label value"); err == nil {
				val, err = d.str(&f, "label value")
			}
		}
		if err != nil {
			return err
		}
	}
	u := &d.u
	switch key {
	case "Namespace":
		u.Namespace = val
	case "MetricName":
		u.MetricName = val
	default:
		if len(u.Dimensions) == maxLabels {
			return d.errorf(base, nil, "data point has more than %d labels; CloudWatch allows 30 dimensions", maxLabels)
		}
		u.Dimensions = append(u.Dimensions, cw.Dimension{Name: key, Value: val})
	}
	return nil
}

func (d *Decoder) quantile(b []byte, base int) error {
	var q, v float64
	var f field
	for pos := 0; pos < len(b); {
		if err := d.next(b, &pos, base, &f); err != nil {
			return err
		}
		var err error
		switch f.num {
		case quantileQuantile:
			if err = d.want(&f, protowire.Fixed64Type, "quantile"); err == nil {
				q = math.Float64frombits(f.u64)
			}
		case quantileValue:
			if err = d.want(&f, protowire.Fixed64Type, "quantile value"); err == nil {
				v = math.Float64frombits(f.u64)
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
			return d.errorf(base, nil, "data point has more than %d quantiles", maxQuantiles)
		}
		u.Percentiles = append(u.Percentiles, cw.Quantile{Q: q, Value: v})
	default:
		return d.errorf(base, nil, "quantile %v of %s/%s is outside [0, 1]", q, u.Namespace, u.MetricName)
	}
	return nil
}
