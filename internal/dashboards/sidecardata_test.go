package dashboards

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/adot"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/testutil"
)

// The sidecar panels are proven against the series the real ADOT collector
// wrote in internal/adot's TestCollectorEndToEnd (its written-series file):
// the same names and label sets. What that test cannot give is an hour of
// history, so, as for the stream data, the values are synthesized: counters
// grow every minute (rate() needs that), gauges hold a plausible value.

// sidecarSeries reads the label sets (with __name__) the collector wrote.
func sidecarSeries(t *testing.T) []map[string]string {
	t.Helper()
	path := filepath.Join(testutil.RepoRoot(t), "internal", "adot", filepath.FromSlash(adot.WrittenSeriesFile))
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the sidecar's written series: %v", err)
	}
	defer f.Close()
	var out []map[string]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var labels map[string]string
		if err := json.Unmarshal(sc.Bytes(), &labels); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		out = append(out, labels)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no series", path)
	}
	return out
}

// sidecarWrites reports whether the collector wrote series of a name.
func sidecarWrites(t *testing.T) func(name string) bool {
	names := map[string]bool{}
	for _, s := range sidecarSeries(t) {
		names[s["__name__"]] = true
	}
	return func(name string) bool { return names[name] }
}

// sidecarSamples returns historyMinutes of one-minute samples of every
// written series, the newest at newest (ms).
func sidecarSamples(t *testing.T, newest int64) []sample.Sample {
	t.Helper()
	var out []sample.Sample
	for _, labels := range sidecarSeries(t) {
		name := labels["__name__"]
		ls := make([]sample.Label, 0, len(labels))
		for k, v := range labels {
			if k != "__name__" {
				ls = append(ls, sample.Label{Name: k, Value: v})
			}
		}
		slices.SortFunc(ls, func(a, b sample.Label) int { return strings.Compare(a.Name, b.Name) })
		for k := range historyMinutes {
			age := historyMinutes - 1 - k // k = 0 is the oldest
			out = append(out, sample.Sample{Name: name, Labels: ls, T: newest - int64(age)*60_000, V: sidecarValue(name, labels, k)})
		}
	}
	return out
}

// sidecarValue is series name's value in minute k (0 = oldest): counters
// grow by a per-minute step, gauges are constant.
func sidecarValue(name string, labels map[string]string, k int) float64 {
	step := func(perMinute float64) float64 { return perMinute * float64(k+1) }
	switch name {
	case "up":
		return 1
	case "http_requests_total":
		return step(240)
	case "http_request_duration_seconds_bucket":
		// Cumulative buckets: a larger bound has counted at least as many.
		le, err := strconv.ParseFloat(labels["le"], 64)
		if err != nil || math.IsInf(le, 1) {
			return step(240)
		}
		return step(240 * math.Min(1, 0.6+le))
	case adot.MetricContainerCPU:
		return step(3e9) // 0.05 vCPU
	case adot.MetricContainerCPUvCPU:
		return 0.05
	case adot.MetricContainerMemory:
		return 48 << 20
	case adot.MetricContainerMemoryUsed:
		return 40
	case adot.MetricTaskNetworkRx, adot.MetricTaskNetworkTx:
		return step(6e6)
	}
	return 1
}
