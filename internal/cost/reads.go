package cost

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v2"
)

// Query is one PromQL expression a dashboard or rule reads, with where it
// came from for messages.
type Query struct {
	Source string
	Expr   string
}

// Reads is what dashboards and rules read.
type Reads struct {
	Queries []Query
	// Records maps each recording rule's series to its expression: a
	// query reading the recorded series reads what the rule reads.
	Records map[string]string
}

// labelValues matches Grafana's label_values(selector, label) variable
// query; label_values(label) reads no series in particular.
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(.+)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// AddDashboard adds the Prometheus queries of a Grafana dashboard model:
// every panel target's expr (rows and nested panels included) and every
// query variable's label_values selector.
func (r *Reads) AddDashboard(name string, model []byte) error {
	var v any
	if err := json.Unmarshal(model, &v); err != nil {
		return fmt.Errorf("dashboard %s: %w", name, err)
	}
	n := 0
	walkJSON(v, "", func(key string, obj map[string]any) {
		switch key {
		case "targets":
			// A Loki or other target may hold an expr too; only
			// Prometheus targets (or those that do not say) are PromQL.
			if ds, ok := obj["datasource"].(map[string]any); ok {
				if typ, ok := ds["type"].(string); ok && typ != "prometheus" {
					return
				}
			}
			if expr, ok := obj["expr"].(string); ok && strings.TrimSpace(expr) != "" {
				ref, _ := obj["refId"].(string)
				r.Queries = append(r.Queries, Query{Source: fmt.Sprintf("%s: target %s", name, ref), Expr: expr})
				n++
			}
		case "list": // templating.list
			q := obj["query"]
			if m, ok := q.(map[string]any); ok {
				q = m["query"]
			}
			s, _ := q.(string)
			if m := labelValues.FindStringSubmatch(s); m != nil {
				vn, _ := obj["name"].(string)
				r.Queries = append(r.Queries, Query{Source: fmt.Sprintf("%s: variable %s", name, vn), Expr: m[1]})
				n++
			}
		}
	})
	if n == 0 {
		return fmt.Errorf("dashboard %s: no Prometheus queries (is it a Grafana dashboard model?)", name)
	}
	return nil
}

// walkJSON calls fn for every object that is an element of an array held
// under key.
func walkJSON(v any, key string, fn func(key string, obj map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			walkJSON(c, k, fn)
		}
	case []any:
		for _, c := range v {
			if obj, ok := c.(map[string]any); ok {
				fn(key, obj)
			}
			walkJSON(c, key, fn)
		}
	}
}

// ruleFile is the part of a Prometheus rule file that says what is read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// AddRules adds the expressions of a Prometheus rule file.
func (r *Reads) AddRules(name string, text []byte) error {
	var f ruleFile
	if err := yaml.Unmarshal(text, &f); err != nil {
		return fmt.Errorf("rules %s: %w", name, err)
	}
	n := 0
	for _, g := range f.Groups {
		for i, rule := range g.Rules {
			if rule.Expr == "" {
				return fmt.Errorf("rules %s: group %s rule %d: no expr", name, g.Name, i)
			}
			id := rule.Alert
			if rule.Record != "" {
				id = rule.Record
				if r.Records == nil {
					r.Records = map[string]string{}
				}
				r.Records[rule.Record] = rule.Expr
			}
			r.Queries = append(r.Queries, Query{Source: fmt.Sprintf("%s: %s/%s", name, g.Name, id), Expr: rule.Expr})
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("rules %s: no rules (want a Prometheus rule file with groups)", name)
	}
	return nil
}

// grafanaVar matches a Grafana template variable: $name, ${name},
// ${name:format} or [[name]].
var grafanaVar = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::[^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z_][A-Za-z0-9_]*\]\]`)

// Substitute replaces Grafana template variables so the expression
// parses as PromQL: inside a string (a label matcher's value) with .*,
// which matches whatever the variable is set to; elsewhere ($__interval,
// $__rate_interval, $__range, a user's $window) with a duration, 5m, or
// for the *_ms and *_s forms a number. What is read does not depend on
// which duration, only on the selectors.
func Substitute(expr string) string {
	var out strings.Builder
	inString := byte(0)
	last := 0
	locs := grafanaVar.FindAllStringIndex(expr, -1)
	li := 0
	for i := 0; i < len(expr) && li < len(locs); i++ {
		if i == locs[li][0] {
			out.WriteString(expr[last:i])
			v := expr[locs[li][0]:locs[li][1]]
			switch {
			case inString != 0:
				out.WriteString(".*")
			case strings.HasSuffix(strings.Trim(v, "${}[]"), "_ms"):
				out.WriteString("300000")
			case strings.HasSuffix(strings.Trim(v, "${}[]"), "_s"):
				out.WriteString("300")
			default:
				out.WriteString("5m")
			}
			last = locs[li][1]
			i = last - 1
			li++
			continue
		}
		switch c := expr[i]; {
		case inString == 0 && (c == '"' || c == '\'' || c == '`'):
			inString = c
		case inString != 0 && c == '\\' && inString != '`':
			i++ // an escaped character
		case inString != 0 && c == inString:
			inString = 0
		}
	}
	out.WriteString(expr[last:])
	return out.String()
}
