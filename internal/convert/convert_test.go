package convert

import (
	"testing"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/testutil"
)

// Every update of the recorded payloads becomes series: at least sum and
// sample_count, plus minimum, maximum, average and percentiles as streamed,
// each sample named and stamped from its own update.
func TestRealPayloadsBecomeSeries(t *testing.T) {
	for _, name := range testutil.RealPayloadNames {
		data := testutil.RealPayload(t, name)
		var ups []cw.Update
		var d decode.Decoder
		if err := d.Decode(data, func(u *cw.Update) error {
			c := *u
			c.Percentiles = append([]cw.Quantile(nil), u.Percentiles...)
			ups = append(ups, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c := New(config.Default())
		samples, dps, err := c.Record(nil, data)
		if err != nil || dps != len(ups) {
			t.Fatalf("%s: %d datapoints, err %v; the decoder saw %d", name, dps, err, len(ups))
		}
		want := 0
		for _, u := range ups {
			want += 2 + len(u.Percentiles)
			if u.HasMin {
				want++
			}
			if u.HasMax {
				want++
			}
			if u.Count > 0 {
				want++
			}
		}
		if len(samples) != want {
			t.Fatalf("%s: %d samples, want %d", name, len(samples), want)
		}
		for i, s := range samples {
			if s.Name == "" || s.T <= 0 || len(s.Labels) < 2 {
				t.Fatalf("%s: sample %d incomplete: %s", name, i, sample.AppendText(nil, s))
			}
		}
		t.Logf("%s: %d updates → %d samples", name, len(ups), len(samples))
	}
}
