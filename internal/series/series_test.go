package series

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/sample"
)

func rdsUpdate() *cw.Update {
	return &cw.Update{
		AccountID: "123456789012", Region: "eu-west-1",
		Namespace: "AWS/RDS", MetricName: "ReadLatency",
		Dimensions:  []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "db-1"}},
		EndUnixNano: 1_700_000_060_000_000_000,
		Count:       4, Sum: 10, Min: 1, Max: 4, HasMin: true, HasMax: true,
		Percentiles: []cw.Quantile{{Q: 0.5, Value: 2}, {Q: 0.99, Value: 3.9}, {Q: 0.999, Value: 3.99}},
	}
}

// lines renders samples as text lines for comparison.
func lines(ss []sample.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, string(sample.AppendText(nil, s)))
	}
	return out
}

func mustConfig(t *testing.T, y string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAppend(t *testing.T) {
	const l = `{account_id="123456789012",dimension_DBInstanceIdentifier="db-1",region="eu-west-1"}`
	const ts = " 1700000060000"
	tests := []struct {
		name   string
		config string
		update func(*cw.Update)
		want   []string
	}{
		{"every statistic", "", nil, []string{
			"aws_rds_read_latency_minimum" + l + " 1" + ts,
			"aws_rds_read_latency_maximum" + l + " 4" + ts,
			"aws_rds_read_latency_sum" + l + " 10" + ts,
			"aws_rds_read_latency_sample_count" + l + " 4" + ts,
			"aws_rds_read_latency_average" + l + " 2.5" + ts,
			"aws_rds_read_latency_p50" + l + " 2" + ts,
			"aws_rds_read_latency_p99" + l + " 3.9" + ts,
			"aws_rds_read_latency_p99_9" + l + " 3.99" + ts,
		}},
		{"count 0: no average", "statistics: [sum, sample_count, average]\npercentiles: []", func(u *cw.Update) { u.Count, u.Sum = 0, 0 }, []string{
			"aws_rds_read_latency_sum" + l + " 0" + ts,
			"aws_rds_read_latency_sample_count" + l + " 0" + ts,
		}},
		{"no min or max streamed", "percentiles: []", func(u *cw.Update) { u.HasMin, u.HasMax = false, false }, []string{
			"aws_rds_read_latency_sum" + l + " 10" + ts,
			"aws_rds_read_latency_sample_count" + l + " 4" + ts,
			"aws_rds_read_latency_average" + l + " 2.5" + ts,
		}},
		{"statistics and percentiles chosen", "statistics: [average]\npercentiles: [p99_9]", nil, []string{
			"aws_rds_read_latency_average" + l + " 2.5" + ts,
			"aws_rds_read_latency_p99_9" + l + " 3.99" + ts,
		}},
		{"external labels sorted in, even before __name__'s place", "statistics: [sum]\npercentiles: []\nexternal_labels: {Env: prod, zone: a}", nil, []string{
			`aws_rds_read_latency_sum{Env="prod",account_id="123456789012",dimension_DBInstanceIdentifier="db-1",region="eu-west-1",zone="a"} 10` + ts,
		}},
		{"no dimensions, no resource", "statistics: [sum]", func(u *cw.Update) {
			u.Dimensions, u.Percentiles, u.AccountID, u.Region = nil, nil, "", ""
		}, []string{"aws_rds_read_latency_sum 10" + ts}},
		{"empty dimension value is no label; values kept as is", "statistics: [sum]\npercentiles: []", func(u *cw.Update) {
			u.Dimensions = []cw.Dimension{{Name: "LoadBalancer", Value: "app/web/50dc6c495c0c9188"}, {Name: "Empty", Value: ""}, {Name: "Some-Dim.Name", Value: `a "b" = c`}}
		}, []string{`aws_rds_read_latency_sum{account_id="123456789012",dimension_LoadBalancer="app/web/50dc6c495c0c9188",dimension_Some_Dim_Name="a \"b\" = c",region="eu-west-1"} 10` + ts}},
		{"relabel: drop by name, rename, add label", `
statistics: [minimum, sum]
percentiles: [p99]
relabel_configs:
  - {source_labels: [__name__], regex: '.*_minimum', action: drop}
  - {source_labels: [__name__], regex: 'aws_rds_(.*)', target_label: __name__, replacement: 'rds_$1'}
  - {source_labels: [dimension_DBInstanceIdentifier], target_label: db}
  - {regex: region, action: labeldrop}
`, nil, []string{
			`rds_read_latency_sum{account_id="123456789012",db="db-1",dimension_DBInstanceIdentifier="db-1"} 10` + ts,
			`rds_read_latency_p99{account_id="123456789012",db="db-1",dimension_DBInstanceIdentifier="db-1"} 3.9` + ts,
		}},
		{"relabel removing __name__ drops the sample", "statistics: [sum]\npercentiles: []\nrelabel_configs: [{regex: __name__, action: labeldrop}]", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := rdsUpdate()
			if tt.update != nil {
				tt.update(u)
			}
			b := New(mustConfig(t, tt.config))
			got := lines(b.Append(nil, u))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStats(t *testing.T) {
	b := New(mustConfig(t, "statistics: [sum]\npercentiles: [p99]\nrelabel_configs: [{source_labels: [__name__], regex: '.*_p99', action: drop}]"))
	b.Append(nil, rdsUpdate())
	b.Append(nil, rdsUpdate())
	want := Stats{Datapoints: 2, Samples: 2, DroppedRelabel: 2, Skipped: 12}
	if got := b.Stats(); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// Label slices handed out stay intact while more datapoints are added,
// across chunk boundaries, until Reset.
func TestLabelChunksStayValid(t *testing.T) {
	b := New(config.Default())
	var all []sample.Sample
	var want []string
	for i := range 3 * chunkLabels {
		u := rdsUpdate()
		u.Dimensions = []cw.Dimension{{Name: "DBInstanceIdentifier", Value: fmt.Sprintf("db-%d", i)}}
		n := len(all)
		all = b.Append(all, u)
		want = append(want, lines(all[n:])...)
	}
	if got := lines(all); !slices.Equal(got, want) {
		t.Fatal("earlier samples changed as later ones were added")
	}
	b.Reset()
	again := b.Append(nil, rdsUpdate())
	// Reset reuses the first chunk: one datapoint's 3 labels in it.
	if len(again) != 8 || b.cur != 0 || b.used != 3 || len(b.chunks) < 2 {
		t.Fatalf("after Reset: %d samples, chunk %d, %d used, %d chunks", len(again), b.cur, b.used, len(b.chunks))
	}
}

func BenchmarkAppend(b *testing.B) {
	u := rdsUpdate()
	bl := New(config.Default())
	var dst []sample.Sample
	b.ReportAllocs()
	for b.Loop() {
		dst = bl.Append(dst[:0], u)
		bl.Reset()
	}
}
