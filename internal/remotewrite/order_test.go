package remotewrite

import (
	"context"
	"errors"
	"github.com/cwstream/cwstream/internal/cause"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/sample"
	"github.com/prometheus/prometheus/prompb"
)

// Many series × many timestamps, shuffled, over 4 shards with small
// requests: every sample arrives once, sorted per series; a series' requests
// never overlap in time (one shard, sent in order); labels are sorted with
// __name__ in place; every request is within both batching limits.
func TestOrderingShardingAndBatching(t *testing.T) {
	const nSeries, nTimes = 120, 40
	rnd := rand.New(rand.NewPCG(1, 2))
	var in []sample.Sample
	for s := range nSeries {
		// Label names around __name__: "Env" and "__a" sort before it,
		// "a" and "zone" after it.
		ls := []sample.Label{
			{Name: "Env", Value: "prod"},
			{Name: "__a", Value: "x"},
			{Name: "a", Value: strconv.Itoa(s % 7)},
			{Name: "zone", Value: "z" + strconv.Itoa(s)},
		}
		for ti := range nTimes {
			in = append(in, sample.Sample{Name: "metric_" + strconv.Itoa(s%5), Labels: ls, T: int64(1e12 + ti*1000), V: float64(s*1000 + ti)})
		}
	}
	rnd.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })

	rc := newReceiver(t, nil)
	rc.delay = func(n int) time.Duration { return time.Duration(n%3) * time.Millisecond }
	cfg := testConfig(rc.url())
	cfg.Concurrency = 4
	cfg.MaxSamplesPerRequest = 97
	cfg.MaxBytesPerRequest = 6000
	c, _ := newTestClient(t, cfg)
	rep := c.Write(context.Background(), in)
	if len(rep.Failed) != 0 || rep.SamplesWritten != len(in) || rep.SeriesWritten != nSeries {
		t.Fatalf("report: %d failed, %d samples and %d series written; want 0, %d, %d", len(rep.Failed), rep.SamplesWritten, rep.SeriesWritten, len(in), nSeries)
	}
	got := rc.received()
	if rep.Requests != len(got) {
		t.Fatalf("Requests = %d, server saw %d", rep.Requests, len(got))
	}

	type span struct{ start, end time.Time }
	spans := map[string][]span{}
	for _, r := range got {
		var n int
		for _, ts := range r.req.Timeseries {
			n += len(ts.Samples)
			names := make([]string, len(ts.Labels))
			for i, l := range ts.Labels {
				names[i] = l.Name
			}
			if !slices.IsSorted(names) {
				t.Fatalf("request %d: labels not sorted: %v", r.n, names)
			}
			if want := []string{"Env", "__a", "__name__", "a", "zone"}; !slices.Equal(names, want) {
				t.Fatalf("request %d: label names %v, want %v", r.n, names, want)
			}
			k := seriesKey(ts.Labels)
			if sp := spans[k]; len(sp) == 0 || sp[len(sp)-1].start != r.start {
				spans[k] = append(spans[k], span{r.start, r.end})
			}
		}
		if n > cfg.MaxSamplesPerRequest {
			t.Errorf("request %d has %d samples, limit %d", r.n, n, cfg.MaxSamplesPerRequest)
		}
		if r.rawLen > cfg.MaxBytesPerRequest {
			t.Errorf("request %d is %d bytes uncompressed, limit %d", r.n, r.rawLen, cfg.MaxBytesPerRequest)
		}
	}
	// A series' requests come from one shard: strictly one after another.
	for k, sp := range spans {
		slices.SortFunc(sp, func(a, b span) int { return a.start.Compare(b.start) })
		for i := 1; i < len(sp); i++ {
			if sp[i].start.Before(sp[i-1].end) {
				t.Fatalf("series %s: requests overlap in time, so it was in two shards", k)
			}
		}
	}
	// Every sample exactly once, sorted by timestamp per series.
	want := map[string][]tv{}
	for _, s := range in {
		k := inputKey(s)
		want[k] = append(want[k], tv{s.T, math.Float64bits(s.V)})
	}
	for _, v := range want {
		slices.SortFunc(v, func(a, b tv) int { return int(a.t - b.t) })
	}
	wire := wireSamples(got)
	if len(wire) != len(want) {
		t.Fatalf("server saw %d series, want %d", len(wire), len(want))
	}
	for k, w := range want {
		if !slices.Equal(wire[k], w) {
			t.Fatalf("series %s: wire samples %v, want %v", k, wire[k], w)
		}
	}
	// Requests are cut by both limits, so there must be more than one per shard.
	if len(got) <= cfg.Concurrency {
		t.Fatalf("only %d requests: the limits were not exercised", len(got))
	}
}

