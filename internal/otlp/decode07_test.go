package otlp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// collect decodes data and returns copies of every update.
func collect(t testing.TB, data []byte) ([]cw.Update, error) {
	var d Decoder
	return streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(data, wire.OTel07, fn) })
}

// Every update of the recorded payloads decodes, with the identity and
// statistics CloudWatch always sends.
func TestRealPayloads(t *testing.T) {
	want := map[string]struct{ updates, withPercentiles int }{
		// Counted with the official OTLP v0.7.0 types in tools/otlp07gen.
		"otel07-firehose-http-delivery.bin":   {953, 36},
		"otel07-firehose-http-delivery-2.bin": {984, 0},
	}
	for _, name := range testutil.RealPayloadNames {
		t.Run(name, func(t *testing.T) {
			ups, err := collect(t, testutil.RealPayload(t, name))
			if err != nil {
				t.Fatal(err)
			}
			pct := 0
			for i, u := range ups {
				if u.AccountID == "" || u.Region == "" || !strings.HasPrefix(u.StreamARN, "arn:aws:cloudwatch:") {
					t.Errorf("update %d: resource missing: %+v", i, u)
				}
				if u.Namespace == "" || u.MetricName == "" || u.EndUnixNano <= u.StartUnixNano || !u.HasMin || !u.HasMax {
					t.Errorf("update %d: incomplete: %+v", i, u)
				}
				if len(u.Percentiles) > 0 {
					pct++
				}
			}
			if w := want[name]; len(ups) != w.updates || pct != w.withPercentiles {
				t.Errorf("got %d updates (%d with percentiles), want %d (%d)", len(ups), pct, w.updates, w.withPercentiles)
			}
		})
	}
}

// expected is one data point as tools/otlp07gen saw it through the
// official OTLP v0.7.0 Go types.
type expected struct {
	Frame      int     `json:"frame"`
	AccountID  string  `json:"account_id"`
	Region     string  `json:"region"`
	StreamARN  string  `json:"stream_arn"`
	Namespace  string  `json:"namespace"`
	MetricName string  `json:"metric_name"`
	OTelName   string  `json:"otel_name"`
	Unit       string  `json:"unit"`
	Dimensions []dim   `json:"dimensions"`
	StartNano  uint64  `json:"start_unix_nano"`
	TimeNano   uint64  `json:"time_unix_nano"`
	Count      float64 `json:"count"`
	Sum        float64 `json:"sum"`
	Quantiles  []quant `json:"quantiles"`
}

type dim struct{ Name, Value string }
type quant struct{ Quantile, Value float64 }

