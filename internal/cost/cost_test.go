package cost

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// point is one data point to encode: a metric of one namespace with one
// dimension, at the end of minute (minutes since the epoch).
type point struct {
	ns, metric, dim string
	minute          uint64
	count, sum      float64
	minMax          bool      // quantiles 0 and 1 (Minimum, Maximum)
	percentiles     []float64 // other quantiles
}

// Encoders of the OpenTelemetry 0.7 messages, field numbers from
// opentelemetry-proto v0.7.0 (metrics.proto, common.proto).
func field(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func fixed(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func kv(num protowire.Number, k, v string) []byte {
	return field(num, append(field(1, []byte(k)), field(2, []byte(v))...))
}

// record encodes the points as one frame each, as a Firehose record holds
// them.
func record(points ...point) []byte {
	var out []byte
	for _, p := range points {
		end := (p.minute + 1) * uint64(time.Minute)
		dp := bytes.Join([][]byte{
			kv(1, "Namespace", p.ns), kv(1, "MetricName", p.metric), kv(1, "Id", p.dim),
			fixed(2, end-uint64(time.Minute)), fixed(3, end),
			fixed(4, uint64(p.count)), fixed(5, math.Float64bits(p.sum)),
		}, nil)
		qs := p.percentiles
		if p.minMax {
			qs = append([]float64{0, 1}, qs...)
		}
		for _, q := range qs {
			dp = append(dp, field(6, append(fixed(1, math.Float64bits(q)), fixed(2, math.Float64bits(q))...))...)
		}
		metric := append(field(1, []byte("amazonaws.com/"+p.ns+"/"+p.metric)), field(11, field(1, dp))...)
		resource := field(1, field(1, append(field(1, []byte("cloud.account.id")), field(2, field(1, []byte("123456789012")))...)))
		rm := append(resource, field(2, field(2, metric))...)
		req := field(1, rm)
		out = append(protowire.AppendVarint(out, uint64(len(req))), req...)
	}
	return out
}

func meter(t *testing.T, cfgYAML string, f Filter, records ...[]byte) Traffic {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMeter(cfg, f)
	for i, r := range records {
		if err := m.Add(r); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	return m.Traffic()
}

func TestMeterCounts(t *testing.T) {
	rds := Metric{"AWS/RDS", "ReadLatency"}
	recs := [][]byte{
		record(
			// minute 100: a full update (4 basic samples + average), a
			// zero-count one (sum and sample_count only: no min, max or
			// average), one with six percentiles (billed 1 + 2) and one
			// with five (billed 1 + 1).
			point{ns: "AWS/ELB", metric: "RequestCount", dim: "a", minute: 100, count: 2, sum: 4, minMax: true},
			point{ns: "AWS/ELB", metric: "RequestCount", dim: "b", minute: 100},
			point{ns: rds.Namespace, metric: rds.Name, dim: "a", minute: 100, count: 1, sum: 1, minMax: true, percentiles: []float64{0.5, 0.9, 0.95, 0.99, 0.999, 0.9999}},
			point{ns: rds.Namespace, metric: rds.Name, dim: "b", minute: 100, count: 1, sum: 1, minMax: true, percentiles: []float64{0.5, 0.9, 0.95, 0.99, 0.999}},
		),
		// minute 101 and the same series as minute 100's first.
		record(point{ns: "AWS/ELB", metric: "RequestCount", dim: "a", minute: 101, count: 1, sum: 1, minMax: true}),
	}
	got := meter(t, "", Filter{}, recs...)
	if got.Minutes != 2 || got.Records != 2 || got.Updates != 5 {
		t.Errorf("minutes %d records %d updates %d, want 2, 2, 5", got.Minutes, got.Records, got.Updates)
	}
	// 1 + 1 + (1+2) + (1+1) + 1
	if got.BilledUpdates != 8 {
		t.Errorf("billed updates %d, want 8", got.BilledUpdates)
	}
	// 5 + 2 + (5+6) + (5+5) + 5
	if got.Samples != 33 {
		t.Errorf("samples %d, want 33", got.Samples)
	}
	// minute 101 repeats the 5 series of minute 100's first update
	if got.Series != 28 {
		t.Errorf("series %d, want 28", got.Series)
	}
	if got.Bytes != float64(len(recs[0])+len(recs[1])) {
		t.Errorf("bytes %v, want %d", got.Bytes, len(recs[0])+len(recs[1]))
	}

	// The suggested shape: only ReadLatency, with p99 alone.
	cfg := "percentiles: [p99]\nrelabel_configs: [{source_labels: [__name__], regex: aws_rds_read_latency_.*, action: keep}]\n"
	got = meter(t, cfg, Filter{Include: map[Metric]bool{rds: true}, Percentiles: map[Metric][]string{rds: {"p99"}}}, recs...)
	if got.Updates != 2 || got.BilledUpdates != 4 || got.Samples != 12 || got.Minutes != 1 {
		t.Errorf("filtered: updates %d billed %d samples %d minutes %d, want 2, 4, 12, 1", got.Updates, got.BilledUpdates, got.Samples, got.Minutes)
	}
	// Half of the first record's updates and none of the second's remain.
	if want := float64(len(recs[0])) / 2; got.Bytes != want {
		t.Errorf("filtered bytes %v, want %v", got.Bytes, want)
	}
	if s := got.Names["aws_rds_read_latency_p99_99"]; s.Metric != rds || s.Q != 0.9999 || s.CloudWatchName() != "p99.99" {
		t.Errorf("names: %+v (%s)", s, s.CloudWatchName())
	}
}

// padded returns a one-point record of exactly n bytes.
func padded(t *testing.T, n int) []byte {
	for pad := 0; pad < n; pad++ {
		r := record(point{ns: "AWS/ELB", metric: "RequestCount", dim: strings.Repeat("x", pad), minute: 1, count: 1, sum: 1})
		if len(r) == n {
			return r
		}
		if len(r) > n {
			break
		}
	}
	t.Fatalf("no record of %d bytes", n)
	return nil
}

func TestFirehoseRounding(t *testing.T) {
	for _, c := range []struct {
		sizes  []int
		billed float64
	}{
		{[]int{5120}, 5120},
		{[]int{5121}, 10240},
		{[]int{300}, 5120},
		{[]int{300, 300}, 10240}, // per record, not per batch
		{[]int{10240, 10241}, 10240 + 15360},
	} {
		var recs [][]byte
		for _, n := range c.sizes {
			recs = append(recs, padded(t, n))
		}
		if got := meter(t, "", Filter{}, recs...).BilledBytes; got != c.billed {
			t.Errorf("records of %v bytes: billed %v, want %v", c.sizes, got, c.billed)
		}
	}
}

// assumptions are fixed here rather than taken from DefaultAssumptions,
// so the expected values below are the test's own arithmetic.
func assumptions() Assumptions {
	return Assumptions{
		MemoryMiB: 1024, ConvertBytesPerSecond: 100 << 20, WriteRoundTrip: 50 * time.Millisecond,
		SamplesPerRequest: 2000, Concurrency: 4, ProcessorBufferBytes: 1 << 20, ProcessorBufferSeconds: 60,
		S3RetentionDays: 14, S3BufferBytes: 64 << 20, S3BufferSecs: 300,
		KMSKeys: 2, RetentionDays: 150, BytesPerSample: 2, QueryReads: 10, Editors: 1, EndpointAZs: 2,
	}
}

// testPrices are round prices of the test's own, so the arithmetic below
// does not restate the price table (whose values are facts with sources,
// not arithmetic).
func testPrices() Prices {
	return Prices{Region: "test", values: map[string]float64{
		MetricStreamPer1000Updates: 0.004, FirehosePerGB: 0.03,
		LambdaPerMillionRequests: 0.25, LambdaArmPerGBSecond: 0.00002,
		S3PerGBMonth: 0.02, S3Per1000Puts: 0.004, KMSPerKeyMonth: 1.5, KMSPer10000Requests: 0.05,
		AMPTier1Per10MSamples: 1, AMPTier1Samples: 2e9, AMPTier2Per10MSamples: 0.4, AMPTier2Samples: 250e9, AMPTier3Per10MSamples: 0.2,
		AMPStoragePerGBMonth: 0.05, AMPQueryPerBillionSamples: 0.2,
		AMGEditorPerMonth: 10, AMGViewerPerMonth: 4, GetMetricDataPer1000Requests: 0.02,
	}}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestAMPIngestionTiers(t *testing.T) {
	// 438 minutes of traffic extrapolate ×100 to 43,800 minutes (730 h).
	for _, c := range []struct {
		samplesIn438Min float64
		usd             float64
	}{
		{0, 0},
		{20_000_000, 200},                   // exactly the first tier: 2e9 × 1/1e7
		{20_100_000, 200 + 0.4},             // 10M into the second
		{2_520_000_000, 200 + 10_000},       // both tiers full: + 250e9 × 0.4/1e7
		{2_520_100_000, 200 + 10_000 + 0.2}, // 10M into the third
		{100_000, 1},                        // 10M: 1
	} {
		tr := Traffic{Minutes: 438, Samples: int(c.samplesIn438Min)}
		it, _ := Estimate(tr, testPrices(), assumptions()).Item(ItemAMPIngestion)
		if !near(it.USDPerMonth, c.usd) || !near(it.Quantity, c.samplesIn438Min*100) {
			t.Errorf("%v samples: %v samples, $%v; want %v, $%v", c.samplesIn438Min, it.Quantity, it.USDPerMonth, c.samplesIn438Min*100, c.usd)
		}
	}
}

func TestEstimateItems(t *testing.T) {
	// One minute: 1,000 billed updates, 2 MiB in records billed as
	// 2 MiB + 5 KB, 9,000 samples of 10 series with 1,000 bytes of labels.
	tr := Traffic{Minutes: 1, BilledUpdates: 1000, Bytes: 2 << 20, BilledBytes: 2<<20 + 5120, Samples: 9000, Series: 10, SeriesBytes: 1000}
	a := assumptions()
	a.Editors, a.Viewers = 2, 3
	b := Estimate(tr, testPrices(), a)

	const month = 43800.0
	lambdaMs := math.Ceil(1000*(1.0/100)/(1024.0/1769) + 50) // 1 MiB at 100 MiB/s on 1024/1769 vCPU, 3 requests in one round
	want := map[string][2]float64{                           // quantity, USD
		ItemMetricStream: {1000 * month, 1000 * month / 1000 * 0.004},
		ItemFirehose:     {(2<<20 + 5120) * month / (1 << 30), (2<<20 + 5120) * month / (1 << 30) * 0.03},
		ItemLambda:       {2 * month * lambdaMs / 1000, 2*month*lambdaMs/1000*0.00002 + 2*month/1e6*0.25},
		ItemS3:           {0, 0},
		ItemKMS:          {2, 2 * 1.5},
		ItemAMPIngestion: {9000 * month, 9000 * month * 1 / 1e7},
		ItemAMPStorage:   {(9000*month*2*150/(730.0/24) + 1000) / (1 << 30), (9000*month*2*150/(730.0/24) + 1000) / (1 << 30) * 0.05},
		ItemAMPQuery:     {9000 * month * 10, 9000 * month * 10 / 1e9 * 0.2},
		ItemAMG:          {5, 2*10 + 3*4},
	}
	if len(b.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(b.Items), len(want))
	}
	total := 0.0
	for _, it := range b.Items {
		w := want[it.ID]
		if !near(it.Quantity, w[0]) || !near(it.USDPerMonth, w[1]) {
			t.Errorf("%s: %v %s, $%v; want %v, $%v", it.ID, it.Quantity, it.Unit, it.USDPerMonth, w[0], w[1])
		}
		total += w[1]
	}
	if !near(b.Total, total) {
		t.Errorf("total $%v, want $%v", b.Total, total)
	}
	if !near(b.Polling["1m"], 10*month/1000*0.02) || !near(b.Polling["5m"], 10*month/5/1000*0.02) {
		t.Errorf("polling %v, want 1m %v and 5m %v", b.Polling, 10*month/1000*0.02, 10*month/5/1000*0.02)
	}

	// A failed share sends bytes to S3: 1 % of 2 MiB a minute, kept 14
	// days, in one object per 5-minute buffer interval, and as many KMS
	// requests at most.
	a.FailedShare = 0.01
	b = Estimate(tr, testPrices(), a)
	s3Bytes := 0.01 * (2 << 20) * month
	gbMonth := s3Bytes * 14 / (730.0 / 24) / (1 << 30)
	objects := month / 5
	if it, _ := b.Item(ItemS3); !near(it.USDPerMonth, gbMonth*0.02+objects/1000*0.004) {
		t.Errorf("s3 $%v, want $%v", it.USDPerMonth, gbMonth*0.02+objects/1000*0.004)
	}
	if it, _ := b.Item(ItemKMS); !near(it.USDPerMonth, 2*1.5+objects/10000*0.05) {
		t.Errorf("kms $%v, want $%v", it.USDPerMonth, 2*1.5+objects/10000*0.05)
	}

	// No traffic: no Lambda, no stream; AMG's one editor and the keys remain.
	b = Estimate(Traffic{}, testPrices(), assumptions())
	if b.Total != 10+2*1.5 {
		t.Errorf("empty traffic: total $%v, want $13", b.Total)
	}
}

func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p, err := LoadPrices(write("eu.yaml", "region: eu-west-1\nprices: {firehose_per_gb: 0.031}\n"), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Get(FirehosePerGB) != 0.031 || p.Get(AMGEditorPerMonth) != Default().Get(AMGEditorPerMonth) || p.Region != "eu-west-1" {
		t.Errorf("override: firehose %v, editor %v, region %s", p.Get(FirehosePerGB), p.Get(AMGEditorPerMonth), p.Region)
	}
	p, err = LoadPrices(write("d.json", "{\n\t\"prices\": {\"amp_tier1_per_10m_samples\": 0.5}\n}"), "us-east-1")
	if err != nil || p.Get(AMPTier1Per10MSamples) != 0.5 {
		t.Errorf("JSON override: %v, %v", p.Get(AMPTier1Per10MSamples), err)
	}
	for _, c := range []struct{ file, region, want string }{
		{"", "eu-west-1", "give --prices FILE"},
		{write("a.yaml", "prices: {nope: 1}\n"), "us-east-1", `unknown price "nope"`},
		{write("b.yaml", "region: eu-west-1\nprices: {kms_per_key_month: 1}\n"), "us-east-1", `is for region "eu-west-1"`},
		{write("c.yaml", "prices: {kms_per_key_month: -1}\n"), "us-east-1", "negative"},
		{write("e.yaml", "pricez: {}\n"), "us-east-1", "known top-level keys"},
		{write("f.yaml", ""), "us-east-1", "no prices"},
		{write("g.json", `{"prices": {}, "regoin": "x"}`), "us-east-1", "known top-level keys"},
	} {
		if _, err := LoadPrices(c.file, c.region); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadPrices(%s, %s) = %v, want an error containing %q", c.file, c.region, err, c.want)
		}
	}
}

// fleetRecord is one fixture record of the architecture's fleet.
type fleetRecord struct {
	name string
	data []byte
}

// fleetRecords reads the fleet's fixtures: two ECS clusters, RDS
// instances and an Aurora cluster, two ALBs, one minute of each.
func fleetRecords(t *testing.T) []fleetRecord {
	t.Helper()
	var out []fleetRecord
	for _, name := range []string{"ecs.bin", "ecs-2.bin", "rds.bin", "alb.bin", "alb-2.bin"} {
		b, err := os.ReadFile(testutil.Testdata(t, "payloads", name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fleetRecord{name, b})
	}
	return out
}

// addAll adds data to every meter.
func addAll(t *testing.T, data []byte, meters ...*Meter) {
	t.Helper()
	for _, m := range meters {
		if err := m.Add(data); err != nil {
			t.Fatal(err)
		}
	}
}

// With tags on, the bill counts the Tagging API calls: per region the
// fixtures stream, one page per refresh. The fixtures carry 13 such
// resources in us-east-1 (2 ALBs, 3 target groups, 2 ECS clusters, 6
// services) and 5 in eu-west-1 (4 DB instances, 1 Aurora cluster): one
// page each, so 2 calls per refresh, 12 refreshes an hour at 5m. One more
// record carries a DB of another account in eu-west-1: with tags.role_arn
// that account's region is a lookup of its own.
func TestTagLookupsItem(t *testing.T) {
	other := streamtest.JSON([]cw.Update{{AccountID: "210987654321", Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
		Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "ledger-db"}}, EndUnixNano: 1_710_238_560_000_000_000, Count: 1, Sum: 1}})
	for _, tc := range []struct {
		yaml    string
		perHour float64
		unit    string
	}{
		{"tags: {enabled: true, refresh: 5m}", 24, "2 regions"},
		{"tags: {enabled: true, refresh: 10m}", 12, "2 regions"},
		{"tags: {enabled: true, refresh: 5m, role_arn: 'arn:aws:iam::{account}:role/cwstream-tags'}", 36, "3 account regions"},
		{"tags: {enabled: false}", 0, ""},
	} {
		cfg, err := config.Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		m := NewMeter(cfg, Filter{})
		for _, r := range fleetRecords(t) {
			addAll(t, r.data, m)
		}
		addAll(t, other, m)
		tr := m.Traffic()
		bill := Estimate(tr, Default(), DefaultAssumptions())
		it, ok := bill.Item(ItemTagLookups)
		if tc.perHour == 0 {
			if ok {
				t.Errorf("%s: item %+v", tc.yaml, it)
			}
			continue
		}
		own := func(region string) int { return tr.TagResources[region] + tr.TagResources["123456789012 "+region] }
		if !ok || it.Quantity != tc.perHour*730 || it.USDPerMonth != 0 || own("us-east-1") != 13 || own("eu-west-1") < 5 || !strings.Contains(it.Unit, tc.unit) {
			t.Errorf("%s: item %+v, resources %v; want %v calls a month over %s", tc.yaml, it, tr.TagResources, tc.perHour*730, tc.unit)
		}
	}
}
