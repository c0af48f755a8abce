package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Options says what to check with which tools.
type Options struct {
	Guard, Rules string
	// Lint is the cfn-lint command; empty skips cfn-lint.
	Lint      string
	Templates []string
}

// GuardFinding is one Control Tower rule failing on one resource (Resource
// empty: on the template as a whole).
type GuardFinding struct {
	Template, Rule, Resource string
	// Reason is the resource's suppression reason; empty: not suppressed.
	Reason string
}

// LintFinding is one cfn-lint error.
type LintFinding struct {
	Template, Rule, Message string
	Path                    []any
	// Allowed says why the finding is accepted; empty: it fails.
	Allowed string
}

// Report is the outcome over all templates.
type Report struct {
	Templates int
	// GuardRules is the number of distinct rules cfn-guard evaluated;
	// GuardChecks is rules × templates.
	GuardRules, GuardChecks int
	Guard                   []GuardFinding
	// Problems are errors in the suppressions themselves.
	Problems []string
	Lint     []LintFinding
	LintRun  bool
}

// OK reports whether nothing fails.
func (r *Report) OK() bool {
	return len(r.Unsuppressed()) == 0 && len(r.Problems) == 0 && len(r.LintErrors()) == 0
}

// Unsuppressed are the guard findings without a suppression.
func (r *Report) Unsuppressed() []GuardFinding {
	return slices.DeleteFunc(slices.Clone(r.Guard), func(f GuardFinding) bool { return f.Reason != "" })
}

// LintErrors are the cfn-lint errors not allowed.
func (r *Report) LintErrors() []LintFinding {
	return slices.DeleteFunc(slices.Clone(r.Lint), func(f LintFinding) bool { return f.Allowed != "" })
}

// Print writes the failures, then one summary line per tool.
func (r *Report) Print(w io.Writer) {
	for _, f := range r.Unsuppressed() {
		where := f.Resource
		if where == "" {
			where = "(template)"
		}
		fmt.Fprintf(w, "FAIL guard %s: %s: %s\n", filepath.Base(f.Template), where, f.Rule)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "FAIL guard %s\n", p)
	}
	for _, f := range r.LintErrors() {
		fmt.Fprintf(w, "FAIL cfn-lint %s: %s at %v: %s\n", filepath.Base(f.Template), f.Rule, f.Path, f.Message)
	}
	suppressed := len(r.Guard) - len(r.Unsuppressed())
	fmt.Fprintf(w, "cfn-guard: %d templates, %d Control Tower rules (%d rule checks): %d findings, %d suppressed with a reason, %d unsuppressed, %d suppression errors\n",
		r.Templates, r.GuardRules, r.GuardChecks, len(r.Guard), suppressed, len(r.Unsuppressed()), len(r.Problems))
	if r.LintRun {
		fmt.Fprintf(w, "cfn-lint: %d errors, %d allowed by property path (stale schema), %d failing\n",
			len(r.Lint), len(r.Lint)-len(r.LintErrors()), len(r.LintErrors()))
	}
}