// The decoder reads the fixtures exactly as the official types wrote them.
func TestFixturesAgainstOracle(t *testing.T) {
	files, err := filepath.Glob(testutil.Testdata(t, "payloads", "*.expected.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("want at least 5 oracle files in testdata/payloads, got %d (%v)", len(files), err)
	}
	for _, ef := range files {
		bin := strings.TrimSuffix(ef, ".expected.json") + ".bin"
		t.Run(filepath.Base(bin), func(t *testing.T) {
			var want []expected
			readJSON(t, ef, &want)
			data, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			got, err := collect(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("decoded %d data points, the oracle has %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				e := cw.Update{
					AccountID: w.AccountID, Region: w.Region, StreamARN: w.StreamARN,
					Namespace: w.Namespace, MetricName: w.MetricName, Unit: w.Unit,
					StartUnixNano: w.StartNano, EndUnixNano: w.TimeNano, Count: w.Count, Sum: w.Sum,
				}
				for _, d := range w.Dimensions {
					e.Dimensions = append(e.Dimensions, cw.Dimension{Name: d.Name, Value: d.Value})
				}
				for _, q := range w.Quantiles {
					switch q.Quantile {
					case 0:
						e.Min, e.HasMin = q.Value, true
					case 1:
						e.Max, e.HasMax = q.Value, true
					default:
						e.Percentiles = append(e.Percentiles, cw.Quantile{Q: q.Quantile, Value: q.Value})
					}
				}
				if len(e.Dimensions) == 0 {
					e.Dimensions = g.Dimensions[:0:0]
					g.Dimensions = e.Dimensions
				}
				if len(e.Percentiles) == 0 {
					e.Percentiles = g.Percentiles[:0:0]
					g.Percentiles = e.Percentiles
				}
				if !reflect.DeepEqual(g, e) {
					t.Fatalf("data point %d (frame %d):\n got %+v\nwant %+v", i, w.Frame, g, e)
				}
			}
		})
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// frame prefixes msg with its varint length.
func frame(msg []byte) []byte {
	return append(protowire.AppendVarint(nil, uint64(len(msg))), msg...)
}

func bytesField(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func fixed64Field(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// request builds an ExportMetricsServiceRequest with one metric holding the
// given data point bytes. Apart from the data point, 0.7 and 1.0 encode it
// alike (resource attributes are KeyValues in both).
func request(point []byte) []byte {
	metric := cat(bytesField(metricName, []byte("amazonaws.com/AWS/RDS/CPUUtilization")),
		bytesField(metricUnit, []byte("%")),
		bytesField(metricSummary, bytesField(summaryDataPoints, point)))
	rm := cat(bytesField(resourceMetricsResource, bytesField(resourceAttributes,
		cat(bytesField(keyValueKey, []byte(attrAccountID)), bytesField(keyValueValue, bytesField(anyValueString, []byte("123456789012")))))),
		bytesField(resourceMetricsScope, bytesField(scopeMetrics, metric)))
	return bytesField(requestResourceMetrics, rm)
}

func goodPoint() []byte {
	return cat(
		bytesField(pointLabels, cat(bytesField(stringKeyValueKey, []byte("DBInstanceIdentifier")), bytesField(stringKeyValueValue, []byte("db-1")))),
		pointStats())
}

// pointStats are the period and statistics of the hand-built data points,
// the same in 0.7 and 1.0.
func pointStats() []byte {
	return cat(
		fixed64Field(pointStart, 1_700_000_000_000_000_000),
		fixed64Field(pointTime, 1_700_000_060_000_000_000),
		fixed64Field(pointCount, 4),
		fixed64Field(pointSum, math.Float64bits(10)),
		bytesField(pointQuantiles, cat(fixed64Field(quantileQuantile, math.Float64bits(0)), fixed64Field(quantileValue, math.Float64bits(1)))),
		bytesField(pointQuantiles, cat(fixed64Field(quantileQuantile, math.Float64bits(1)), fixed64Field(quantileValue, math.Float64bits(4)))),
		bytesField(pointQuantiles, cat(fixed64Field(quantileQuantile, math.Float64bits(0.99)), fixed64Field(quantileValue, math.Float64bits(3.9)))),
	)
}

// The same data point, hand-built in each version, decodes alike.
func TestDecodeHandBuilt(t *testing.T) {
	for _, tc := range []struct {
		v     wire.Format
		point []byte
	}{{wire.OTel07, goodPoint()}, {wire.OTel10, goodPoint10()}} {
		t.Run(tc.v.String(), func(t *testing.T) { checkHandBuilt(t, tc.v, tc.point) })
	}
}

func checkHandBuilt(t *testing.T, v wire.Format, point []byte) {
	var d Decoder
	ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(frame(request(point)), v, fn) })
	if err != nil {
		t.Fatal(err)
	}
	want := cw.Update{
		AccountID: "123456789012", Namespace: "AWS/RDS", MetricName: "CPUUtilization", Unit: "%",
		Dimensions:    []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "db-1"}},
		StartUnixNano: 1_700_000_000_000_000_000, EndUnixNano: 1_700_000_060_000_000_000,
		Count: 4, Sum: 10, Min: 1, Max: 4, HasMin: true, HasMax: true,
		Percentiles: []cw.Quantile{{Q: 0.99, Value: 3.9}},
	}
	if len(ups) != 1 || !reflect.DeepEqual(ups[0], want) {
		t.Fatalf("got %+v\nwant %+v", ups, want)
	}
	if got := ups[0].TimestampMillis(); got != 1_700_000_060_000 {
		t.Errorf("TimestampMillis = %d", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := frame(request(goodPoint()))
	g := len(good)
	badUTF8 := cat(bytesField(pointLabels, cat(bytesField(stringKeyValueKey, []byte("K")), bytesField(stringKeyValueValue, []byte{0xff, 0xfe}))),
		fixed64Field(pointTime, 1))
	tests := []struct {
		name      string
		data      []byte
		wantGood  int    // updates decoded before the error
		wantFrame int    // frame index in the error
		wantAt    int    // frame offset in the error
		wantMsg   string // substring
	}{
		{"truncated varint", cat(good, good, []byte{0x80}), 2, 2, 2 * g, "length prefix"},
		{"length past end", cat(good, []byte{0xff, 0x01}, good[:10]), 1, 1, g, "frame length 255 runs past the end of the record (10 bytes left)"},
		{"bad tag", cat(good, frame([]byte{0x0a, 0x05, 0x01})), 1, 1, g, "field 1"},
		{"wrong wire type", frame(cat(protowire.AppendTag(nil, requestResourceMetrics, protowire.VarintType), []byte{1})), 0, 0, 0, "resource_metrics (field 1) has wire type 0, want 2"},
		{"invalid UTF-8", cat(good, frame(request(badUTF8))), 1, 1, g, "label value is not valid UTF-8"},
		{"no time", frame(request(fixed64Field(pointCount, 1))), 0, 0, 0, "has no time_unix_nano"},
		{"quantile out of range", frame(request(cat(fixed64Field(pointTime, 1),
			bytesField(pointQuantiles, fixed64Field(quantileQuantile, math.Float64bits(1.5)))))), 0, 0, 0, "quantile 1.5"},
		{"not a summary", frame(bytesField(requestResourceMetrics, bytesField(resourceMetricsScope, bytesField(scopeMetrics,
			cat(bytesField(metricName, []byte("x")), bytesField(5, nil)))))), 0, 0, 0, "not a summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ups, err := collect(t, tt.data)
			var de *wire.Error
			if !errors.As(err, &de) {
				t.Fatalf("error = %v, want *wire.Error", err)
			}
			if len(ups) != tt.wantGood || de.Index != tt.wantFrame || de.UnitOffset != tt.wantAt || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %d updates, error %q (frame %d at %d); want %d updates, frame %d at %d, message with %q",
					len(ups), err, de.Index, de.UnitOffset, tt.wantGood, tt.wantFrame, tt.wantAt, tt.wantMsg)
			}
			if de.Offset < de.UnitOffset || de.Offset > len(tt.data) {
				t.Errorf("problem offset %d outside [frame offset %d, len %d]", de.Offset, de.UnitOffset, len(tt.data))
			}
		})
	}
}

