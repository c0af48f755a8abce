package constructs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStageFunctionAsset(t *testing.T) {
	src := t.TempDir()
	bootstrap := filepath.Join(src, "bootstrap-built")
	config := filepath.Join(src, "dev.yaml")
	if err := os.WriteFile(bootstrap, []byte("\x7fELF binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("external_labels: {env: dev}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "asset")
	// A stale file from an earlier synth must not be shipped.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := StageFunctionAsset(dir, bootstrap, config); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "bootstrap,cwstream.yaml" {
		t.Errorf("staged %v", names)
	}
	fi, err := os.Stat(filepath.Join(dir, BootstrapName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ConfigFileName)); string(b) != "external_labels: {env: dev}\n" {
		t.Errorf("config %q", b)
	}

	err = StageFunctionAsset(dir, filepath.Join(src, "missing"), config)
	var mb *MissingBootstrapError
	if !errors.As(err, &mb) || !strings.Contains(err.Error(), "make lambda") {
		t.Errorf("missing bootstrap: %v", err)
	}
	if err := StageFunctionAsset(dir, bootstrap, filepath.Join(src, "missing.yaml")); err == nil {
		t.Error("missing config file: no error")
	}
}

// TestStageBootstrap stages the provisioning function's package: bootstrap
// alone, executable, replacing what the directory held.
func TestStageBootstrap(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bootstrap-built")
	if err := os.WriteFile(src, []byte("\x7fELF grafana"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "asset")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := StageBootstrap(dir, src); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != BootstrapName {
		t.Errorf("staged %v, want bootstrap alone", entries)
	}
	fi, err := os.Stat(filepath.Join(dir, BootstrapName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755", fi.Mode().Perm())
	}
	err = StageBootstrap(dir, filepath.Join(t.TempDir(), "grafana", "bootstrap"))
	var mb *MissingBootstrapError
	if !errors.As(err, &mb) || !strings.Contains(err.Error(), "make lambda") {
		t.Errorf("missing bootstrap: %v", err)
	}
	if err := StageBootstrap(dir, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory as bootstrap: %v", err)
	}
}
