package convert

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// records builds about size bytes of Firehose records in format f from the
// recorded payloads: each record is one recorded object (~200 KB of 0.7
// frames, ~1,000 data points), re-encoded for the other formats, as
// Firehose would batch them, repeated until size is reached.
func records(tb testing.TB, size int, f wire.Format) (recs [][]byte, datapoints int) {
	var objs [][]byte
	for _, n := range testutil.RealPayloadNames {
		obj := testutil.RealPayload(tb, n)
		if f != wire.OTel07 {
			var d decode.Decoder
			ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(obj, fn) })
			if err != nil {
				tb.Fatal(err)
			}
			if f == wire.OTel10 {
				obj = streamtest.OTel10(ups, 20, streamtest.Nested)
			} else {
				obj = streamtest.JSON(ups)
			}
		}
		objs = append(objs, obj)
	}
	total := 0
	for i := 0; total < size; i++ {
		r := objs[i%len(objs)]
		recs = append(recs, r)
		total += len(r)
	}
	c := New(config.Default())
	for _, r := range recs {
		_, n, err := c.Record(nil, r)
		if err != nil {
			tb.Fatal(err)
		}
		datapoints += n
	}
	return recs, datapoints
}

// benchConfigs are the configurations BenchmarkRecord runs: none, the two
// rules of old, and a realistic set of five (one of each kind users write).
type benchConfig struct {
	name, yaml, file string
	tags             bool // tag enrichment on: every datapoint observed, info series once per loop
}

var benchConfigs = []benchConfig{
	{name: ""},
	{name: "relabel", yaml: `
external_labels: {env: prod}
relabel_configs:
- {source_labels: [__name__], regex: '.*_minimum', action: drop}
- {source_labels: [dimension_DBInstanceIdentifier], target_label: db}
`},
	{name: "relabel5", file: "relabel5.yaml"}, // under testdata/config
	{name: "tags", yaml: "tags: {enabled: true}", tags: true},
}

// config parses the configuration.
func (bc benchConfig) config(tb testing.TB) *config.Config {
	tb.Helper()
	cfg, err := config.Parse([]byte(bc.yaml))
	if bc.file != "" {
		cfg, err = config.Load(testutil.Testdata(tb, "config", bc.file))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// BenchmarkRecord measures bytes → labelled samples (decode, name,
// relabel), one record at a time, memory reused between records as the
// Lambda does, for every output format (detected per record, as in the
// Lambda). Run it on one core: go test -run '^$' -bench Record -cpu 1.
func BenchmarkRecord(b *testing.B) {
	for _, f := range wire.Formats {
		for _, mb := range []int{1, 3, 6} {
			benchmarkRecord(b, f, mb)
		}
	}
}

func benchmarkRecord(b *testing.B, f wire.Format, mb int) {
	recs, dps := records(b, mb<<20, f)
	bytes := 0
	for _, r := range recs {
		bytes += len(r)
	}
	for _, bc := range benchConfigs {
		cfg := bc.config(b)
		name := fmt.Sprintf("%s/%dMB", f.OutputFormat(), mb)
		if bc.name != "" {
			name += "/" + bc.name
		}
		b.Run(name, func(b *testing.B) {
			c := New(cfg)
			var e *tags.Enricher
			if bc.tags {
				// Every resource known and looked up before timing, as
				// in a warm Lambda.
				fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
				e = tags.New(&cfg.Tags, tags.NewAPI(tagstest.Start(b, fake), ""), tags.Options{Wait: time.Minute})
				c.Enrich(e)
				for _, r := range recs {
					if _, _, err := c.Record(nil, r); err != nil {
						b.Fatal(err)
					}
				}
				e.Append(context.Background(), nil, 1)
			}
			var dst, info []sample.Sample
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpu0 := testutil.CPUTime(b)
			for b.Loop() {
				for _, r := range recs {
					var err error
					dst, _, err = c.Record(dst[:0], r)
					if err != nil {
						b.Fatal(err)
					}
				}
				if e != nil {
					info = e.Append(context.Background(), info[:0], 1)
				}
			}
			cpu := testutil.CPUTime(b) - cpu0
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(dps)*float64(b.N)/b.Elapsed().Seconds(), "datapoints/s")
			// Per second of the process's CPU time: on a machine shared
			// with other work, wall time also counts the waits for a CPU.
			b.ReportMetric(float64(dps)*float64(b.N)/cpu.Seconds(), "datapoints/cpu-s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(dps*b.N), "allocs/datapoint")
			b.ReportMetric(0, "ns/op")
		})
	}
}
