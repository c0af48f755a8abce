package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/adot"
)

const testAMP = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd-4567-89ef-0123-456789abcdef/api/v1/remote_write"

// TestADOTConfigCommand pins the YAML the command prints for a typical
// invocation (internal/adot's TestCollectorValidatesGolden loads this file
// with the collector too).
func TestADOTConfigCommand(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "cwstream.yaml")
	if err := os.WriteFile(cfg, []byte("external_labels: {env: prod}\nrelabel_configs:\n  - source_labels: [__name__]\n    regex: go_gc_.*\n    action: drop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "", "adot-config", "--remote-write-url", testAMP, "--region", "eu-west-1",
		"--scrape", "localhost:8080", "--scrape", "localhost:9102", "--interval", "15s", "--service", "orders",
		"--config", cfg, "--label", "team=payments")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "adot-config.yaml", out)

	if !strings.Contains(out, "regex: go_gc_.*") || !strings.Contains(out, "team: payments") || !strings.Contains(out, "env: prod") {
		t.Errorf("config file's relabel rule or labels missing:\n%s", out)
	}
}

func TestADOTConfigContainerDefinition(t *testing.T) {
	code, out, stderr := runCLI(t, "", "adot-config", "--container-definition", "--log-group", "/ecs/orders/adot",
		"--remote-write-url", testAMP, "--region", "eu-west-1", "--no-scrape")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var def struct {
		Name        string
		Image       string
		Essential   bool
		Environment []struct{ Name, Value string }
	}
	if err := json.Unmarshal([]byte(out), &def); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if def.Name != adot.ContainerName || def.Image != adot.Image || def.Essential {
		t.Errorf("definition %+v", def)
	}
	if len(def.Environment) != 1 || def.Environment[0].Name != adot.ConfigEnv ||
		strings.Contains(def.Environment[0].Value, "prometheus:") || !strings.Contains(def.Environment[0].Value, "awsecscontainermetrics") {
		t.Errorf("--no-scrape configuration: %v", def.Environment)
	}
}

func TestADOTConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"adot-config", "--region", "eu-west-1"}, 1, "--remote-write-url: required"},
		{[]string{"adot-config", "--remote-write-url", testAMP}, 1, "--region: required"},
		{[]string{"adot-config", "--remote-write-url", testAMP, "--region", "eu-west-1", "--scrape", "nohost"}, 1, `--scrape [0]: "nohost" is not host:port`},
		{[]string{"adot-config", "--remote-write-url", testAMP, "--region", "eu-west-1", "--label", "novalue"}, 1, "want name=value"},
		{[]string{"adot-config", "--remote-write-url", testAMP, "--region", "eu-west-1", "--container-definition"}, 1, "log group"},
		{[]string{"adot-config", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"adot-config", "extra"}, 2, "no arguments"},
	} {
		code, _, stderr := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
