package dashboards

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// streamSamplesWithInfo is streamSamples plus the info series the tag
// enrichment writes for the fixtures' resources, tagged as
// tagstest.FixtureResources says, with the same history.
func streamSamplesWithInfo(t *testing.T) []sample.Sample {
	t.Helper()
	cfg := parseStreamConfig(t)
	cfg.Tags.Enabled = true
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	e := tags.New(&cfg.Tags, tags.NewAPI(tagstest.Start(t, fake), ""), tags.Options{Wait: time.Minute, ExternalLabels: cfg.ExternalLabels})
	conv := convert.New(cfg)
	conv.Enrich(e)
	var minute []sample.Sample
	for _, name := range fixturePayloads {
		data, err := os.ReadFile(testutil.Testdata(t, "payloads", name))
		if err != nil {
			t.Fatal(err)
		}
		if minute, _, err = conv.Record(minute, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var newest int64
	for _, s := range minute {
		newest = max(newest, s.T)
	}
	n := len(minute)
	minute = e.Append(context.Background(), minute, newest)
	if len(minute) == n {
		t.Fatal("no info series")
	}
	return history(minute, historyMinutes)
}

// With the info series present, the team variable lists the teams, and
// choosing one limits every RDS panel to that team's DB instances, through
// the join on the info series.
func TestTeamVariableJoinsInfoSeries(t *testing.T) {
	// The hour of data in any order, as in proveQueries.
	p := promtest.Start(t, promtest.WithOutOfOrderWindow(3*time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	end := loadSamples(ctx, t, p, streamSamplesWithInfo(t))

	d, err := rdsDashboard().Build()
	if err != nil {
		t.Fatal(err)
	}
	teams, err := labelValues(ctx, p, "tag_Team", "{"+infoNames+"}", end)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(teams)
	// The teams tagstest.FixtureResources gives the streamed resources.
	if want := []string{"data", "payments", "platform", "web"}; !slices.Equal(teams, want) {
		t.Errorf("team values %v, want %v", teams, want)
	}

	vars := resolveVariables(ctx, t, p, d, end)
	vars["team"] = "payments"
	payments := []string{"orders-db-1", "orders-db-2", "orders-aurora-instance-1"}
	var seen []string
	for _, panel := range Panels(d) {
		for _, q := range panel.Queries {
			expr := substitute(q.Expr, vars)
			res, err := p.API().QueryRange(ctx, expr, end.Add(-30*time.Minute), end, time.Minute)
			if err != nil {
				t.Fatalf("panel %q: %v\n%s", panel.Title, err, expr)
			}
			for _, s := range res {
				db := s.Labels["dimension_DBInstanceIdentifier"]
				if !slices.Contains(payments, db) {
					t.Errorf("panel %q with team payments shows %s", panel.Title, db)
				}
				if !slices.Contains(seen, db) {
					seen = append(seen, db)
				}
			}
		}
	}
	slices.Sort(seen)
	slices.Sort(payments)
	if !slices.Equal(seen, payments) {
		t.Errorf("team payments: panels show %v, want every one of %v", seen, payments)
	}
}

// With the info series present and team All, every panel still returns
// data: the join lets every series through (the fixtures' resources are
// all tagged; TestQueriesAgainstPrometheus covers the enrichment off).
func TestQueriesWithInfoSeries(t *testing.T) {
	proveQueries(t, streamSamplesWithInfo(t))
}
