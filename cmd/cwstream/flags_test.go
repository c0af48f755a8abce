package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

// Errors name the flag or the configuration key the user typed, and the
// line, never a Go field or type.
func TestErrorsNameTheFlagOrKey(t *testing.T) {
	dir := t.TempDir()
	n := 0
	cfg := func(yaml string) string {
		n++
		p := filepath.Join(dir, strconv.Itoa(n)+".yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	single := testutil.Testdata(t, "payloads", "single.bin")
	// Fields of adot.Options and remotewrite.Config, and Go types.
	goName := regexp.MustCompile(`\b(RemoteWriteURL|ScrapeTargets|ScrapeInterval|MetricsPath|ExternalLabels|MetricRelabelConfigs|LogOptions|Concurrency|MaxAttempts|URL|Region)\b[:\[ ]|\b[a-z]+\.(plain|[A-Z]\w*)\b`)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"adot url missing", []string{"adot-config"}, "cwstream adot-config: --remote-write-url: required"},
		{"adot bad scrape", []string{"adot-config", "--remote-write-url", "https://x", "--region", "eu-west-1", "--scrape", "nohost"}, `--scrape [0]: "nohost" is not host:port`},
		{"adot sigv4 over http", []string{"adot-config", "--remote-write-url", "http://x", "--region", "eu-west-1"}, `--remote-write-url: "http://x": AMP takes SigV4-signed writes over https only`},
		{"replay bad url", []string{"replay", "--to", "ftp://x/api/v1/write", single}, `cwstream replay: --to "ftp://x/api/v1/write": scheme must be http or https`},
		{"replay bad concurrency", []string{"replay", "--to", "http://127.0.0.1:1/api/v1/write", "--concurrency", "-1", single}, "--concurrency must be at least 1, got -1"},
		{"relabel regex", []string{"dryrun", "--config", cfg("relabel_configs:\n  - source_labels: [a]\n    action: keep\n  - source_labels: [a]\n    action: keep\n  - source_labels: [a]\n    regex: '(x'\n    action: drop\n"), single},
			"relabel_configs[2].regex (line 7): error parsing regexp: missing closing ): `(x`"},
		{"relabel typo", []string{"dryrun", "--config", cfg("relabel_configs:\n  - source_labels: [a]\n    acton: drop\n"), single},
			`relabel_configs[0] (line 3): unknown key "acton"; a relabel rule's keys are source_labels, separator, regex, modulus, target_label, replacement, action`},
		{"tags typo", []string{"cost", "--config", cfg("tags:\n  enabeld: true\n"), single}, "line 2: field enabeld not found in tags (known keys: enabled,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, "", tt.args...)
			if code != 1 || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs, tt.want)
			}
			if m := goName.FindString(errs); m != "" {
				t.Errorf("stderr names the Go identifier %s: %s", m, errs)
			}
		})
	}
}
