package dashboards

import (
	"os"
	"slices"
	"testing"

	"github.com/cwstream/cwstream/internal/cost"
	"github.com/cwstream/cwstream/internal/rules"
	"github.com/cwstream/cwstream/internal/testutil"
)

// TestSuggestedConfigLosesNothing proves `cwstream cost --suggest` loses
// nothing the dashboards and rules read: the configuration it suggests for
// the fixtures, from the dashboards' and rules' own queries, writes fewer
// samples, and every variable, panel and rule query still returns data in
// a real Prometheus (the checks of TestQueriesAgainstPrometheus).
func TestSuggestedConfigLosesNothing(t *testing.T) {
	base := parseStreamConfig(t)
	m := cost.NewMeter(base, cost.Filter{})
	for _, name := range fixturePayloads {
		data, err := os.ReadFile(testutil.Testdata(t, "payloads", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var reads cost.Reads
	models, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range models {
		if err := reads.AddDashboard(d.UID, d.JSON); err != nil {
			t.Fatal(err)
		}
	}
	ruleText, err := rules.Text()
	if err != nil {
		t.Fatal(err)
	}
	if err := reads.AddRules("rules", []byte(ruleText)); err != nil {
		t.Fatal(err)
	}
	s, err := cost.Suggest(reads, m.Traffic().Names)
	if err != nil {
		t.Fatal(err)
	}
	// The ECS dashboard's sidecar row reads what the ADOT collector writes,
	// not the stream: those names are known, from its own test.
	if unknown := slices.DeleteFunc(s.Unknown, sidecarWrites(t)); len(unknown) > 0 {
		t.Errorf("read but not produced by the fixtures nor the sidecar: %v", unknown)
	}
	cfg, err := s.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	full, kept := streamSamplesWith(t, base), streamSamplesWith(t, cfg)
	if len(kept) == 0 || len(kept) >= len(full) {
		t.Fatalf("the suggestion keeps %d of %d samples: it should keep fewer, and some", len(kept), len(full))
	}
	t.Logf("the suggestion keeps %d of %d samples", len(kept), len(full))
	proveQueries(t, kept)
}
