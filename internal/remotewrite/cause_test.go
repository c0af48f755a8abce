package remotewrite

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/sample"
)

// A 4xx says its cause: a conflict with what the store holds (which a
// replay repeats) or another rejection. The bodies are what Prometheus 2.42
// and Cortex-based stores answer.
func TestRejectionCause(t *testing.T) {
	cases := []struct {
		body   string
		status int
		want   cause.Cause
	}{
		{"out of order sample", 400, cause.Conflict},
		{"duplicate sample for timestamp", 400, cause.Conflict},
		{"out of bounds", 400, cause.TooOld},
		{"err: sample timestamp out of bounds. timestamp=2024-03-12T10:16:00Z, series={__name__=\"m\"}", 400, cause.TooOld},
		{"new sample has timestamp too old", 400, cause.TooOld},
		// Prometheus 2.42 answers its out-of-order window's limit with a
		// 500: not retried, since it would only repeat.
		{"too old sample", 500, cause.TooOld},
		{"invalid metric name", 400, cause.Rejected},
		{"", 400, cause.Rejected},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
				http.Error(w, c.body, c.status)
				return true
			})
			cl, _ := newTestClient(t, testConfig(rc.url()))
			rep := cl.Write(context.Background(), someSamples(3))
			if len(rep.Failed) != 1 || rep.Failed[0].Samples() != 3 {
				t.Fatalf("failures %+v, want one request of 3 samples", rep.Failed)
			}
			if got := cause.Of(rep.Failed[0].Err); got != c.want {
				t.Errorf("cause %q, want %q (%v)", got, c.want, rep.Failed[0].Err)
			}
		})
	}
}

// A context that ends while a shard still has requests to send: the rest
// are failed with cause deadline and never encoded or sent.
func TestDeadlineBeforeEncoding(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Counted here, before cancel: the receiver records a request only
	// after its handler returns, which may be after Write has returned.
	var arrived atomic.Int32
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
		arrived.Add(1)
		cancel() // the first request ends the context
		return false
	})
	cfg := testConfig(rc.url())
	cfg.MaxSamplesPerRequest = 2
	cl, _ := newTestClient(t, cfg)
	in := someSamples(10)
	rep := cl.Write(ctx, in)
	if got := arrived.Load(); got != 1 {
		t.Fatalf("%d requests reached the store, want 1", got)
	}
	failed := perSample(t, rep)
	if rep.SamplesWritten+len(failed) != len(in) || len(failed) == 0 {
		t.Fatalf("written %d, failed %d of %d", rep.SamplesWritten, len(failed), len(in))
	}
	for _, f := range failed {
		if cause.Of(f.Err) != cause.Deadline {
			t.Fatalf("sample %d: %v, want cause deadline", f.Index, f.Err)
		}
	}
}

// Of samples of one series with one timestamp, the last value is sent,
// once; the samples with another value are counted as superseded. All of them count as written when it
// is.
func TestRevisedValues(t *testing.T) {
	ls := []sample.Label{{Name: "a", Value: "1"}}
	cases := []struct {
		name       string
		values     []float64 // in input order, all at T=60000
		superseded int
	}{
		{"one value", []float64{1}, 0},
		{"an exact duplicate", []float64{1, 1}, 0},
		{"a revision", []float64{1, 2}, 1},
		{"revised twice", []float64{1, 2, 3}, 2},
		{"revised back: the first value is sent", []float64{1, 2, 1}, 1},
		{"a duplicate, then a revision", []float64{1, 1, 2}, 2},
		{"a revision, then its duplicate", []float64{1, 2, 2}, 1},
		{"NaN revised", []float64{math.NaN(), 4}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			cl, _ := newTestClient(t, testConfig(rc.url()))
			// Another minute before and after, so the revised one sits
			// inside the series.
			in := []sample.Sample{{Name: "m", Labels: ls, T: 0, V: 9}}
			for _, v := range c.values {
				in = append(in, sample.Sample{Name: "m", Labels: ls, T: 60000, V: v})
			}
			in = append(in, sample.Sample{Name: "m", Labels: ls, T: 120000, V: 8})
			rep := cl.Write(context.Background(), in)
			if len(rep.Failed) != 0 || rep.SamplesWritten != len(in) || rep.SamplesSuperseded != c.superseded {
				t.Fatalf("report %+v, want all %d written, %d superseded", rep, len(in), c.superseded)
			}
			got := rc.received()
			if len(got) != 1 || len(got[0].req.Timeseries) != 1 {
				t.Fatalf("%d requests", len(got))
			}
			var ts []int64
			var vs []float64
			for _, s := range got[0].req.Timeseries[0].Samples {
				ts = append(ts, s.Timestamp)
				vs = append(vs, s.Value)
			}
			last := c.values[len(c.values)-1]
			if !slices.Equal(ts, []int64{0, 60000, 120000}) || vs[1] != last {
				t.Fatalf("sent %v %v, want the last value %v at 60000", ts, vs, last)
			}
		})
	}
}

// sortPoints is a stable sort by time for short and long series alike.
func TestSortPointsStable(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var p plan
	for _, n := range []int{0, 1, 2, 33, 256, 257, 1000} {
		pts := make([]point, n)
		seg := make([]int32, n)
		for i := range pts {
			pts[i] = point{t: int64(rnd.IntN(10)), v: float64(i)}
			seg[i] = int32(i)
		}
		want := slices.Clone(pts)
		slices.SortStableFunc(want, func(a, b point) int { return cmp.Compare(a.t, b.t) })
		p.sortPoints(seg, pts)
		if !slices.Equal(pts, want) {
			t.Fatalf("n=%d: not a stable sort by time", n)
		}
		for i := range seg {
			if float64(seg[i]) != pts[i].v {
				t.Fatalf("n=%d: indices did not move with their points", n)
			}
		}
	}
}