func TestBytesLimitSplitsOneSeries(t *testing.T) {
	long := strings.Repeat("v", 300)
	ls := []sample.Label{{Name: "a", Value: long}, {Name: "b", Value: long}}
	var in []sample.Sample
	for i := range 100 {
		in = append(in, sample.Sample{Name: "one_series", Labels: ls, T: int64(100 - i), V: float64(i)})
	}
	rc := newReceiver(t, nil)
	cfg := testConfig(rc.url())
	cfg.MaxBytesPerRequest = 1000
	c, _ := newTestClient(t, cfg)
	rep := c.Write(context.Background(), in)
	if len(rep.Failed) != 0 || rep.SeriesWritten != 1 {
		t.Fatalf("report = %+v", rep)
	}
	got := rc.received()
	var prev int64 = -1
	for _, r := range got {
		if r.rawLen > cfg.MaxBytesPerRequest {
			t.Fatalf("request %d is %d bytes, limit %d", r.n, r.rawLen, cfg.MaxBytesPerRequest)
		}
		if len(r.req.Timeseries) != 1 {
			t.Fatalf("request %d has %d series, want 1", r.n, len(r.req.Timeseries))
		}
		for _, s := range r.req.Timeseries[0].Samples {
			if s.Timestamp <= prev {
				t.Fatalf("timestamps out of order across requests: %d after %d", s.Timestamp, prev)
			}
			prev = s.Timestamp
		}
	}
	// ~645 bytes of labels + 13 per sample (1-byte timestamps): each full
	// request must be too full to take one more sample.
	for _, r := range got[:len(got)-1] {
		if r.rawLen+13 <= cfg.MaxBytesPerRequest {
			t.Fatalf("request %d is %d bytes: another 13-byte sample fitted under %d", r.n, r.rawLen, cfg.MaxBytesPerRequest)
		}
	}
	if len(got) != 4 {
		t.Fatalf("%d requests for 100 samples at ~27 per 1000 bytes, want 4", len(got))
	}
}

// A series whose labels alone exceed MaxBytesPerRequest is sent one sample
// per request rather than lost.
func TestOversizedSeriesSentAlone(t *testing.T) {
	ls := []sample.Label{{Name: "a", Value: strings.Repeat("v", 500)}}
	in := []sample.Sample{{Name: "m", Labels: ls, T: 1, V: 1}, {Name: "m", Labels: ls, T: 2, V: 2}}
	rc := newReceiver(t, nil)
	cfg := testConfig(rc.url())
	cfg.MaxBytesPerRequest = 100
	c, _ := newTestClient(t, cfg)
	rep := c.Write(context.Background(), in)
	if len(rep.Failed) != 0 || len(rc.received()) != 2 {
		t.Fatalf("report = %+v, requests = %d; want 2 one-sample requests", rep, len(rc.received()))
	}
}

func TestDuplicatesAndUnsortedLabels(t *testing.T) {
	sorted := []sample.Label{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}
	unsorted := []sample.Label{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}}
	nan := math.Float64frombits(0x7ff0000000000002) // stale marker
	in := []sample.Sample{
		{Name: "m", Labels: sorted, T: 2, V: 5},
		{Name: "m", Labels: unsorted, T: 1, V: 4}, // same series as above
		{Name: "m", Labels: sorted, T: 2, V: 5},   // exact duplicate: sent once
		{Name: "m", Labels: sorted, T: 3, V: nan},
		{Name: "m", Labels: unsorted, T: 3, V: nan}, // duplicate NaN (bitwise)
		{Name: "m", Labels: sorted, T: 4, V: 1},
		{Name: "m", Labels: sorted, T: 4, V: 2}, // same time, a revised value: the later one is sent
		{Name: "m", Labels: sorted, T: 4, V: 2}, // and its exact duplicate is not
		{Name: "m", Labels: sorted, T: 0, V: math.Copysign(0, -1)},
	}
	rc := newReceiver(t, nil)
	c, _ := newTestClient(t, testConfig(rc.url()))
	rep := c.Write(context.Background(), in)
	if len(rep.Failed) != 0 || rep.SamplesWritten != len(in) || rep.SeriesWritten != 1 || rep.SamplesSuperseded != 1 {
		t.Fatalf("report = %+v; want all %d written as 1 series, 1 superseded", rep, len(in))
	}
	got := rc.received()
	if len(got) != 1 || len(got[0].req.Timeseries) != 1 {
		t.Fatalf("want 1 request with 1 series, got %d requests", len(got))
	}
	ts := got[0].req.Timeseries[0]
	if want := []prompb.Label{{Name: "__name__", Value: "m"}, {Name: "a", Value: "1"}, {Name: "b", Value: "2"}}; seriesKey(ts.Labels) != seriesKey(want) {
		t.Fatalf("labels = %v, want %v", ts.Labels, want)
	}
	wantTV := []tv{{0, 1 << 63}, {1, math.Float64bits(4)}, {2, math.Float64bits(5)}, {3, 0x7ff0000000000002}, {4, math.Float64bits(2)}}
	var gotTV []tv
	for _, s := range ts.Samples {
		gotTV = append(gotTV, tv{s.Timestamp, math.Float64bits(s.Value)})
	}
	if !slices.Equal(gotTV, wantTV) {
		t.Fatalf("samples = %v, want %v", gotTV, wantTV)
	}
}

