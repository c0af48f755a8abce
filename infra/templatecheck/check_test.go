package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

// tools finds the cfn-guard binary and Control Tower rules of the pinned npm
// package, and cfn-lint; without them (no `npm ci`) the test skips, except
// under CI, where they must be there.
func tools(t *testing.T) (guard, rules, lint string) {
	t.Helper()
	missing := func(what string) {
		testutil.Missing(t, what+" is missing: run npm ci in the repository root")
	}
	dir, _ := os.Getwd()
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			missing("package.json")
		}
	}
	pkg := filepath.Join(dir, "node_modules", "@cdklabs", "cdk-validator-cfnguard")
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	guard = filepath.Join(pkg, "bin", "ubuntu", arch, "cfn-guard")
	rules = filepath.Join(pkg, "rules", "control-tower", "cfn-guard")
	if _, err := os.Stat(guard); err != nil {
		missing(guard)
	}
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		missing("cfn-lint")
	}
	return guard, rules, lint
}

func writeTemplate(t *testing.T, resources map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "test.template.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func guardMD(rules []string, reasons map[string]string) map[string]any {
	return map[string]any{"guard": map[string]any{"SuppressedRules": rules, "Reasons": reasons}}
}

// TestGuardSuppressions runs the real cfn-guard and Control Tower rules on
// a bucket that breaks several of them: only the rules the bucket
// suppresses with a reason are suppressed, an unreasoned or stale
// suppression is itself a failure.
func TestGuardSuppressions(t *testing.T) {
	guard, rules, _ := tools(t)
	bucket := func(md map[string]any) map[string]any {
		r := map[string]any{"Type": "AWS::S3::Bucket", "Properties": map[string]any{}}
		if md != nil {
			r["Metadata"] = md
		}
		return r
	}
	const versioning, lock = "s3_bucket_versioning_enabled_check", "s3_bucket_object_lock_enabled_check"
	tests := []struct {
		name             string
		md               map[string]any
		wantSuppressed   []string
		wantUnsuppressed []string // among others
		wantProblem      string
	}{
		{"none", nil, nil, []string{versioning, lock}, ""},
		{"two with reasons", guardMD([]string{versioning, lock}, map[string]string{versioning: "write-once keys", lock: "lifecycle must delete"}),
			[]string{versioning, lock}, nil, ""},
		{"no reason", guardMD([]string{versioning}, map[string]string{}), nil, []string{versioning}, "without a reason"},
		{"stale", guardMD([]string{"lambda_inside_vpc_check"}, map[string]string{"lambda_inside_vpc_check": "not a function"}), nil, []string{versioning}, "does not fail there"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemplate(t, map[string]any{"B": bucket(tc.md)})
			rep, err := Check(Options{Guard: guard, Rules: rules, Templates: []string{p}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.GuardRules < 100 {
				t.Errorf("%d rules evaluated: the Control Tower rules were not loaded", rep.GuardRules)
			}
			got := map[string]string{}
			for _, f := range rep.Guard {
				if f.Resource != "B" {
					t.Errorf("finding on %q", f.Resource)
				}
				got[f.Rule] = f.Reason
			}
			for _, r := range tc.wantSuppressed {
				if why, ok := got[r]; !ok || why == "" {
					t.Errorf("%s: reason %q (found %v)", r, why, ok)
				}
			}
			for _, r := range tc.wantUnsuppressed {
				if why, ok := got[r]; !ok || why != "" {
					t.Errorf("%s: want an unsuppressed finding, got found=%v reason %q", r, ok, why)
				}
			}
			if rep.OK() {
				t.Error("report OK, but the bucket breaks other rules too")
			}
			problems := strings.Join(rep.Problems, "\n")
			if (tc.wantProblem == "") != (problems == "") || !strings.Contains(problems, tc.wantProblem) {
				t.Errorf("problems %q, want %q", problems, tc.wantProblem)
			}
		})
	}
}

// TestLintStaleSchema runs the real cfn-lint: the stale-schema property is
// allowed at its exact path only; a misspelled sibling fails.
func TestLintStaleSchema(t *testing.T) {
	guard, rules, lint := tools(t)
	p := writeTemplate(t, map[string]any{"W": map[string]any{
		"Type": "AWS::APS::Workspace",
		"Properties": map[string]any{"Alias": "x", "WorkspaceConfiguration": map[string]any{
			"OutOfOrderTimeWindowInSeconds": 600,
			"RuleQueryOffsetInSeconds":      240,
			"RetentionPeriodInDayz":         30,
		}},
	}})
	rep, err := Check(Options{Guard: guard, Rules: rules, Lint: lint, Templates: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	var allowed, failing []string
	for _, f := range rep.Lint {
		path, _ := json.Marshal(f.Path)
		if f.Allowed != "" {
			allowed = append(allowed, string(path))
		} else {
			failing = append(failing, string(path))
		}
	}
	for _, a := range allowed {
		if !strings.Contains(a, "OutOfOrderTimeWindowInSeconds") && !strings.Contains(a, "RuleQueryOffsetInSeconds") {
			t.Errorf("allowed %s, want only the out-of-order window and the rule query offset", a)
		}
	}
	if len(allowed) > 2 {
		t.Errorf("allowed %v, want at most two paths", allowed)
	}
	if len(failing) != 1 || !strings.Contains(failing[0], "RetentionPeriodInDayz") {
		t.Errorf("failing %v, want the misspelled property", failing)
	}
}

// TestParseGuardRejectsUnknownShapes: output that is not the structured
// report is an error, not an empty pass.
func TestParseGuardRejectsUnknownShapes(t *testing.T) {
	for _, in := range []string{"", "PASS", `{"name": "x"}`, `[{"name": "t", "not_compliant": [{"Clause": {}}]}]`} {
		if _, err := ParseGuard([]byte(in)); err == nil {
			t.Errorf("ParseGuard(%q): no error", in)
		}
	}
}