// The fixture files under testdata/payloads/bad say where they break.
func TestBadFixtures(t *testing.T) {
	files, _ := filepath.Glob(testutil.Testdata(t, "payloads", "bad", "*.bin"))
	if len(files) < 3 {
		t.Fatalf("want the malformed fixtures in testdata/payloads/bad, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = collect(t, data)
			var de *wire.Error
			if !errors.As(err, &de) {
				t.Fatalf("error = %v, want *wire.Error", err)
			}
			// The generator says where it broke the input: "frame at byte N".
			note, err2 := os.ReadFile(strings.TrimSuffix(f, ".bin") + ".txt")
			if err2 != nil {
				t.Fatal(err2)
			}
			var at int
			if _, err := fmt.Sscanf(string(note), "frame at byte %d", &at); err != nil {
				t.Fatalf("%s.txt: %v", f, err)
			}
			if de.UnitOffset != at || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", at)) {
				t.Errorf("error %q names frame offset %d, the fixture breaks at %d", err, de.UnitOffset, at)
			}
		})
	}
}

// Data points beyond any CloudWatch shape are refused before they can cost
// time or memory.
func TestDecodeBounds(t *testing.T) {
	var labels, quantiles []byte
	for i := range maxLabels + 1 {
		labels = append(labels, bytesField(pointLabels, cat(bytesField(stringKeyValueKey, []byte(fmt.Sprintf("D%d", i))), bytesField(stringKeyValueValue, []byte("v"))))...)
	}
	for i := range maxQuantiles + 1 {
		quantiles = append(quantiles, bytesField(pointQuantiles, cat(fixed64Field(quantileQuantile, math.Float64bits(0.001*float64(i+1))), fixed64Field(quantileValue, 0)))...)
	}
	for name, point := range map[string][]byte{"labels": labels, "quantiles": quantiles} {
		_, err := collect(t, frame(request(cat(fixed64Field(pointTime, 1), point))))
		if err == nil || !strings.Contains(err.Error(), "more than 64 "+name) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// Empty records and empty frames are valid and hold nothing.
func TestDecodeEmpty(t *testing.T) {
	for _, data := range [][]byte{nil, {0}, {0, 0, 0}} {
		ups, err := collect(t, data)
		if err != nil || len(ups) != 0 {
			t.Errorf("%v: %d updates, err %v", data, len(ups), err)
		}
	}
}

// An error from the callback stops decoding and comes back unchanged.
func TestDecodeCallbackError(t *testing.T) {
	stop := errors.New("stop")
	var d Decoder
	n := 0
	err := d.Decode(testutil.RealPayload(t, testutil.RealPayloadNames[0]), wire.OTel07, func(*cw.Update) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("err = %v after %d updates", err, n)
	}
}

// BenchmarkDecode decodes a recorded 0.7 object, and the same data points
// encoded in 1.0 by the official OTLP v1 types.
func BenchmarkDecode(b *testing.B) {
	v07 := testutil.RealPayload(b, testutil.RealPayloadNames[0])
	ups, err := collect(b, v07)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		v    wire.Format
		data []byte
	}{{wire.OTel07, v07}, {wire.OTel10, streamtest.OTel10(ups, 20, streamtest.Nested)}} {
		b.Run(tc.v.OutputFormat(), func(b *testing.B) {
			var d Decoder
			n := 0
			count := func(*cw.Update) error { n++; return nil }
			b.SetBytes(int64(len(tc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode(tc.data, tc.v, count); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "datapoints/s")
		})
	}
}