func TestLimitGuard(t *testing.T) {
	good := []sample.Label{{Name: "job", Value: "x"}}
	many := make([]sample.Label, 70) // + __name__ = 71
	for i := range many {
		many[i] = sample.Label{Name: "l" + strconv.Itoa(100+i), Value: "v"}
	}
	tests := []struct {
		name      string
		metric    string
		labels    []sample.Label
		wantCause string
	}{
		{"valid, 69 labels + __name__", "ok", many[:69], ""},
		{"valid colon metric name", "ns:rule:rate5m", good, ""},
		{"too many labels", "m", many, ReasonTooManyLabels},
		{"label name with dash", "m", []sample.Label{{Name: "a-b", Value: "v"}}, ReasonInvalidLabelName},
		{"label name starting with digit", "m", []sample.Label{{Name: "1a", Value: "v"}}, ReasonInvalidLabelName},
		{"empty label name", "m", []sample.Label{{Name: "", Value: "v"}}, ReasonInvalidLabelName},
		{"label name with colon", "m", []sample.Label{{Name: "a:b", Value: "v"}}, ReasonInvalidLabelName},
		{"duplicate label", "m", []sample.Label{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}}, ReasonDuplicateLabelName},
		{"__name__ among labels", "m", []sample.Label{{Name: "__name__", Value: "n"}}, ReasonDuplicateLabelName},
		{"label name too long", "m", []sample.Label{{Name: strings.Repeat("a", 33), Value: "v"}}, ReasonLabelNameTooLong},
		{"label value too long", "m", []sample.Label{{Name: "a", Value: strings.Repeat("v", 65)}}, ReasonLabelValueTooLong},
		{"metric name too long", strings.Repeat("m", 65), good, ReasonLabelValueTooLong},
		{"empty label value", "m", []sample.Label{{Name: "a", Value: ""}}, ReasonEmptyLabelValue},
		{"invalid UTF-8 value", "m", []sample.Label{{Name: "a", Value: "\xff"}}, ReasonInvalidLabelValue},
		{"empty metric name", "", good, ReasonInvalidMetricName},
		{"metric name with dot", "aws.ec2", good, ReasonInvalidMetricName},
		{"metric name starting with digit", "1m", good, ReasonInvalidMetricName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			cfg := testConfig(rc.url())
			cfg.MaxLabelNameLength, cfg.MaxLabelValueLength = 32, 64
			c, _ := newTestClient(t, cfg)
			// The bad series (3 samples) between two good ones.
			in := []sample.Sample{
				{Name: "good_before", Labels: good, T: 1, V: 1},
				{Name: tt.metric, Labels: tt.labels, T: 1, V: 1},
				{Name: tt.metric, Labels: tt.labels, T: 2, V: 2},
				{Name: tt.metric, Labels: tt.labels, T: 2, V: 2},
				{Name: "good_after", Labels: good, T: 1, V: 1},
			}
			rep := c.Write(context.Background(), in)
			wire := wireSamples(rc.received())
			if tt.wantCause == "" {
				if len(rep.Failed) != 0 || len(wire) != 3 {
					t.Fatalf("valid series: report %+v, %d series on the wire", rep, len(wire))
				}
				return
			}
			if len(wire) != 2 || rep.SamplesWritten != 2 || rep.SeriesWritten != 2 {
				t.Fatalf("the good series must still be sent: %d series on the wire, report %+v", len(wire), rep)
			}
			failed := perSample(t, rep)
			if len(failed) != 3 || len(rep.Failed) != 1 {
				t.Fatalf("Failed = %v, want the bad series' 3 samples in one failure", rep.Failed)
			}
			for i, f := range failed {
				var le *LimitError
				if f.Index != i+1 || !errors.As(f.Err, &le) || le.Reason != tt.wantCause || cause.Of(f.Err) != cause.Limit {
					t.Fatalf("Failed[%d] = {%d, %v}, want index %d with reason %s", i, f.Index, f.Err, i+1, tt.wantCause)
				}
			}
		})
	}
}
