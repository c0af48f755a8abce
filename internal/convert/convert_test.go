package convert

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

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

// Relabelling through the series cache gives what Prometheus's
// relabel.ProcessBuilder gives for each sample on its own, on first sight of a
// series and from the cache.
func TestRelabelAgreesWithPrometheus(t *testing.T) {
	paths, err := filepath.Glob(testutil.Testdata(t, "payloads", "*.bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var inputs [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	for _, bc := range benchConfigs[1:] {
		if bc.tags {
			continue // no relabel rules
		}
		t.Run(bc.name, func(t *testing.T) {
			cfg := bc.config(t)
			plain := *cfg
			plain.RelabelConfigs = nil
			var want []string
			dropped := 0
			for _, in := range inputs {
				ss, _, err := New(&plain).Record(nil, in)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range ss {
					lb := labels.NewBuilder(labels.EmptyLabels())
					lb.Set(labels.MetricName, s.Name)
					for _, l := range s.Labels {
						lb.Set(l.Name, l.Value)
					}
					keep := relabel.ProcessBuilder(lb, cfg.RelabelConfigs...)
					out := lb.Labels()
					if !keep || out.Get(labels.MetricName) == "" {
						dropped++
						continue
					}
					r := sample.Sample{Name: out.Get(labels.MetricName), T: s.T, V: s.V}
					out.Range(func(l labels.Label) {
						if l.Name != labels.MetricName {
							r.Labels = append(r.Labels, sample.Label{Name: l.Name, Value: l.Value})
						}
					})
					want = append(want, string(sample.AppendText(nil, r)))
				}
			}
			if dropped == 0 || len(want) == 0 {
				t.Fatalf("the rules drop %d of %d samples: the fixtures do not exercise them", dropped, dropped+len(want))
			}
			c := New(cfg)
			for pass := range 2 {
				var got []string
				for _, in := range inputs {
					ss, _, err := c.Record(nil, in)
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range ss {
						got = append(got, string(sample.AppendText(nil, s)))
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("pass %d: %d samples differ from Prometheus's relabelling (%d samples)", pass, len(got), len(want))
				}
			}
		})
	}
}