// Check runs cfn-guard (and cfn-lint) on the templates and applies the
// suppressions.
func Check(o Options) (*Report, error) {
	templates := map[string]map[string]any{}
	for _, path := range o.Templates {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var t map[string]any
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		templates[path] = t
	}
	rep := &Report{Templates: len(o.Templates)}

	args := []string{"validate", "--rules", o.Rules}
	for _, t := range o.Templates {
		args = append(args, "--data", t)
	}
	args = append(args, "--output-format", "json", "--show-summary", "none", "--structured")
	// cfn-guard exits 19 when a rule fails; its JSON says which.
	out, err := run(o.Guard, args, 0, 19)
	if err != nil {
		return nil, err
	}
	results, err := ParseGuard(out)
	if err != nil {
		return nil, err
	}
	rules := map[string]bool{}
	for _, res := range results {
		for _, r := range res.Rules {
			rules[r] = true
		}
		rep.GuardChecks += len(res.Rules)
		t, ok := templates[res.Template]
		if !ok {
			return nil, fmt.Errorf("cfn-guard reported on %s, which was not given", res.Template)
		}
		findings, problems := Suppress(res.Template, t, res.Failures)
		rep.Guard = append(rep.Guard, findings...)
		rep.Problems = append(rep.Problems, problems...)
	}
	rep.GuardRules = len(rules)
	if o.Lint != "" {
		rep.LintRun = true
		// cfn-lint's exit code is a bit mask of the levels found.
		out, err := run(o.Lint, append([]string{"--format", "json", "--"}, o.Templates...), 0, 2, 4, 6, 8, 10, 12, 14)
		if err != nil {
			return nil, err
		}
		if rep.Lint, err = ParseLint(out, templates); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// run runs name with args and returns its stdout; an exit code outside ok
// is an error carrying stderr.
func run(name string, args []string, ok ...int) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && slices.Contains(ok, exit.ExitCode()) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// GuardResult is cfn-guard's verdict on one template.
type GuardResult struct {
	Template string
	// Rules are all rules evaluated (compliant, not applicable or not).
	Rules []string
	// Failures map each failing rule to the resources its failing checks
	// point at ("" for a check that names none).
	Failures map[string][]string
}

var resourcePathRE = regexp.MustCompile(`^/Resources/([^/]+)`)

// ParseGuard reads `cfn-guard validate --output-format json --structured`.
// A failing rule's entry nests clauses differently depending on how the
// rule is written, but every check that failed on a resource carries that
// resource's JSON pointer in a "path" field; those are collected.
func ParseGuard(b []byte) ([]GuardResult, error) {
	var files []struct {
		Name          string                       `json:"name"`
		Compliant     []string                     `json:"compliant"`
		NotApplicable []string                     `json:"not_applicable"`
		NotCompliant  []map[string]json.RawMessage `json:"not_compliant"`
	}
	if err := json.Unmarshal(b, &files); err != nil {
		return nil, fmt.Errorf("cfn-guard output is not the structured JSON report: %w", err)
	}
	out := make([]GuardResult, 0, len(files))
	for _, f := range files {
		res := GuardResult{Template: f.Name, Failures: map[string][]string{}}
		res.Rules = append(append(res.Rules, f.Compliant...), f.NotApplicable...)
		for i, nc := range f.NotCompliant {
			raw, ok := nc["Rule"]
			if !ok {
				return nil, fmt.Errorf("cfn-guard %s: not_compliant[%d] is not a named rule: %s", f.Name, i, firstKey(nc))
			}
			var rule struct {
				Name string `json:"name"`
			}
			var tree any
			if err := json.Unmarshal(raw, &rule); err != nil {
				return nil, fmt.Errorf("cfn-guard %s: not_compliant[%d]: %w", f.Name, i, err)
			}
			if err := json.Unmarshal(raw, &tree); err != nil {
				return nil, err
			}
			ids := map[string]bool{}
			collectResources(tree, ids)
			if len(ids) == 0 {
				ids[""] = true
			}
			res.Rules = append(res.Rules, rule.Name)
			for id := range ids {
				res.Failures[rule.Name] = append(res.Failures[rule.Name], id)
			}
			sort.Strings(res.Failures[rule.Name])
		}
		out = append(out, res)
	}
	return out, nil
}

func firstKey(m map[string]json.RawMessage) string {
	for k := range m {
		return k
	}
	return "(empty)"
}

func collectResources(v any, ids map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "path" {
				if m := resourcePathRE.FindStringSubmatch(s); m != nil {
					ids[m[1]] = true
				}
				continue
			}
			collectResources(e, ids)
		}
	case []any:
		for _, e := range x {
			collectResources(e, ids)
		}
	}
}

