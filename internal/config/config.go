// Package config reads cwstream's configuration file: one YAML file per
// environment, shared by the Lambda, the CLI and the CDK app.
//
//	external_labels: {env: prod}       # added to every series
//	statistics: [sum, average]         # basic statistics to emit; default all five
//	percentiles: [p50, p99]            # percentiles to keep; absent = all, [] = none
//	relabel_configs: [...]             # Prometheus relabel_config, applied last
//	tags: {enabled: true, ...}         # resource tags as YACE info series (internal/tags)
//
// Loading is defaults, then a strict unmarshal (unknown keys are errors),
// then Validate, whose messages name the key at fault. Validation never fills
// in values; where a file came from is the caller's business.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v2"

	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/tags"
)

// Config is the cwstream configuration.
type Config struct {
	// ExternalLabels are added to every series.
	ExternalLabels map[string]string `yaml:"external_labels,omitempty"`
	// Statistics are the basic statistics to emit: a subset of minimum,
	// maximum, sum, sample_count and average.
	Statistics []string `yaml:"statistics,omitempty"`
	// Percentiles are the percentile statistics to keep (p50, p99, p99_9…).
	// Nil keeps every percentile the stream sends; empty keeps none.
	Percentiles *[]string `yaml:"percentiles,omitempty"`
	// RelabelConfigs are applied to every series, with Prometheus semantics.
	RelabelConfigs []*relabel.Config `yaml:"relabel_configs,omitempty"`
	// Tags configures the resource tag enrichment (off by default).
	Tags tags.Config `yaml:"tags,omitempty"`
}

// Default returns the configuration used when there is no file: every
// statistic, every percentile, no labels added, no relabelling.
func Default() *Config {
	return &Config{Statistics: naming.StatisticNames(), Tags: tags.Default()}
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads and validates a configuration. An empty document yields the
// defaults.
func Parse(b []byte) (*Config, error) {
	c := Default()
	if len(bytes.TrimSpace(b)) > 0 {
		// Statistics given in the file replace the default list rather
		// than being merged into it.
		c.Statistics = nil
		if err := checkRules(b); err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(b, c); err != nil {
			return nil, cleanYAMLError(err)
		}
		if c.Statistics == nil {
			c.Statistics = naming.StatisticNames()
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// cleanYAMLError drops the "yaml: unmarshal errors:" preamble and puts the
// keys allowed, not Go type names, in messages: "line 3: field foo not
// found in the configuration (known keys: ...)".
func cleanYAMLError(err error) error {
	msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:"))
	msg = strings.ReplaceAll(msg, "type config.Config", "the configuration (known keys: external_labels, statistics, percentiles, relabel_configs, tags)")
	msg = strings.ReplaceAll(msg, "type tags.plain", "tags (known keys: enabled, resource_types, refresh, include_keys, exclude_keys)")
	msg = strings.ReplaceAll(msg, "type relabel.plain", "a relabel rule (known keys: "+strings.Join(ruleKeys, ", ")+")")
	return errors.New(readableYAML(msg))
}

var percentileRE = regexp.MustCompile(`^p[0-9]+(_[0-9]+)?$`)

// Validate checks c and reports the first problem with the key at fault.
func (c *Config) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.ExternalLabels)) {
		switch {
		case !model.LegacyValidation.IsValidLabelName(name):
			errs = append(errs, fmt.Errorf("external_labels: %q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", name))
		case strings.HasPrefix(name, "__"):
			errs = append(errs, fmt.Errorf("external_labels: %q: names starting with __ are reserved", name))
		case name == naming.LabelAccountID || name == naming.LabelRegion || strings.HasPrefix(name, naming.DimensionPrefix):
			errs = append(errs, fmt.Errorf("external_labels: %q would overwrite a label cwstream sets (%s, %s, %s*)", name, naming.LabelAccountID, naming.LabelRegion, naming.DimensionPrefix))
		case c.ExternalLabels[name] == "":
			errs = append(errs, fmt.Errorf("external_labels: %q has an empty value (an empty label is no label)", name))
		}
	}
	known := strings.Join(naming.StatisticNames(), ", ")
	if len(c.Statistics) == 0 {
		errs = append(errs, fmt.Errorf("statistics: empty; list at least one of %s", known))
	}
	for i, s := range c.Statistics {
		if _, ok := naming.ParseStatistic(s); !ok {
			errs = append(errs, fmt.Errorf("statistics[%d]: unknown statistic %q; choose from %s (percentiles go under percentiles:)", i, s, known))
		} else if slices.Index(c.Statistics, s) != i {
			errs = append(errs, fmt.Errorf("statistics[%d]: %q is listed twice", i, s))
		}
	}
	if c.Percentiles != nil {
		for i, p := range *c.Percentiles {
			if !percentileRE.MatchString(p) {
				errs = append(errs, fmt.Errorf("percentiles[%d]: %q is not a percentile statistic such as p50, p99 or p99_9", i, p))
			}
		}
	}
	for i, rc := range c.RelabelConfigs {
		if rc == nil {
			errs = append(errs, fmt.Errorf("relabel_configs[%d]: empty rule", i))
			continue
		}
		// Validate also settles the rule's label name scheme; relabelling
		// with an unvalidated rule is not safe. cwstream writes classic
		// Prometheus names, which every remote-write store accepts.
		if err := rc.Validate(model.LegacyValidation); err != nil {
			errs = append(errs, fmt.Errorf("relabel_configs[%d]: %w", i, err))
		}
	}
	if err := c.Tags.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Tags.Enabled {
		for _, name := range slices.Sorted(maps.Keys(c.ExternalLabels)) {
			if name == tags.LabelResource || strings.HasPrefix(name, "tag_") {
				errs = append(errs, fmt.Errorf("external_labels: %q would overwrite a label of the info series tags.enabled writes (name, tag_*)", name))
			}
		}
	}
	return errors.Join(errs...)
}

// Emits reports whether the basic statistic stat is emitted.
func (c *Config) Emits(stat naming.Statistic) bool {
	return slices.Contains(c.Statistics, stat.String())
}

// KeepsPercentile reports whether the percentile statistic (e.g. "p99") is
// emitted.
func (c *Config) KeepsPercentile(stat string) bool {
	return c.Percentiles == nil || slices.Contains(*c.Percentiles, stat)
}
