package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/cwstream/cwstream/internal/dashboards"
	"github.com/cwstream/cwstream/internal/rules"
)

func TestDashboardsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if code, _, errs := runCLI(t, "", "dashboards", "--out", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	models, err := dashboards.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		b, err := os.ReadFile(filepath.Join(dir, m.UID+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil || v["uid"] != m.UID || v["title"] != m.Title {
			t.Fatalf("%s.json: uid %v title %v err %v", m.UID, v["uid"], v["title"], err)
		}
	}
	if code, _, _ := runCLI(t, "", "dashboards"); code != 2 {
		t.Errorf("no --out: exit %d, want 2", code)
	}
}

func TestRulesCommand(t *testing.T) {
	code, out, errs := runCLI(t, "", "rules")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want, err := rules.Text()
	if err != nil {
		t.Fatal(err)
	}
	if out != want {
		t.Fatal("rules on stdout differ from rules.Text()")
	}
	var f struct {
		Groups []struct {
			Name  string
			Rules []map[string]any
		}
	}
	if err := yaml.Unmarshal([]byte(out), &f); err != nil || len(f.Groups) == 0 {
		t.Fatalf("not a rule file: %v", err)
	}
	if code, _, _ := runCLI(t, "", "rules", "extra"); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}

func TestGrafanaCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"grafana"}, {"grafana", "frob"}, {"grafana", "sync"}} {
		if code, _, errs := runCLI(t, "", args...); code != 2 || !strings.Contains(errs, "usage: cwstream grafana") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}