// Suppress matches one template's failures with its resources' guard
// metadata. Problems are suppressions without a reason, and suppressions
// of a rule on a resource it did not fail (stale, or misspelled).
func Suppress(path string, template map[string]any, failures map[string][]string) (findings []GuardFinding, problems []string) {
	resources, _ := template["Resources"].(map[string]any)
	failed := map[[2]string]bool{}
	for rule, ids := range failures {
		for _, id := range ids {
			failed[[2]string{id, rule}] = true
			f := GuardFinding{Template: path, Rule: rule, Resource: id}
			if r, ok := resources[id].(map[string]any); ok {
				f.Reason = suppression(r, rule)
			}
			findings = append(findings, f)
		}
	}
	sort.Slice(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		return a.Template+a.Resource+a.Rule < b.Template+b.Resource+b.Rule
	})
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g := guardMetadata(resources[id].(map[string]any))
		if g == nil {
			continue
		}
		rules, _ := g["SuppressedRules"].([]any)
		reasons, _ := g["Reasons"].(map[string]any)
		for _, x := range rules {
			rule, _ := x.(string)
			if why, _ := reasons[rule].(string); strings.TrimSpace(why) == "" {
				problems = append(problems, fmt.Sprintf("%s: %s suppresses %q without a reason", filepath.Base(path), id, rule))
			}
			if !failed[[2]string{id, rule}] {
				problems = append(problems, fmt.Sprintf("%s: %s suppresses %q, which does not fail there (stale or misspelled)", filepath.Base(path), id, rule))
			}
		}
	}
	return findings, problems
}

func guardMetadata(r map[string]any) map[string]any {
	md, _ := r["Metadata"].(map[string]any)
	g, _ := md["guard"].(map[string]any)
	return g
}

// suppression returns the resource's reason for suppressing rule, or "".
func suppression(r map[string]any, rule string) string {
	g := guardMetadata(r)
	rules, _ := g["SuppressedRules"].([]any)
	if !slices.Contains(rules, any(rule)) {
		return ""
	}
	reasons, _ := g["Reasons"].(map[string]any)
	why, _ := reasons[rule].(string)
	return strings.TrimSpace(why)
}

// lintAllowance accepts one cfn-lint rule at one property path of one
// resource type.
type lintAllowance struct {
	Rule, Type string
	Path       []string // below the resource: Properties/…
	Reason     string
}

// staleSchema are the properties aws-cdk-lib's CloudFormation registry
// schema has and this cfn-lint release's schema lacks. Only these exact
// paths are accepted, so a typo elsewhere on the same resources fails.
var staleSchema = []lintAllowance{
	{"E3002", "AWS::APS::Workspace", []string{"Properties", "WorkspaceConfiguration", "OutOfOrderTimeWindowInSeconds"},
		"AMP's out-of-order window is in the registry schema aws-cdk-lib 2.276 was generated from; cfn-lint's schema predates it"},
	{"E3002", "AWS::APS::Workspace", []string{"Properties", "WorkspaceConfiguration", "RuleQueryOffsetInSeconds"},
		"AMP's rule query offset is in the registry schema aws-cdk-lib 2.276 was generated from; cfn-lint's schema predates it"},
	{"E3002", "AWS::Grafana::Workspace", []string{"Properties", "Tags"},
		"AMG workspace tags are in the registry schema aws-cdk-lib 2.276 was generated from; cfn-lint's schema predates them"},
}

// ParseLint reads `cfn-lint --format json` and keeps the errors, marking
// the allowed ones.
func ParseLint(b []byte, templates map[string]map[string]any) ([]LintFinding, error) {
	var matches []struct {
		Filename string `json:"Filename"`
		Level    string `json:"Level"`
		Message  string `json:"Message"`
		Rule     struct {
			ID string `json:"Id"`
		} `json:"Rule"`
		Location struct {
			Path []any `json:"Path"`
		} `json:"Location"`
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(b, &matches); err != nil {
		return nil, fmt.Errorf("cfn-lint output is not its JSON format: %w", err)
	}
	var out []LintFinding
	for _, m := range matches {
		if m.Level != "Error" {
			continue
		}
		f := LintFinding{Template: m.Filename, Rule: m.Rule.ID, Message: m.Message, Path: m.Location.Path}
		f.Allowed = allowed(f, templates[m.Filename])
		out = append(out, f)
	}
	return out, nil
}

func allowed(f LintFinding, template map[string]any) string {
	p := f.Path
	if len(p) < 3 || p[0] != "Resources" {
		return ""
	}
	id, _ := p[1].(string)
	resources, _ := template["Resources"].(map[string]any)
	r, _ := resources[id].(map[string]any)
	for _, a := range staleSchema {
		if a.Rule != f.Rule || r["Type"] != a.Type || len(p)-2 != len(a.Path) {
			continue
		}
		same := true
		for i, seg := range a.Path {
			if p[i+2] != seg {
				same = false
			}
		}
		if same {
			return a.Reason
		}
	}
	return ""
}
