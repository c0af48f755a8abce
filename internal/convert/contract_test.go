package convert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// The naming contract holds for every output format: one dataset, encoded
// in OpenTelemetry 0.7 (the fixtures tools/otlp07gen writes with the
// official v0.7.0 types), in OpenTelemetry 1.0 (the official OTLP v1 types,
// dimensions nested and flat) and in JSON (as the user guide shows it),
// becomes exactly the same samples: names, labels, values, timestamps,
// percentiles included, and no average where the sample count is 0.
func TestNamingContractAcrossFormats(t *testing.T) {
	files, err := filepath.Glob(testutil.Testdata(t, "payloads", "*.expected.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("want the generator's fixtures, found %d (%v)", len(files), err)
	}
	var zeroCount, percentiles int
	for _, ef := range files {
		bin := strings.TrimSuffix(ef, ".expected.json") + ".bin"
		v07, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		// The dataset: the 0.7 fixture as decoded (package otlp checks that
		// decoding against the generator's oracle file).
		var d decode.Decoder
		ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(v07, fn) })
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		for _, u := range ups {
			if u.Count == 0 {
				zeroCount++
			}
			percentiles += len(u.Percentiles)
		}
		want := samplesText(t, v07)
		for name, data := range map[string][]byte{
			"OpenTelemetry 1.0, nested dimensions": streamtest.OTel10(ups, 7, streamtest.Nested),
			"OpenTelemetry 1.0, flat dimensions":   streamtest.OTel10(ups, 0, streamtest.Flat),
			"JSON":                                 streamtest.JSON(ups),
		} {
			if got := samplesText(t, data); got != want {
				t.Errorf("%s as %s: the samples differ from 0.7's\n got: %.600s\nwant: %.600s", filepath.Base(bin), name, got, want)
			}
		}
	}
	if zeroCount == 0 || percentiles == 0 {
		t.Fatalf("the dataset must hold a zero sample count (%d) and percentiles (%d)", zeroCount, percentiles)
	}
}

// samplesText converts data with the default configuration and returns its
// samples, one a line, in the Prometheus text form dryrun prints.
func samplesText(t *testing.T, data []byte) string {
	t.Helper()
	c := New(config.Default())
	samples, _, err := c.Record(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, s := range samples {
		b = append(sample.AppendText(b, s), '\n')
	}
	return string(b)
}
