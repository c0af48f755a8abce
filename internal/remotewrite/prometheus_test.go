package remotewrite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/sample"
)

// What a real Prometheus (2.42, no out-of-order window) answers for a
// sample that conflicts with what it holds is cause conflict: another
// value for a series and time it has, and a sample older than its newest.
// A sample it has, with the same value, is written (idempotent replay).
func TestConflictWithRealPrometheus(t *testing.T) {
	prom := promtest.Start(t)
	cl, _ := newTestClient(t, testConfig(prom.WriteURL()))
	ls := []sample.Label{{Name: "job", Value: "conflict"}}
	now := time.Now().Truncate(time.Minute).UnixMilli()
	write := func(t int64, v float64) Report {
		return cl.Write(context.Background(), []sample.Sample{{Name: "cwstream_test", Labels: ls, T: t, V: v}})
	}
	if rep := write(now, 1); len(rep.Failed) != 0 {
		t.Fatalf("first write: %v", rep.Failed[0].Err)
	}
	if rep := write(now, 1); len(rep.Failed) != 0 {
		t.Fatalf("the same sample again: %v", rep.Failed[0].Err)
	}
	cases := []struct {
		name string
		t    int64
		v    float64
	}{
		{"another value for a minute the store holds", now, 2},
		{"a minute older than the newest the store holds", now - 60_000, 3},
	}
	for _, c := range cases {
		rep := write(c.t, c.v)
		if len(rep.Failed) != 1 {
			t.Errorf("%s: report %+v, want one failure", c.name, rep)
			continue
		}
		if got := cause.Of(rep.Failed[0].Err); got != cause.Conflict {
			t.Errorf("%s: cause %q, want conflict: %v", c.name, got, rep.Failed[0].Err)
		}
		t.Logf("%s: %v", c.name, rep.Failed[0].Err)
	}
}

// A sample older than the store's out-of-order window is cause too_old,
// and only it fails: Prometheus refuses (and rolls back) the whole request
// for it, so the client resends the newer part, and the other samples of
// the request, of its own series and of others, are written.
func TestTooOldWithRealPrometheus(t *testing.T) {
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(10*time.Minute))
	cl, _ := newTestClient(t, testConfig(prom.WriteURL()))
	now := time.Now().Truncate(time.Minute)
	at := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	s := func(job string, t int64, v float64) sample.Sample {
		return sample.Sample{Name: "cwstream_test", Labels: []sample.Label{{Name: "job", Value: job}}, T: t, V: v}
	}
	// Too old is older than the newest sample by more than the window, for
	// a series the store has: a new series' first samples are in order.
	if rep := cl.Write(context.Background(), []sample.Sample{s("a", at(0), 1), s("b", at(0), 1)}); len(rep.Failed) != 0 {
		t.Fatalf("first write: %v", rep.Failed[0].Err)
	}
	in := []sample.Sample{
		s("a", at(-30*time.Minute), 2), // too old
		s("a", at(-time.Minute), 3),
		s("b", at(-20*time.Minute), 4), // too old
		s("b", at(-11*time.Minute), 5), // too old
		s("c", at(-2*time.Minute), 6),  // a new series
		s("c", at(-9*time.Minute), 7),
	}
	rep := cl.Write(context.Background(), in)
	if len(rep.Failed) != 1 {
		t.Fatalf("failures %+v, want one", rep.Failed)
	}
	f := rep.Failed[0]
	if got := cause.Of(f.Err); got != cause.TooOld {
		t.Errorf("cause %q, want too_old: %v", got, f.Err)
	}
	want := []Range{{0, 1}, {2, 4}}
	if len(f.Ranges) != len(want) || f.Ranges[0] != want[0] || f.Ranges[1] != want[1] {
		t.Errorf("failed samples %v, want %v", f.Ranges, want)
	}
	if rep.SamplesWritten != 3 {
		t.Errorf("SamplesWritten %d, want 3", rep.SamplesWritten)
	}
	t.Logf("%d requests: %v", rep.Requests, f.Err)
	got, err := prom.Dump(context.Background(), now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		fmt.Sprintf(`cwstream_test{job="a"} 3 %d`, at(-time.Minute)),
		fmt.Sprintf(`cwstream_test{job="c"} 6 %d`, at(-2*time.Minute)),
		fmt.Sprintf(`cwstream_test{job="c"} 7 %d`, at(-9*time.Minute)),
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("store lacks %s:\n%s", line, got)
		}
	}
	if strings.Contains(got, `job="b"} 4`) || strings.Contains(got, `job="b"} 5`) {
		t.Errorf("store holds a too-old sample of b:\n%s", got)
	}
}
