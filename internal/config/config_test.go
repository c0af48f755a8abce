package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/relabel"

	"github.com/cwstream/cwstream/internal/naming"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means valid
		check   func(t *testing.T, c *Config)
	}{
		{name: "empty is defaults", yaml: "", check: func(t *testing.T, c *Config) {
			if len(c.Statistics) != len(naming.Statistics) || c.Percentiles != nil || len(c.RelabelConfigs) != 0 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "full", yaml: `
external_labels: {env: prod, team: sre}
statistics: [sum, average]
percentiles: [p50, p99, p99_9]
relabel_configs:
  - source_labels: [__name__]
    regex: aws_rds_.*_minimum
    action: drop
  - source_labels: [dimension_DBInstanceIdentifier]
    target_label: db
`, check: func(t *testing.T, c *Config) {
			if c.ExternalLabels["env"] != "prod" || !c.Emits(naming.Sum) || c.Emits(naming.Minimum) {
				t.Errorf("got %+v", c)
			}
			if !c.KeepsPercentile("p99_9") || c.KeepsPercentile("p90") {
				t.Errorf("percentiles %v", *c.Percentiles)
			}
			if len(c.RelabelConfigs) != 2 || c.RelabelConfigs[0].Action != relabel.Drop || c.RelabelConfigs[1].Action != relabel.Replace {
				t.Errorf("relabel %+v", c.RelabelConfigs)
			}
		}},
		{name: "no percentiles", yaml: "percentiles: []", check: func(t *testing.T, c *Config) {
			if c.KeepsPercentile("p99") || len(c.Statistics) != len(naming.Statistics) {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "unknown key", yaml: "external_label: {env: x}", wantErr: "field external_label not found"},
		{name: "unknown key inside relabel rule", yaml: "relabel_configs: [{action: drop, regx: x}]",
			wantErr: `relabel_configs[0] (line 1): unknown key "regx"; a relabel rule's keys are source_labels, separator, regex, modulus, target_label, replacement, action`},
		{name: "bad regex names the rule, key and line", yaml: "relabel_configs:\n  - action: keep\n    source_labels: [a]\n  - action: drop\n    source_labels: [a]\n    regex: 'a(b'\n",
			wantErr: "relabel_configs[1].regex (line 6): error parsing regexp: missing closing ): `a(b`"},
		{name: "bad action names the rule, key and line", yaml: "relabel_configs:\n  - source_labels: [a]\n    action: explode\n",
			wantErr: `relabel_configs[0].action (line 3): unknown relabel action "explode"`},
		{name: "invalid rule names its line", yaml: "statistics: [sum]\nrelabel_configs:\n  - {action: replace, source_labels: [a]}\n",
			wantErr: "relabel_configs[0] (line 3): relabel configuration for replace action requires 'target_label' value"},
		{name: "wrong type in a rule names the key", yaml: "relabel_configs:\n  - action: hashmod\n    modulus: lots\n",
			wantErr: "relabel_configs[0].modulus (line 3): cannot unmarshal a string `lots` into a whole number"},
		{name: "wrong type names no Go type", yaml: "statistics: sum", wantErr: "line 1: cannot unmarshal a string `sum` into a list of strings"},
		{name: "unknown statistic", yaml: "statistics: [sum, p99]", wantErr: `statistics[1]: unknown statistic "p99"`},
		{name: "duplicate statistic", yaml: "statistics: [sum, sum]", wantErr: `statistics[1]: "sum" is listed twice`},
		{name: "empty statistics", yaml: "statistics: []", wantErr: "statistics: empty"},
		{name: "bad percentile", yaml: "percentiles: [99]", wantErr: `percentiles[0]: "99" is not a percentile`},
		{name: "bad external label name", yaml: "external_labels: {env-name: x}", wantErr: `external_labels: "env-name" is not a valid label name`},
		{name: "reserved external label", yaml: "external_labels: {region: x}", wantErr: `external_labels: "region" would overwrite`},
		{name: "dimension external label", yaml: "external_labels: {dimension_X: x}", wantErr: `"dimension_X" would overwrite`},
		{name: "dunder external label", yaml: "external_labels: {__x: x}", wantErr: "reserved"},
		{name: "empty external label value", yaml: "external_labels: {env: ''}", wantErr: "empty value"},
		{name: "bad relabel action", yaml: "relabel_configs: [{action: explode}]", wantErr: "unknown relabel action"},
		{name: "bad relabel regex", yaml: "relabel_configs: [{regex: '(', action: drop, source_labels: [a]}]", wantErr: "error parsing regexp"},
		{name: "relabel missing target", yaml: "relabel_configs: [{action: replace, source_labels: [a], target_label: ''}]", wantErr: "relabel_configs[0]"},
		{name: "null rule", yaml: "relabel_configs: [null]", wantErr: "relabel_configs[0]: empty rule"},
		{name: "not yaml", yaml: "statistics: [sum", wantErr: "yaml"},
		{name: "wrong type", yaml: "statistics: sum", wantErr: "cannot unmarshal"},
		{name: "tags", yaml: "tags: {enabled: true, resource_types: [rds:db], refresh: 10m, exclude_keys: ['aws:.*']}", check: func(t *testing.T, c *Config) {
			if !c.Tags.Enabled || len(c.Tags.ResourceTypes) != 1 || time.Duration(c.Tags.Refresh) != 10*time.Minute {
				t.Errorf("tags %+v", c.Tags)
			}
		}},
		{name: "tags off by default, defaults valid", yaml: "statistics: [sum]", check: func(t *testing.T, c *Config) {
			if c.Tags.Enabled || len(c.Tags.ResourceTypes) == 0 || c.Tags.Refresh == 0 {
				t.Errorf("tags %+v", c.Tags)
			}
		}},
		{name: "unknown tags key", yaml: "tags: {enabeld: true}", wantErr: "field enabeld not found in tags (known keys: enabled,"},
		{name: "bad tags resource type", yaml: "tags: {resource_types: [ec2:instance]}", wantErr: `tags.resource_types[0]: "ec2:instance" is not supported`},
		{name: "tags refresh too short", yaml: "tags: {refresh: 10s}", wantErr: "tags.refresh: 10s is below"},
		{name: "external label clashes with info series", yaml: "external_labels: {tag_Team: x}\ntags: {enabled: true}", wantErr: `external_labels: "tag_Team" would overwrite`},
		{name: "external name label", yaml: "external_labels: {name: x}\ntags: {enabled: true}", wantErr: `external_labels: "name" would overwrite`},
		{name: "external tag_ label without tags", yaml: "external_labels: {tag_Team: x}", check: func(t *testing.T, c *Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				// Messages are for people who write YAML, not Go.
				if m := goTypeName.FindString(err.Error()); m != "" {
					t.Errorf("Parse error %q names the Go type %s", err, m)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, c)
		})
	}
}

var goTypeName = regexp.MustCompile(`\b(config|relabel|tags|model)\.([A-Z]\w*|plain)\b|\[\][a-z*]|map\[|!![a-z]+`)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("statistics: [bogus]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("Load error = %v, want the path and the bad value", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

// Every example configuration in the repository must load.
func TestExampleConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../config/*.yaml")
	files2, _ := filepath.Glob("../../testdata/config/*.yaml")
	for _, f := range append(files, files2...) {
		if _, err := Load(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/config/*.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("external_labels: {env: prod}\nstatistics: [sum]\npercentiles: [p99]\n"))
	f.Add([]byte("relabel_configs: [{source_labels: [__name__], regex: 'aws_(.*)', target_label: x, replacement: $1}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must validate again and be usable.
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}
