package remotewrite

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/sample"
)

// A store that refuses every sample as too old is asked a bounded number
// of times: the salvage of a refused request stops at salvageBudget
// requests, and every sample fails as too old, none written, none lost
// from the report. (Without the bound, 400 series of 5 minutes took 802
// requests.)
func TestSalvageBoundedWhenEverythingIsTooOld(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "out of bounds", http.StatusBadRequest)
		return true
	})
	cl, _ := newTestClient(t, testConfig(rc.url()))
	const series, minutes = 400, 5
	var in []sample.Sample
	for i := range series * minutes {
		in = append(in, sample.Sample{
			Name:   "m",
			Labels: []sample.Label{{Name: "job", Value: fmt.Sprintf("j%03d", i%series)}},
			T:      5000 + int64(i/series)*60_000, V: 1,
		})
	}
	rep := cl.Write(context.Background(), in)
	failed := 0
	for _, f := range rep.Failed {
		if got := cause.Of(f.Err); got != cause.TooOld {
			t.Errorf("failure %v: cause %v, want too_old", f.Err, got)
		}
		failed += f.Samples()
	}
	if rep.SamplesWritten != 0 || failed != len(in) {
		t.Errorf("written %d, failed %d of %d samples", rep.SamplesWritten, failed, len(in))
	}
	// The same samples to a store that takes them: how many requests the
	// plan cuts them into.
	ok := newReceiver(t, func(int, http.ResponseWriter, *http.Request) bool { return false })
	okCl, _ := newTestClient(t, testConfig(ok.url()))
	if r := okCl.Write(context.Background(), in); len(r.Failed) != 0 || ok.count == 0 {
		t.Fatalf("accepting store: %d requests, failures %v", ok.count, r.Failed)
	}
	if max := ok.count * (1 + salvageBudget(minutes)); rc.count > max {
		t.Errorf("%d requests for %d refused ones: more than %d", rc.count, ok.count, max)
	}
	t.Logf("%d requests cut, %d sent in all to the refusing store", ok.count, rc.count)
}
