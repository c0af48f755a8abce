package dashboards

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/cwstream/cwstream/internal/testutil"
)

// TestJSONRoundTrip decodes each dashboard's JSON with the SDK's types and
// requires the same model back, so Grafana reads exactly what we built.
func TestJSONRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	models, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	built, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range models {
		t.Run(m.UID, func(t *testing.T) {
			var back dashboard.Dashboard
			if err := json.Unmarshal(m.JSON, &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			again, err := json.MarshalIndent(back, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(again, '\n'), m.JSON) {
				t.Error("JSON changed after a decode/encode round trip through the SDK types")
			}
			if !slices.EqualFunc(Panels(back), Panels(built[i]), func(a, b Panel) bool { return reflect.DeepEqual(a, b) }) {
				t.Error("panels or queries differ after decoding")
			}
		})
	}
}

// TestGolden keeps the generated JSON under review: a change to a dashboard
// shows as a diff of testdata/<uid>.json (regenerate with make golden).
func TestGolden(t *testing.T) {
	models, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		testutil.Golden(t, filepath.Join("testdata", m.UID+".json"), m.JSON)
	}
}

func TestDashboards(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs := []string{UIDOverview, UIDECS, UIDRDS, UIDALB}
	uids, titles := map[string]bool{}, map[string]bool{}
	for i, d := range all {
		uid, title := deref(d.Uid), deref(d.Title)
		if uid != wantUIDs[i] {
			t.Errorf("dashboard %d: uid %q, want %q", i, uid, wantUIDs[i])
		}
		if uids[uid] || titles[title] {
			t.Errorf("duplicate uid %q or title %q", uid, title)
		}
		uids[uid], titles[title] = true, true
		if len(uid) > 40 {
			t.Errorf("%s: uid longer than Grafana's 40 characters", uid)
		}
		t.Run(uid, func(t *testing.T) { checkDashboard(t, d) })
	}
}

func checkDashboard(t *testing.T, d dashboard.Dashboard) {
	if !slices.Contains(d.Tags, Tag) {
		t.Errorf("tags %v lack %q", d.Tags, Tag)
	}
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
	}
	if len(names) < 4 || !slices.Equal(names[:3], []string{"datasource", "account_id", "region"}) {
		t.Errorf("variables %v: want datasource, account_id, region and a main dimension", names)
	}
	hasTagLink := false
	for _, l := range d.Links {
		if l.Type == dashboard.DashboardLinkTypeDashboards && slices.Contains(l.Tags, Tag) && l.IncludeVars && l.KeepTime {
			hasTagLink = true
		}
	}
	if !hasTagLink {
		t.Error("no link to the other cwstream dashboards keeping time and variables")
	}
	ids := map[uint32]bool{}
	rows := 0
	for _, p := range d.Panels {
		if p.RowPanel != nil {
			rows++
			if p.RowPanel.Collapsed || len(p.RowPanel.Panels) > 0 || ids[p.RowPanel.Id] {
				t.Errorf("row %q: collapsed, holding panels or duplicate id", deref(p.RowPanel.Title))
			}
			ids[p.RowPanel.Id] = true
			continue
		}
		if rows == 0 {
			t.Errorf("panel %q before the first row", deref(p.Panel.Title))
		}
		{
			panel := *p.Panel
			title := deref(panel.Title)
			if panel.Id == nil || ids[*panel.Id] {
				t.Errorf("panel %q: missing or duplicate id", title)
			} else {
				ids[*panel.Id] = true
			}
			if deref(panel.Description) == "" {
				t.Errorf("panel %q: no description", title)
			}
			if panel.Datasource == nil || deref(panel.Datasource.Uid) != "${datasource}" {
				t.Errorf("panel %q: data source is not the ${datasource} variable", title)
			}
			if panel.FieldConfig == nil || deref(panel.FieldConfig.Defaults.Unit) == "" {
				t.Errorf("panel %q: no unit", title)
			}
			if panel.FieldConfig == nil || panel.FieldConfig.Defaults.Thresholds == nil {
				t.Errorf("panel %q: no thresholds", title)
			}
			if panel.GridPos == nil || panel.GridPos.W == 0 || panel.GridPos.H == 0 {
				t.Errorf("panel %q: no size", title)
			}
		}
	}
}
