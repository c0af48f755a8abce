package remotewrite

import (
	"context"
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
