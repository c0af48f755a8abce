package e2ebench

import (
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/cw"
)

// updatesPerFrame is how many data points one generated frame holds.
const updatesPerFrame = 200

// Generate appends to dst a raw object of at least n updates made from base
// (updates of recorded payloads): round k of base goes to group k%groups,
// whose dimension values get the suffix "-<group>" (group 0 keeps them),
// and to turn k/groups, whose times are shifted by turn times the span of
// base's times (plus a minute), so that no two updates share a series and
// a time. So the object holds groups times base's series, as a stream of a
// large account delivers them. It returns the object and the number
// of updates written (whole rounds: at least n).
func Generate(dst []byte, base []cw.Update, n, groups int) ([]byte, int) {
	if len(base) == 0 || n <= 0 {
		return dst, 0
	}
	groups = max(groups, 1)
	lo, hi := base[0].EndUnixNano, base[0].EndUnixNano
	for i := range base {
		lo, hi = min(lo, base[i].EndUnixNano), max(hi, base[i].EndUnixNano)
	}
	span := (hi-lo)/60e9*60e9 + 60e9
	var (
		frame   []cw.Update
		written int
		e       encoder
	)
	for k := 0; written < n; k++ {
		g, minute := k%groups, k/groups
		for i := range base {
			u := base[i]
			if g > 0 {
				suffix := "-" + strconv.Itoa(g)
				dims := make([]cw.Dimension, len(u.Dimensions))
				for j, d := range u.Dimensions {
					dims[j] = cw.Dimension{Name: d.Name, Value: d.Value + suffix}
				}
				u.Dimensions = dims
			}
			shift := uint64(minute) * span
			u.StartUnixNano += shift
			u.EndUnixNano += shift
			frame = append(frame, u)
			if len(frame) == updatesPerFrame {
				dst = e.frame(dst, frame)
				frame = frame[:0]
			}
			written++
		}
	}
	if len(frame) > 0 {
		dst = e.frame(dst, frame)
	}
	return dst, written
}

// encoder writes OpenTelemetry 0.7 ExportMetricsServiceRequest frames by
// hand (field numbers of opentelemetry-proto v0.7.0, as internal/otlp reads
// them); consecutive updates of one resource share a ResourceMetrics, and
// of one metric a Metric, as in CloudWatch's records.
type encoder struct{ req, rm, ilm, metric, summary, tmp []byte }

// Field numbers of OpenTelemetry 0.7 (opentelemetry-proto v0.7.0).
const (
	fReqResourceMetrics = 1
	fRMResource         = 1
	fRMILM              = 2
	fResourceAttrs      = 1
	fKVKey, fKVValue    = 1, 2
	fAnyString          = 1
	fILMMetrics         = 2
	fMetricName         = 1
	fMetricUnit         = 3
	fMetricSummary      = 11
	fSummaryPoints      = 1
	fPointLabels        = 1
	fPointStart         = 2
	fPointTime          = 3
	fPointCount         = 4
	fPointSum           = 5
	fPointQuantiles     = 6
	fQuantileQ          = 1
	fQuantileValue      = 2
)

func appendBytes(dst []byte, num protowire.Number, b []byte) []byte {
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendBytes(dst, b)
}

func appendString(dst []byte, num protowire.Number, s string) []byte {
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendString(dst, s)
}

func appendFixed(dst []byte, num protowire.Number, v uint64) []byte {
	dst = protowire.AppendTag(dst, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(dst, v)
}

// frame appends one varint-length-delimited request holding ups.
func (e *encoder) frame(dst []byte, ups []cw.Update) []byte {
	e.req = e.req[:0]
	for lo := 0; lo < len(ups); {
		hi := lo + 1
		for hi < len(ups) && sameResource(&ups[lo], &ups[hi]) {
			hi++
		}
		e.req = appendBytes(e.req, fReqResourceMetrics, e.resourceMetrics(ups[lo:hi]))
		lo = hi
	}
	dst = protowire.AppendVarint(dst, uint64(len(e.req)))
	return append(dst, e.req...)
}

func sameResource(a, b *cw.Update) bool {
	return a.AccountID == b.AccountID && a.Region == b.Region && a.StreamARN == b.StreamARN
}

func (e *encoder) resourceMetrics(ups []cw.Update) []byte {
	u := &ups[0]
	var res []byte
	for _, kv := range [][2]string{{"cloud.provider", "aws"}, {"cloud.account.id", u.AccountID}, {"cloud.region", u.Region}, {"aws.exporter.arn", u.StreamARN}} {
		any := appendString(nil, fAnyString, kv[1])
		attr := appendString(nil, fKVKey, kv[0])
		attr = appendBytes(attr, fKVValue, any)
		res = appendBytes(res, fResourceAttrs, attr)
	}
	e.ilm = e.ilm[:0]
	for lo := 0; lo < len(ups); {
		hi := lo + 1
		for hi < len(ups) && ups[hi].Namespace == ups[lo].Namespace && ups[hi].MetricName == ups[lo].MetricName && ups[hi].Unit == ups[lo].Unit {
			hi++
		}
		e.ilm = appendBytes(e.ilm, fILMMetrics, e.metricOf(ups[lo:hi]))
		lo = hi
	}
	e.rm = appendBytes(e.rm[:0], fRMResource, res)
	e.rm = appendBytes(e.rm, fRMILM, e.ilm)
	return e.rm
}

func (e *encoder) metricOf(ups []cw.Update) []byte {
	u := &ups[0]
	e.summary = e.summary[:0]
	for i := range ups {
		e.summary = appendBytes(e.summary, fSummaryPoints, point(&ups[i]))
	}
	e.metric = appendString(e.metric[:0], fMetricName, "amazonaws.com/"+u.Namespace+"/"+u.MetricName)
	e.metric = appendString(e.metric, fMetricUnit, u.Unit)
	e.metric = appendBytes(e.metric, fMetricSummary, e.summary)
	return e.metric
}

func point(u *cw.Update) []byte {
	var p []byte
	label := func(k, v string) {
		kv := appendString(nil, fKVKey, k)
		kv = appendString(kv, fKVValue, v)
		p = appendBytes(p, fPointLabels, kv)
	}
	label("Namespace", u.Namespace)
	label("MetricName", u.MetricName)
	for _, d := range u.Dimensions {
		label(d.Name, d.Value)
	}
	p = appendFixed(p, fPointStart, u.StartUnixNano)
	p = appendFixed(p, fPointTime, u.EndUnixNano)
	p = appendFixed(p, fPointCount, uint64(u.Count))
	p = appendFixed(p, fPointSum, math.Float64bits(u.Sum))
	quantile := func(q, v float64) {
		b := appendFixed(nil, fQuantileQ, math.Float64bits(q))
		b = appendFixed(b, fQuantileValue, math.Float64bits(v))
		p = appendBytes(p, fPointQuantiles, b)
	}
	if u.HasMin {
		quantile(0, u.Min)
	}
	if u.HasMax {
		quantile(1, u.Max)
	}
	for _, q := range u.Percentiles {
		quantile(q.Q, q.Value)
	}
	return p
}

// Size formats a byte count as MB with one decimal.
func Size(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
