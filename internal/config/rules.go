package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"
)

// ruleKeys are the keys a relabel rule may have, read from relabel.Config's
// own yaml tags so that they follow the Prometheus version in go.mod.
var ruleKeys = yamlKeys(reflect.TypeFor[relabel.Config]())

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// checkRules decodes and validates each rule of relabel_configs on its own,
// so that a fault is named by the rule, the key and the line:
// relabel.Config checks its regex and action while it is unmarshalled,
// where yaml.v2 knows neither the rule's index nor a line, and a typo
// inside a rule would name a Go type. yaml.v3's node tree has the lines
// (yaml.v2, which the rest of the file is read with, gives none). It
// returns nil for what it cannot place; the whole-file pass reports that.
func checkRules(b []byte) error {
	var doc yaml3.Node
	if yaml3.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml3.MappingNode {
		return nil
	}
	root := doc.Content[0]
	var rules *yaml3.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "relabel_configs" {
			rules = root.Content[i+1]
		}
	}
	if rules == nil || rules.Kind != yaml3.SequenceNode {
		return nil
	}
	var errs []error
	for i, rule := range rules.Content {
		if err := checkRule(i, rule); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// anchored is how relabel.Regexp quotes a pattern in its errors.
var anchored = regexp.MustCompile("`\\^\\(\\?s:(.*)\\)\\$`")

func checkRule(i int, rule *yaml3.Node) error {
	if rule.Kind != yaml3.MappingNode {
		return nil // null or not a mapping: Validate and the strict pass say so
	}
	at := func(key string, line int) string {
		if key == "" {
			return fmt.Sprintf("relabel_configs[%d] (line %d)", i, line)
		}
		return fmt.Sprintf("relabel_configs[%d].%s (line %d)", i, key, line)
	}
	keys := map[string]*yaml3.Node{}
	for k := 0; k+1 < len(rule.Content); k += 2 {
		key := rule.Content[k]
		if !slices.Contains(ruleKeys, key.Value) {
			return fmt.Errorf("%s: unknown key %q; a relabel rule's keys are %s", at("", key.Line), key.Value, strings.Join(ruleKeys, ", "))
		}
		keys[key.Value] = rule.Content[k+1]
	}
	text, err := yaml3.Marshal(rule)
	if err != nil {
		return nil
	}
	var rc relabel.Config
	if err := yaml.UnmarshalStrict(text, &rc); err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:"))
		key := ""
		switch {
		case strings.Contains(msg, "regexp"):
			key = "regex"
			msg = anchored.ReplaceAllString(msg, "`$1`") // the pattern as the user wrote it
		case strings.Contains(msg, "relabel action"):
			key = "action"
		default:
			// "line 1: cannot unmarshal ...": line 1 of the rule alone.
			if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
				msg = rest
			}
			for k := range keys {
				if strings.Contains(msg, "`"+keys[k].Value+"`") {
					key = k
				}
			}
		}
		line := rule.Line
		if n, ok := keys[key]; ok {
			line = n.Line
		}
		return fmt.Errorf("%s: %s", at(key, line), readableYAML(msg))
	}
	if err := rc.Validate(model.LegacyValidation); err != nil {
		return fmt.Errorf("%s: %w", at("", rule.Line), err)
	}
	return nil
}

// readableYAML replaces yaml.v2's tags and Go types in a message by words.
var readableYAML = strings.NewReplacer(
	"!!str", "a string", "!!seq", "a list", "!!map", "a mapping", "!!int", "a number", "!!bool", "a boolean", "!!float", "a number",
	"into []string", "into a list of strings", "into map[string]string", "into a mapping of strings",
	"into model.LabelNames", "into a list of label names", "into uint64", "into a whole number", "into *[]string", "into a list of strings",
	"into relabel.Config", "into a relabel rule", "into []*relabel.Config", "into a list of relabel rules",
	"into model.Duration", "into a duration", "into bool", "into true or false",
).Replace
