package series

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/naming"
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

// The samples own their strings: reusing the input the update's strings
// alias (as the decoder hands them out) changes nothing already built.
func TestSamplesDoNotAliasTheInput(t *testing.T) {
	b := New(mustConfig(t, "relabel_configs: [{source_labels: [dimension_DBInstanceIdentifier], target_label: db}]"))
	buf := []byte("AWS/RDSReadLatency123456789012eu-west-1DBInstanceIdentifierdb-1")
	alias := func(from, to int) string { return unsafe.String(&buf[from], to-from) }
	u := rdsUpdate()
	u.Namespace, u.MetricName, u.AccountID, u.Region = alias(0, 7), alias(7, 18), alias(18, 30), alias(30, 39)
	u.Dimensions = []cw.Dimension{{Name: alias(39, 59), Value: alias(59, 63)}}
	got := b.Append(nil, u)
	want := lines(got)
	for i := range buf {
		buf[i] = 'x'
	}
	if after := lines(got); !slices.Equal(after, want) {
		t.Fatalf("samples changed with their input:\n%s\nwas\n%s", strings.Join(after, "\n"), strings.Join(want, "\n"))
	}
	// And the cache was not keyed on the overwritten bytes.
	if again := lines(b.Append(nil, rdsUpdate())); !slices.Equal(again, want) {
		t.Fatalf("the same series again:\n%s\nwant\n%s", strings.Join(again, "\n"), strings.Join(want, "\n"))
	}
}

// Samples of one series share one label slice and carry its hash, which
// is what sample.SeriesHash computes; different series differ.
func TestSeriesHash(t *testing.T) {
	b := New(mustConfig(t, "percentiles: []\nrelabel_configs: [{source_labels: [__name__], regex: '.*_sum', target_label: kind, replacement: total}]"))
	u2 := rdsUpdate()
	u2.Dimensions = []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "db-2"}}
	ss := b.Append(b.Append(nil, rdsUpdate()), u2)
	ss = b.Append(ss, rdsUpdate()) // from the cache
	seen := map[uint64]string{}
	for _, s := range ss {
		if s.Hash == 0 || s.Hash != sample.SeriesHash(s.Name, s.Labels) {
			t.Fatalf("%s: hash %x, want %x", sample.AppendText(nil, s), s.Hash, sample.SeriesHash(s.Name, s.Labels))
		}
		text := string(sample.AppendText(nil, sample.Sample{Name: s.Name, Labels: s.Labels}))
		if prev, ok := seen[s.Hash]; ok && prev != text {
			t.Fatalf("one hash for %s and %s", prev, text)
		}
		seen[s.Hash] = text
	}
	if len(seen) != 2*len(naming.Statistics) {
		t.Fatalf("%d series, want the five statistics of two", len(seen))
	}
	// minimum, maximum, sample_count and average keep the series' labels;
	// sum gains one: two label slices for the five statistics.
	first := ss[:5]
	if &first[0].Labels[0] != &first[1].Labels[0] || &first[0].Labels[0] != &first[4].Labels[0] || &first[2].Labels[0] == &first[0].Labels[0] {
		t.Error("the statistics of one series do not share their label slices")
	}
	if &ss[10].Labels[0] != &first[0].Labels[0] {
		t.Error("a cached series got a new label slice")
	}
}

// The cache keeps at most its bound, keeps the series seen since its last
// turn, and forgets series no longer seen.
func TestCacheBounded(t *testing.T) {
	b := New(mustConfig(t, "statistics: [sum, minimum]\npercentiles: []\nrelabel_configs: [{regex: 'dimension_(.*)', action: labelmap}, {source_labels: [__name__], regex: '.*_minimum', action: drop}]"))
	b.cache = newCache(8, defaultCacheBytes)
	upd := func(i int) *cw.Update {
		u := rdsUpdate()
		u.Dimensions = []cw.Dimension{{Name: "DBInstanceIdentifier", Value: fmt.Sprintf("db-%d", i)}}
		return u
	}
	var want, got []string
	for i := range 100 {
		want = append(want, lines(b.Append(nil, upd(i)))...)
		b.Append(nil, upd(0)) // one series seen all along
		if n := b.cache.len(); n > 2*4+1 {
			t.Fatalf("after %d series the cache holds %d entries", i+1, n)
		}
	}
	if b.cache.get(appendKey(nil, upd(0))) == nil {
		t.Error("the series seen all along was forgotten")
	}
	if b.cache.get(appendKey(nil, upd(1))) != nil {
		t.Error("a series not seen for 99 datapoints is still kept")
	}
	for i := range 100 {
		got = append(got, lines(b.Append(nil, upd(i)))...)
	}
	if !slices.Equal(got, want) {
		t.Fatal("samples differ once series were forgotten and made again")
	}
}

