package tags

import (
	"context"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
)

// BenchmarkObserve is the per-datapoint cost of enrichment over the fixture
// payloads' updates: once their resources are known, nothing is allocated.
func BenchmarkObserve(b *testing.B) {
	updates := fixtureUpdates(b)
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	e := New(enabled(b, ""), NewAPI(tagstest.Start(b, fake), ""), Options{Wait: time.Minute})
	for i := range updates {
		e.Observe(&updates[i])
	}
	dst := e.Append(context.Background(), nil, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range updates {
			e.Observe(&updates[i])
		}
		dst = e.Append(context.Background(), dst[:0], 1)
	}
	b.ReportMetric(float64(len(updates)), "datapoints/op")
}

func TestObserveAllocatesNothingForKnownResources(t *testing.T) {
	updates := fixtureUpdates(t)
	// AllocsPerRun counts every goroutine's allocations: the lookup must be
	// in process and finished (Append waits for it) before the count starts,
	// or an HTTP lookup still running in the background is counted too.
	e := New(enabled(t, ""), noResources{}, Options{Wait: time.Minute})
	for i := range updates {
		e.Observe(&updates[i])
	}
	e.Append(context.Background(), nil, 1)
	if n := testing.AllocsPerRun(10, func() {
		for i := range updates {
			e.Observe(&updates[i])
		}
	}); n != 0 {
		t.Errorf("Observe allocates %.0f times per round of %d updates, want 0", n, len(updates))
	}
}

// fixtureUpdates returns copies of the fixture payloads' updates.
func fixtureUpdates(tb testing.TB) []cw.Update {
	var updates []cw.Update
	eachFixtureUpdate(tb, func(u *cw.Update) {
		c := *u
		c.Dimensions = append([]cw.Dimension(nil), u.Dimensions...)
		updates = append(updates, c)
	})
	return updates
}

// noResources is a Lookup that answers at once, on the caller's goroutine,
// that no resource is tagged.
type noResources struct{}

func (noResources) Resources(context.Context, string, string, []string) ([]Resource, error) {
	return nil, nil
}
