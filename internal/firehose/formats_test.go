package firehose_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// The Lambda handles a Firehose event in each output format end to end: the
// fixtures, re-encoded as a stream set to opentelemetry1.0 or json would
// send them, reach a real Prometheus as exactly the samples of the golden
// files (the reviewed output of the 0.7 fixtures), every record Dropped.
// One event mixing all three formats does too.
func TestEndToEndEveryFormat(t *testing.T) {
	names := []string{"single", "ecs", "rds", "alb", "multi", "odd"}
	want := map[string]bool{}
	byFormat := map[wire.Format][][]byte{}
	for _, name := range names {
		v07, err := os.ReadFile(testutil.Testdata(t, "payloads", name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		var d decode.Decoder
		ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(v07, fn) })
		if err != nil {
			t.Fatal(err)
		}
		byFormat[wire.OTel07] = append(byFormat[wire.OTel07], v07)
		byFormat[wire.OTel10] = append(byFormat[wire.OTel10], streamtest.OTel10(ups, 10, streamtest.Nested))
		byFormat[wire.JSON] = append(byFormat[wire.JSON], streamtest.JSON(ups))
		golden, err := os.ReadFile(testutil.Testdata(t, "golden", name+".prom"))
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.Lines(string(golden)) {
			want[strings.TrimSuffix(l, "\n")] = true
		}
	}
	var mixed [][]byte
	for i := range names {
		mixed = append(mixed, byFormat[wire.Formats[i%len(wire.Formats)]][i])
	}
	cases := map[string][][]byte{"mixed": mixed}
	for _, f := range []wire.Format{wire.OTel10, wire.JSON} {
		cases[f.OutputFormat()] = byFormat[f]
	}
	for name, records := range cases {
		t.Run(name, func(t *testing.T) {
			for i, r := range records {
				if _, err := decode.Detect(r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			prom := startPrometheus(t)
			h := newHandler(t, prom.WriteURL(), remotewrite.Config{})
			for id, res := range invoke(t, h, context.Background(), eventJSON(t, records)) {
				if res != "Dropped" {
					t.Errorf("record %s: %s", id, res)
				}
			}
			compareLineSets(t, dumpLines(t, prom), want)
		})
	}
}