// Keys are one-to-one: strings that run into each other make other keys.
func TestKey(t *testing.T) {
	a, b := rdsUpdate(), rdsUpdate()
	b.Namespace, b.MetricName = "AWS/RDSRead", "Latency"
	if string(appendKey(nil, a)) == string(appendKey(nil, b)) {
		t.Fatal("two series, one key")
	}
	u := rdsUpdate()
	u.Dimensions = append(u.Dimensions, cw.Dimension{Name: "", Value: strings.Repeat("v", 300)})
	f := splitKey(nil, string(appendKey(nil, u)))
	want := []string{u.Namespace, u.MetricName, u.AccountID, u.Region, "DBInstanceIdentifier", "db-1", "", strings.Repeat("v", 300)}
	if !slices.Equal(f, want) {
		t.Fatalf("splitKey = %q", f)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, cfg := range []string{"", "relabel_configs: [{regex: 'dimension_(.*)', action: labelmap}, {source_labels: [__name__], regex: '.*_minimum', action: drop}]"} {
		name := "norules"
		if cfg != "" {
			name = "relabel"
		}
		b.Run(name, func(b *testing.B) {
			c, err := config.Parse([]byte(cfg))
			if err != nil {
				b.Fatal(err)
			}
			u := rdsUpdate()
			bl := New(c)
			var dst []sample.Sample
			b.ReportAllocs()
			for b.Loop() {
				dst = bl.Append(dst[:0], u)
			}
		})
	}
}

// BenchmarkCacheMemory measures what the cache keeps per series (B/series),
// and what the byte bound estimates for it (estimated-B/series): an
// ECS-like datapoint with three dimensions, every statistic and three
// percentiles, through five relabel rules of each kind. defaultCacheSeries
// is sized from it.
func BenchmarkCacheMemory(b *testing.B) {
	cfg, err := config.Parse([]byte(ecsRules))
	if err != nil {
		b.Fatal(err)
	}
	ups := ecsUpdates(20_000)
	var perSeries, estimated float64
	for b.Loop() {
		bl := New(cfg)
		heap := cacheHeap(bl, ups)
		perSeries = float64(heap) / float64(len(ups))
		estimated = float64(cachedBytes(bl)) / float64(len(ups))
	}
	b.ReportMetric(perSeries, "B/series")
	b.ReportMetric(estimated, "estimated-B/series")
}

const ecsRules = `
external_labels: {env: prod}
relabel_configs:
- {source_labels: [__name__], regex: 'aws_ecs_containerinsights_.*_minimum', action: drop}
- {source_labels: [__name__], regex: 'aws_(rds|ecs|applicationelb)_.*', action: keep}
- {source_labels: [dimension_ServiceName], regex: '(.+)', target_label: service}
- {regex: dimension_TaskDefinitionFamily, action: labeldrop}
- {regex: 'dimension_(ClusterName)', replacement: '$1', action: labelmap}
`

// ecsUpdates returns n updates of n ECS-like series.
func ecsUpdates(n int) []cw.Update {
	ups := make([]cw.Update, n)
	for i := range ups {
		ups[i] = cw.Update{
			AccountID: "123456789012", Region: "eu-west-1",
			Namespace: "ECS/ContainerInsights", MetricName: "CpuUtilized",
			Dimensions: []cw.Dimension{
				{Name: "ClusterName", Value: "prod-cluster"},
				{Name: "ServiceName", Value: fmt.Sprintf("service-%06d", i)},
				{Name: "TaskDefinitionFamily", Value: fmt.Sprintf("family-%06d", i)},
			},
			EndUnixNano: 1_700_000_060_000_000_000, Count: 4, Sum: 10, Min: 1, Max: 4, HasMin: true, HasMax: true,
			Percentiles: []cw.Quantile{{Q: 0.5, Value: 2}, {Q: 0.9, Value: 3}, {Q: 0.99, Value: 3.9}},
		}
	}
	return ups
}

// cacheHeap appends every update with bl and returns how much the live
// heap grew: what bl keeps, the samples being dropped.
func cacheHeap(bl *Builder, ups []cw.Update) uint64 {
	dst := make([]sample.Sample, 0, 64)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range ups {
		dst = bl.Append(dst[:0], &ups[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Neither the Builder nor the updates may be collected before the
	// second reading: only what the cache keeps may differ.
	runtime.KeepAlive(bl)
	runtime.KeepAlive(ups)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

// cachedBytes is the cache's own estimate of its size, every entry once
// (one found again in prev is in cur too).
func cachedBytes(bl *Builder) int {
	n, seen := 0, map[*entry]bool{}
	for _, m := range []map[string]*entry{bl.cache.cur, bl.cache.prev} {
		for _, e := range m {
			if !seen[e] {
				seen[e] = true
				n += e.size
			}
		}
	}
	return n
}

// Series far larger than usual (30 dimensions of 1,000-byte values, and a
// rule that joins them all into one more label) are bounded by size: the
// heap the cache holds stays near its byte bound, and the estimate is
// near what the heap holds, for these series and for usual ones.
func TestCacheBytesBound(t *testing.T) {
	var dims, sources []string
	for d := range 30 {
		dims = append(dims, fmt.Sprintf("Dim%02d", d))
		sources = append(sources, fmt.Sprintf("dimension_Dim%02d", d))
	}
	cfg := mustConfig(t, fmt.Sprintf("statistics: [sum, maximum]\npercentiles: []\nrelabel_configs: [{source_labels: [%s], separator: ';', target_label: joined}]", strings.Join(sources, ", ")))
	big := make([]cw.Update, 300)
	for i := range big {
		u := rdsUpdate()
		u.Dimensions = nil
		for _, d := range dims {
			u.Dimensions = append(u.Dimensions, cw.Dimension{Name: d, Value: fmt.Sprintf("%06d-%s-%s", i, d, strings.Repeat("v", 988))})
		}
		big[i] = *u
	}
	const bound = 2 << 20
	bl := New(cfg)
	bl.cache = newCache(defaultCacheSeries, bound)
	heap := cacheHeap(bl, big)
	est := cachedBytes(bl)
	t.Logf("300 series of 30 KB dimensions: heap %d bytes, estimate %d, %d series kept", heap, est, bl.cache.len())
	if heap > bound*3/2 {
		t.Errorf("the cache holds %d bytes of heap, bound %d", heap, bound)
	}
	if kept := bl.cache.len(); kept >= len(big) || kept == 0 {
		t.Errorf("%d of %d series kept", kept, len(big))
	}
	within := func(what string, heap uint64, est int) {
		if r := float64(est) / float64(heap); r < 0.7 || r > 1.3 {
			t.Errorf("%s: estimated %d bytes, the heap holds %d (ratio %.2f)", what, est, heap, r)
		}
	}
	within("large series", heap, est)

	usual := New(mustConfig(t, ecsRules))
	ups := ecsUpdates(2000)
	within("usual series", cacheHeap(usual, ups), cachedBytes(usual))
	if per := cachedBytes(usual) / len(ups); per*defaultCacheSeries > defaultCacheBytes {
		t.Errorf("a usual series is estimated at %d bytes: the byte bound, not the count, would limit the cache", per)
	}
}

// More quantiles than a series remembers are still named and relabelled
// right, every time.
func TestManyQuantiles(t *testing.T) {
	b := New(mustConfig(t, "statistics: [sum]\nrelabel_configs: [{source_labels: [__name__], regex: '.*_p1_[0-9]*', action: drop}]"))
	u := rdsUpdate()
	u.Percentiles = nil
	for i := range 3 * maxCachedPercentiles {
		u.Percentiles = append(u.Percentiles, cw.Quantile{Q: 0.001 * float64(i+1), Value: float64(i)})
	}
	for pass := range 2 {
		var names []string
		for _, s := range b.Append(nil, u) {
			names = append(names, s.Name)
		}
		var want []string
		want = append(want, "aws_rds_read_latency_sum")
		for _, q := range u.Percentiles {
			if p := naming.Percentile(q.Q); !strings.HasPrefix(p, "p1_") {
				want = append(want, "aws_rds_read_latency_"+p)
			}
		}
		if !slices.Equal(names, want) {
			t.Fatalf("pass %d:\n%v\nwant\n%v", pass, names, want)
		}
	}
}
