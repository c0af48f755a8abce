package cwjson

import (
	"errors"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/otlp"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

func collect(t testing.TB, data []byte) ([]cw.Update, error) {
	var d Decoder
	return streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(data, fn) })
}

// The user guide's example, on one line as CloudWatch writes it.
const guideExample = `{"metric_stream_name":"MyMetricStream","account_id":"1234567890","region":"us-east-1","namespace":"AWS/EC2","metric_name":"DiskWriteOps","dimensions":{"InstanceId":"i-123456789012"},"timestamp":1611929698000,"value":{"count":3.0,"sum":20.0,"max":18.0,"min":0.0,"p99":17.56,"p99.9":17.8764,"TM(25%:75%)":16.43},"unit":"Seconds"}`

func TestDecodeGuideExample(t *testing.T) {
	ups, err := collect(t, []byte(guideExample+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := cw.Update{
		AccountID: "1234567890", Region: "us-east-1", Namespace: "AWS/EC2", MetricName: "DiskWriteOps", Unit: "Seconds",
		Dimensions:    []cw.Dimension{{Name: "InstanceId", Value: "i-123456789012"}},
		StartUnixNano: 1611929698000 * 1e6, EndUnixNano: (1611929698000 + 60_000) * 1e6,
		Count: 3, Sum: 20, Max: 18, HasMax: true, Min: 0, HasMin: true,
		Percentiles: []cw.Quantile{{Q: 0.99, Value: 17.56}, {Q: 0.999, Value: 17.8764}},
	}
	if len(ups) != 1 || !reflect.DeepEqual(ups[0], want) {
		t.Fatalf("got %+v\nwant %+v", ups, want)
	}
}

// The generator's json-format fixture holds the first 12 data points of
// rds.bin; decoded, they are the oracle's points, stamped the same.
func TestDecodeFixture(t *testing.T) {
	b, err := os.ReadFile(testutil.Testdata(t, "payloads", "json-format.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ups, err := collect(t, b)
	if err != nil || len(ups) != 12 {
		t.Fatalf("%d updates, err %v", len(ups), err)
	}
	for i, u := range ups {
		if u.Namespace != "AWS/RDS" || len(u.Dimensions) == 0 || u.EndUnixNano-u.StartUnixNano != 60e9 || !u.HasMin || !u.HasMax {
			t.Errorf("update %d: %+v", i, u)
		}
	}
}

func TestDecodeShapes(t *testing.T) {
	base := `"namespace":"N","metric_name":"M","timestamp":1700000000000`
	for _, tt := range []struct {
		name, in string
		check    func(cw.Update) bool
	}{
		{"keys in any order, blanks", "  { \"value\" : { \"sum\" : 1 } , " + base + " }  \r\n", func(u cw.Update) bool { return u.Sum == 1 && !u.HasMin }},
		{"unknown keys skipped", `{"x":[1,{"a":[true,false,null]},"s"],` + base + `,"value":{"sum":2,"TC(10:)":3}}`, func(u cw.Update) bool { return u.Sum == 2 && len(u.Percentiles) == 0 }},
		{"escapes", `{"dimensions":{"K\u00e9y":"a\"b\\c\/d\n\ud83d\ude00"},` + base + `,"value":{}}`, func(u cw.Update) bool {
			return len(u.Dimensions) == 1 && u.Dimensions[0] == cw.Dimension{Name: "Kéy", Value: "a\"b\\c/d\n😀"}
		}},
		{"null statistic", `{` + base + `,"value":{"min":null,"count":0,"sum":0}}`, func(u cw.Update) bool { return !u.HasMin && u.Count == 0 }},
		{"zero sample count", `{` + base + `,"value":{"count":0.0,"sum":0.0,"max":0.0,"min":0.0}}`, func(u cw.Update) bool { return u.HasMin && u.HasMax && u.Count == 0 }},
		{"exponent timestamp", `{"namespace":"N","metric_name":"M","timestamp":1.7e12,"value":{}}`, func(u cw.Update) bool { return u.StartUnixNano == 1.7e18 }},
		{"percentile names", `{` + base + `,"value":{"p50":1,"p0.1":2,"p100":3,"pX":4,"p":5}}`, func(u cw.Update) bool {
			return reflect.DeepEqual(u.Percentiles, []cw.Quantile{{Q: 0.5, Value: 1}, {Q: 0.001, Value: 2}})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ups, err := collect(t, []byte(tt.in))
			if err != nil || len(ups) != 1 || !tt.check(ups[0]) {
				t.Fatalf("%+v, err %v", ups, err)
			}
		})
	}
}

// Firehose joins records without a separator: in an S3 object, a record
// that does not end in a newline runs into the next on one line.
func TestDecodeRecordsRunTogether(t *testing.T) {
	ups, err := collect(t, []byte(guideExample+guideExample+"\n"+guideExample))
	if err != nil || len(ups) != 3 || ups[1].MetricName != "DiskWriteOps" {
		t.Fatalf("%d updates, err %v", len(ups), err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := guideExample + "\n"
	g := len(good)
	for _, tt := range []struct {
		name     string
		in       string
		wantGood int
		line, at int // line and its offset
		msg      string
	}{
		{"not an object", good + "[1]\n", 1, 1, g, `want '{', found '['`},
		{"cut short", good + good[:100], 1, 1, g, "unexpected end of line"},
		{"no namespace", good + `{"metric_name":"M","timestamp":1,"value":{}}`, 1, 1, g, "no namespace"},
		{"no timestamp", `{"namespace":"N","metric_name":"M","value":{}}`, 0, 0, 0, "no timestamp"},
		{"no value", `{"namespace":"N","metric_name":"M","timestamp":1}`, 0, 0, 0, "no value"},
		{"bad timestamp", `{"namespace":"N","metric_name":"M","timestamp":-5,"value":{}}`, 0, 0, 0, "not a time in epoch milliseconds"},
		{"fractional timestamp", `{"namespace":"N","metric_name":"M","timestamp":1.5,"value":{}}`, 0, 0, 0, "not a time"},
		{"garbage after an object", `{"namespace":"N","metric_name":"M","timestamp":1,"value":{}} x`, 1, 0, 0, `want '{', found 'x'`},
		{"dimension not a string", `{"dimensions":{"a":1}}`, 0, 0, 0, `want '"', found '1'`},
		{"statistic not a number", `{"value":{"sum":"x"}}`, 0, 0, 0, "want a number"},
		{"bad number", `{"value":{"sum":1e}}`, 0, 0, 0, `bad number "1e"`},
		{"control character", "{\"namespace\":\"a\tb\"}", 0, 0, 0, "control character"},
		{"bad escape", `{"namespace":"a\qb"}`, 0, 0, 0, `bad escape \q`},
		{"invalid UTF-8", "{\"namespace\":\"a\xffb\"}", 0, 0, 0, "not valid UTF-8"},
		{"blank line counts", good + "\n" + "x\n", 1, 2, g + 1, "want '{'"},
		{"too deep", `{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 0, 0, 0, "nested deeper"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ups, err := collect(t, []byte(tt.in))
			var de *wire.Error
			if !errors.As(err, &de) {
				t.Fatalf("err %v, want *wire.Error", err)
			}
			if len(ups) != tt.wantGood || de.Format != wire.JSON || de.Index != tt.line || de.UnitOffset != tt.at || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%d updates, %q (line %d at %d); want %d, line %d at %d, %q", len(ups), err, de.Index, de.UnitOffset, tt.wantGood, tt.line, tt.at, tt.msg)
			}
			if de.Offset < de.UnitOffset || de.Offset > len(tt.in) {
				t.Errorf("offset %d outside [%d, %d]", de.Offset, de.UnitOffset, len(tt.in))
			}
		})
	}
}

// Bounds keep one line from costing more than a CloudWatch object could.
func TestDecodeBounds(t *testing.T) {
	var dims, stats []string
	for i := range maxDimensions + 1 {
		dims = append(dims, `"d`+strings.Repeat("x", i)+`":"v"`)
	}
	for i := range maxQuantiles + 1 {
		stats = append(stats, `"p`+strconv.Itoa(i+1)+`":1`)
	}
	base := `"namespace":"N","metric_name":"M","timestamp":1`
	for _, in := range []string{`{` + base + `,"value":{},"dimensions":{` + strings.Join(dims, ",") + `}}`, `{` + base + `,"value":{` + strings.Join(stats, ",") + `}}`} {
		if _, err := collect(t, []byte(in)); err == nil || !strings.Contains(err.Error(), "more than 64") {
			t.Errorf("err %v", err)
		}
	}
}

func TestDecodeCallbackError(t *testing.T) {
	stop := errors.New("stop")
	var d Decoder
	if err := d.Decode([]byte(guideExample+"\n"+guideExample), func(*cw.Update) error { return stop }); err != stop {
		t.Fatalf("err %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(guideExample + "\n" + guideExample))
	if b, err := os.ReadFile(testutil.Testdata(f, "payloads", "json-format.jsonl")); err == nil {
		f.Add(b[:min(len(b), 2048)])
	}
	f.Add([]byte(`{"dimensions":{"K\u00e9y":"a\"b\\c\ud83d\ude00"},"x":[1,{"a":null}],"namespace":"N","metric_name":"M","timestamp":1,"value":{"p1":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		err := d.Decode(data, func(u *cw.Update) error {
			if u.EndUnixNano <= u.StartUnixNano {
				t.Fatalf("update with a bad period: %+v", u)
			}
			return nil
		})
		if err == nil {
			return
		}
		var de *wire.Error
		if !errors.As(err, &de) {
			t.Fatalf("error is not a *wire.Error: %v", err)
		}
		if de.UnitOffset < 0 || de.Offset < de.UnitOffset || de.Offset > len(data) || !strings.Contains(err.Error(), "line") {
			t.Fatalf("error %v: offsets %+v outside the input (len %d)", err, de, len(data))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var ups []cw.Update
	for _, name := range testutil.RealPayloadNames {
		var d otlp.Decoder
		u, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(testutil.RealPayload(b, name), wire.OTel07, fn) })
		if err != nil {
			b.Fatal(err)
		}
		ups = append(ups, u...)
	}
	data := streamtest.JSON(ups)
	var d Decoder
	n := 0
	count := func(*cw.Update) error { n++; return nil }
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(data, count); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "datapoints/s")
}

// The fast decimal path gives exactly strconv's value for the numbers it
// takes, and declines the rest.
func TestExactDecimal(t *testing.T) {
	for _, s := range []string{"0", "-0", "3.0", "11.221057", "8733199298", "0.000001", "-12.5", "999999999999999", "0.1", "17.8764", "1.", ".5", "1e5", "1234567890123456", "--1", ""} {
		v, ok := exactDecimal([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if ok && (err != nil || v != want || math.Signbit(v) != math.Signbit(want)) {
			t.Errorf("%q: %v, strconv says %v (%v)", s, v, want, err)
		}
	}
	for _, s := range []string{"3.0", "11.221057", "-12.5"} {
		if _, ok := exactDecimal([]byte(s)); !ok {
			t.Errorf("%q: the fast path declines a plain decimal", s)
		}
	}
}
