package otlp

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

func collect10(t testing.TB, data []byte) ([]cw.Update, error) {
	var d Decoder
	return streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(data, wire.OTel10, fn) })
}

// stringAttr is a 1.0 KeyValue with a string AnyValue.
func stringAttr(k, v string) []byte {
	return cat(bytesField(keyValueKey, []byte(k)), bytesField(keyValueValue, bytesField(anyValueString, []byte(v))))
}

func goodPoint10() []byte {
	dims := bytesField(kvListValues, stringAttr("DBInstanceIdentifier", "db-1"))
	return cat(
		bytesField(pointAttributes, stringAttr(keyNamespace, "AWS/RDS")),
		bytesField(pointAttributes, cat(bytesField(keyValueKey, []byte(keyDimensions)), bytesField(keyValueValue, bytesField(anyValueKVList, dims)))),
		pointStats())
}

// The recorded 0.7 payloads, re-encoded by the official OTLP v1 types in
// both ways of attaching dimensions, decode as 1.0 to the same updates,
// except the unit-less things 1.0 does not change.
func TestDecode10Official(t *testing.T) {
	for _, name := range testutil.RealPayloadNames {
		want, err := collect(t, testutil.RealPayload(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, style := range []streamtest.DimensionsStyle{streamtest.Nested, streamtest.Flat} {
			data := streamtest.OTel10(want, 50, style)
			if v, err := Version(data); v != wire.OTel10 || err != nil {
				t.Fatalf("%s: Version = %v, %v", name, v, err)
			}
			got, err := collect10(t, data)
			if err != nil {
				t.Fatalf("%s style %d: %v", name, style, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s style %d: %d updates, want %d", name, style, len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if len(w.Dimensions) == 0 {
					w.Dimensions = g.Dimensions
				}
				if len(w.Percentiles) == 0 {
					w.Percentiles = g.Percentiles
				}
				if !reflect.DeepEqual(g, w) {
					t.Fatalf("%s style %d update %d:\n got %+v\nwant %+v", name, style, i, g, w)
				}
			}
		}
	}
}

// Read as the wrong version, a record fails at its first data point, never
// decoding to updates without dimensions (the silent loss this replaced).
func TestWrongVersionIsRefused(t *testing.T) {
	v07 := frame(request(goodPoint()))
	v10 := frame(request(goodPoint10()))
	for _, tt := range []struct {
		name string
		data []byte
		as   wire.Format
		msg  string
	}{
		{"1.0 read as 0.7", v10, wire.OTel07, "attributes (field 7), which only OpenTelemetry 1.0 defines"},
		{"0.7 read as 1.0", v07, wire.OTel10, "labels (field 1), which only OpenTelemetry 0.7 defines"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			n := 0
			err := d.Decode(tt.data, tt.as, func(*cw.Update) error { n++; return nil })
			var de *wire.Error
			if n != 0 || !errors.As(err, &de) || de.Format != tt.as || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%d updates, err %v", n, err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	noDims := cat(fixed64Field(pointTime, 1), fixed64Field(pointCount, 1))
	both := cat(goodPoint(), bytesField(pointAttributes, stringAttr("K", "v")))
	for _, tt := range []struct {
		name string
		data []byte
		want wire.Format
		err  string
	}{
		{"0.7", frame(request(goodPoint())), wire.OTel07, ""},
		{"1.0", frame(request(goodPoint10())), wire.OTel10, ""},
		{"1.0 after a 0.7-less frame", append(frame(request(noDims)), frame(request(goodPoint10()))...), wire.OTel10, ""},
		{"empty", nil, wire.OTel07, ""},
		{"frames without data points", []byte{0, 0}, wire.OTel07, ""},
		{"no dimensions anywhere", frame(request(noDims)), 0, "none of the 1 data points"},
		{"both fields", frame(request(both)), 0, "both labels"},
		{"foreign field", frame(cat(bytesField(requestResourceMetrics, nil), bytesField(5, []byte("x")))), 0, "ExportMetricsServiceRequest has no field 5"},
		{"foreign wire type", frame(fixed64Field(requestResourceMetrics, 1)), 0, "has wire type 1, want 2"},
		{"bad length", []byte{0x05, 0x0a}, 0, "runs past the end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Version(tt.data)
			if tt.err == "" {
				if err != nil || v != tt.want {
					t.Fatalf("Version = %v, %v; want %v", v, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Version = %v, %v; want an error with %q", v, err, tt.err)
			}
			checkError(t, err, tt.data)
		})
	}
}

// A nested Dimensions list is the only list CloudWatch sends; anything
// else is refused rather than guessed at.
func TestDecode10AttributeShapes(t *testing.T) {
	list := func(key string, inner []byte) []byte {
		return bytesField(pointAttributes, cat(bytesField(keyValueKey, []byte(key)), bytesField(keyValueValue, bytesField(anyValueKVList, inner))))
	}
	for _, tt := range []struct {
		name, msg string
		point     []byte
	}{
		{"list under another key", "attribute \"Other\" holds a key-value list", list("Other", bytesField(kvListValues, stringAttr("a", "b")))},
		{"list in a list", "dimension \"a\" holds a key-value list", list(keyDimensions, bytesField(kvListValues,
			cat(bytesField(keyValueKey, []byte("a")), bytesField(keyValueValue, bytesField(anyValueKVList, nil)))))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collect10(t, frame(request(cat(fixed64Field(pointTime, 1), tt.point))))
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v, want %q", err, tt.msg)
			}
		})
	}
}
