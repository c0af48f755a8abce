package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// repoRoot is the directory holding cdk.json; set by TestMain.
var repoRoot string

// outRoot holds the cloud assemblies of the shared syntheses: it must
// outlive the test that happened to synthesize first, since later tests
// read the assembly again (cdk-nag's reports, Annotations).
var outRoot string

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra tests:", err)
		code = 1
	} else {
		code = m.Run()
	}
	if outRoot != "" {
		os.RemoveAll(outRoot)
	}
	// One jsii runtime serves every test; closing it per test would restart
	// node each time.
	jsii.Close()
	if outRoot != "" {
		os.RemoveAll(outRoot)
	}
	os.Exit(code)
}

// setup finds the repository and builds the function binaries if `make
// lambda` has not, exactly as the Makefile would.
func setup() (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	if repoRoot, err = FindRoot(wd); err != nil {
		return 1, err
	}
	if outRoot, err = os.MkdirTemp("", "cwstream-infra-test-"); err != nil {
		return 1, err
	}
	for bootstrap, pkg := range map[string]string{BootstrapPath: "./lambda/ingest", GrafanaBootstrapPath: "./lambda/grafana", DemoAppPath: "./cmd/demoapp"} {
		bootstrap = filepath.Join(repoRoot, bootstrap)
		if _, err := os.Stat(bootstrap); err == nil {
			continue
		}
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, pkg)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("build %s: %v\n%s", bootstrap, err, out)
		}
	}
	return 0, nil
}

// cdkContext returns cdk.json's context, as the CDK CLI passes it to the app.
func cdkContext(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return doc.Context
}

// synthesized is one environment's app, built once and shared by the tests:
// each synthesis costs seconds.
type synthesized struct {
	env       *EnvConfig
	stacks    *Stacks
	templates map[string]assertions.Template // by stack name
	raw       map[string]map[string]any      // template JSON by stack name
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// synth builds and synthesizes the shipped environment name (from cdk.json).
func synth(t *testing.T, name string) *synthesized {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[name]; ok {
		return s
	}
	ctx := cdkContext(t)
	env, err := LoadEnvConfig(ctx[ContextKeyEnvironments], name, "", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.MkdirTemp(outRoot, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
	stacks, err := BuildApp(app, env, DefaultPaths(repoRoot))
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{env: env, stacks: stacks, templates: map[string]assertions.Template{}, raw: map[string]map[string]any{}}
	all := []awscdk.Stack{stacks.Workspace.Stack}
	for _, in := range stacks.Ingest {
		all = append(all, in.Stack)
	}
	if stacks.EcsDemo != nil {
		all = append(all, stacks.EcsDemo.Stack)
	}
	for _, st := range all {
		tpl := assertions.Template_FromStack(st, nil)
		s.templates[*st.StackName()] = tpl
		s.raw[*st.StackName()] = *tpl.ToJSON()
	}
	synthCache[name] = s
	return s
}

// check runs an assertion that reports failure by panicking (jsii) and turns
// the panic into a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}
