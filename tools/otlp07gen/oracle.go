package main

import (
	"errors"
	"fmt"

	"github.com/golang/protobuf/proto"
	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// encodeRecord marshals each request with the official types and prefixes it with its
// length as an unsigned varint: the Firehose record layout of an OTel 0.7 metric stream.
func encodeRecord(frames []*colpb.ExportMetricsServiceRequest) ([]byte, error) {
	var rec []byte
	for i, f := range frames {
		b, err := proto.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
		rec = protowire.AppendVarint(rec, uint64(len(b)))
		rec = append(rec, b...)
	}
	return rec, nil
}

// span is where one frame sits in a record: Offset of its length prefix, Start..End of its
// message bytes.
type span struct{ Offset, Start, End int }

// splitFrames finds the frames of a record; it is used on generated records and, by
// -inspect, on real ones, and stops at the first malformed prefix.
func splitFrames(rec []byte) ([]span, error) {
	var out []span
	for off := 0; off < len(rec); {
		n, k := protowire.ConsumeVarint(rec[off:])
		if k < 0 {
			return out, fmt.Errorf("frame at byte %d: bad length prefix: %w", off, protowire.ParseError(k))
		}
		if n > uint64(len(rec)-off-k) {
			return out, fmt.Errorf("frame at byte %d: length %d runs past the end (%d bytes left)", off, n, len(rec)-off-k)
		}
		out = append(out, span{Offset: off, Start: off + k, End: off + k + int(n)})
		off += k + int(n)
	}
	return out, nil
}

type dimJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type quantileJSON struct {
	Quantile float64 `json:"quantile"`
	Value    float64 `json:"value"`
}

// expectedPoint is the oracle's view of one data point. The field names are the contract
// with the main module's decoder test.
type expectedPoint struct {
	Frame         int            `json:"frame"`
	AccountID     string         `json:"account_id"`
	Region        string         `json:"region"`
	StreamARN     string         `json:"stream_arn"`
	Namespace     string         `json:"namespace"`
	MetricName    string         `json:"metric_name"`
	OtelName      string         `json:"otel_name"`
	Unit          string         `json:"unit"`
	Dimensions    []dimJSON      `json:"dimensions"`
	StartUnixNano uint64         `json:"start_unix_nano"`
	TimeUnixNano  uint64         `json:"time_unix_nano"`
	Count         uint64         `json:"count"`
	Sum           float64        `json:"sum"`
	Quantiles     []quantileJSON `json:"quantiles"`
}

var errNotCloudWatch = errors.New("not shaped like a CloudWatch metric stream")

// expected unmarshals every frame of rec with the official types and walks them.
func expected(rec []byte) ([]expectedPoint, int, error) {
	spans, err := splitFrames(rec)
	if err != nil {
		return nil, 0, err
	}
	out := []expectedPoint{}
	for fi, sp := range spans {
		var req colpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(rec[sp.Start:sp.End], &req); err != nil {
			return nil, 0, fmt.Errorf("frame %d at byte %d: %w", fi, sp.Offset, err)
		}
		for _, rm := range req.ResourceMetrics {
			attrs := map[string]string{}
			for _, kv := range rm.GetResource().GetAttributes() {
				attrs[kv.Key] = kv.GetValue().GetStringValue()
			}
			for _, ilm := range rm.InstrumentationLibraryMetrics {
				for _, m := range ilm.Metrics {
					ds := m.GetDoubleSummary()
					if ds == nil {
						return nil, 0, fmt.Errorf("frame %d: metric %q: %w: data is %T", fi, m.Name, errNotCloudWatch, m.Data)
					}
					for _, dp := range ds.DataPoints {
						p := expectedPoint{
							Frame:         fi,
							AccountID:     attrs["cloud.account.id"],
							Region:        attrs["cloud.region"],
							StreamARN:     attrs["aws.exporter.arn"],
							OtelName:      m.Name,
							Unit:          m.Unit,
							Dimensions:    []dimJSON{},
							StartUnixNano: dp.StartTimeUnixNano,
							TimeUnixNano:  dp.TimeUnixNano,
							Count:         dp.Count,
							Sum:           dp.Sum,
							Quantiles:     []quantileJSON{},
						}
						for _, l := range dp.Labels {
							switch l.Key {
							case "Namespace":
								p.Namespace = l.Value
							case "MetricName":
								p.MetricName = l.Value
							default:
								p.Dimensions = append(p.Dimensions, dimJSON{l.Key, l.Value})
							}
						}
						for _, q := range dp.QuantileValues {
							p.Quantiles = append(p.Quantiles, quantileJSON{q.Quantile, q.Value})
						}
						out = append(out, p)
					}
				}
			}
		}
	}
	return out, len(spans), nil
}
