package main

// Day two (issue 20): every documented setting of an environment, changed
// from the shipped dev and prod values and back, must deploy as an update
// CloudFormation accepts. Each (before, after) pair of configurations is
// synthesized and modelled by package cfnupdate with the registry schemas
// of the installed cfn-lint; what it replaces and leaves behind is pinned in
// testdata/golden/infra-updates.txt (infra/README.md, "Changing settings",
// summarizes it).

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/cwstream/cwstream/infra/cfnupdate"
	"github.com/cwstream/cwstream/internal/testutil"
)

// toggle changes one setting of e to another valid value (with what the
// new value needs, e.g. SAML's metadata URL). It may leave e unchanged
// where the setting cannot take another value from e's (then the pair is
// skipped and the golden file says so).
type toggle func(t *testing.T, e *EnvConfig)

// notToggled are the settings the harness does not change, and why.
var notToggled = map[string]string{
	"account": "selects another account: a new deployment, not an update of this one",
	"region":  "selects another region for the workspace: new stacks (the names carry the region), not an update",
}

// toggles returns one toggle per environment setting (dotted JSON key).
func toggles(t *testing.T) map[string]toggle {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("groups:\n  - name: mine\n    rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rulesRel, err := filepath.Rel(repoRoot, rules)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b *bool) { *b = !*b }
	retention := func(d *int) {
		if *d == 30 {
			*d = 60
		} else {
			*d = 30
		}
	}
	network := func(e *EnvConfig) *NetworkConfig {
		if e.Network == nil {
			e.Network = &NetworkConfig{VpcCidr: defaultVpcCidr}
		}
		return e.Network
	}
	other := func(v, a, b int) int {
		if v == a {
			return b
		}
		return a
	}
	return map[string]toggle{
		"ingestRegions": func(_ *testing.T, e *EnvConfig) {
			if len(e.IngestRegions) > 1 {
				e.IngestRegions = e.IngestRegions[:1]
			} else {
				e.IngestRegions = append(e.IngestRegions, "us-west-2")
			}
		},
		"configFile": func(_ *testing.T, e *EnvConfig) {
			if e.ConfigFile == "config/dev.yaml" {
				e.ConfigFile = "config/prod.yaml"
			} else {
				e.ConfigFile = "config/dev.yaml"
			}
		},
		"rulesFile":                          func(_ *testing.T, e *EnvConfig) { e.RulesFile = rulesRel },
		"retain":                             func(_ *testing.T, e *EnvConfig) { flip(&e.Retain) },
		"tags":                               func(_ *testing.T, e *EnvConfig) { e.Tags = map[string]string{"team": "observability"} },
		"prometheus.alias":                   func(_ *testing.T, e *EnvConfig) { e.Prometheus.Alias += "-2" },
		"prometheus.retentionDays":           func(_ *testing.T, e *EnvConfig) { e.Prometheus.RetentionDays++ },
		"prometheus.outOfOrderWindowSeconds": func(_ *testing.T, e *EnvConfig) { e.Prometheus.OutOfOrderWindowSeconds /= 2 },
		"prometheus.ruleQueryOffsetSeconds":  func(_ *testing.T, e *EnvConfig) { e.Prometheus.RuleQueryOffsetSeconds /= 2 },
		"prometheus.customerManagedKey":      func(_ *testing.T, e *EnvConfig) { flip(&e.Prometheus.CustomerManagedKey) },
		"prometheus.logRetentionDays":        func(_ *testing.T, e *EnvConfig) { retention(&e.Prometheus.LogRetentionDays) },
		"grafana.authentication": func(_ *testing.T, e *EnvConfig) {
			e.Grafana.Authentication, e.Grafana.SAMLMetadataURL = "SAML", "https://idp.example.com/metadata"
		},
		"grafana.permissionType": func(_ *testing.T, e *EnvConfig) {
			e.Grafana.PermissionType = map[string]string{"CUSTOMER_MANAGED": "SERVICE_MANAGED", "SERVICE_MANAGED": "CUSTOMER_MANAGED"}[e.Grafana.PermissionType]
		},
		"grafana.samlMetadataUrl": func(_ *testing.T, e *EnvConfig) {
			e.Grafana.Authentication, e.Grafana.SAMLMetadataURL = "SAML", "https://idp.example.com/other"
		},
		"grafana.samlAdminRoleValues": func(_ *testing.T, e *EnvConfig) {
			e.Grafana.Authentication, e.Grafana.SAMLMetadataURL = "SAML", "https://idp.example.com/metadata"
			e.Grafana.SAMLAdminRoleValues = []string{"grafana-admins"}
		},
		"grafana.grafanaVersion": func(_ *testing.T, e *EnvConfig) { e.Grafana.GrafanaVersion = "12.4" },
		"alerts.email": func(_ *testing.T, e *EnvConfig) {
			e.Alerts.Email = map[bool]string{true: "ops@example.com", false: ""}[e.Alerts.Email == ""]
		},
		"alerts.rdsMaxConnections":    func(_ *testing.T, e *EnvConfig) { e.Alerts.RDSMaxConnections *= 2 },
		"alerts.rdsFreeMemoryMiB":     func(_ *testing.T, e *EnvConfig) { e.Alerts.RDSFreeMemoryMiB *= 2 },
		"alerts.rdsFreeStorageGiB":    func(_ *testing.T, e *EnvConfig) { e.Alerts.RDSFreeStorageGiB *= 2 },
		"alerts.albP99Seconds":        func(_ *testing.T, e *EnvConfig) { e.Alerts.ALBP99Seconds *= 2 },
		"alerts.alb5xxRatio":          func(_ *testing.T, e *EnvConfig) { e.Alerts.ALB5xxRatio /= 2 },
		"stream.outputFormat":         func(_ *testing.T, e *EnvConfig) { e.Stream.OutputFormat = "opentelemetry1.0" },
		"stream.includeFilters":       func(_ *testing.T, e *EnvConfig) { e.Stream.IncludeFilters = e.Stream.IncludeFilters[:1] },
		"stream.additionalStatistics": func(_ *testing.T, e *EnvConfig) { e.Stream.AdditionalStatistics = nil },
		"stream.includeLinkedAccountsMetrics": func(_ *testing.T, e *EnvConfig) {
			flip(&e.Stream.IncludeLinkedAccountsMetrics)
		},
		"firehose.processorBufferSizeMiB": func(_ *testing.T, e *EnvConfig) {
			e.Firehose.ProcessorBufferSizeMiB = map[bool]float64{true: 2, false: 1}[e.Firehose.ProcessorBufferSizeMiB == 1]
		},
		"firehose.processorBufferIntervalSeconds": func(_ *testing.T, e *EnvConfig) { e.Firehose.ProcessorBufferIntervalSeconds += 60 },
		"firehose.processorRetries":               func(_ *testing.T, e *EnvConfig) { e.Firehose.ProcessorRetries++ },
		"firehose.s3BufferSizeMiB":                func(_ *testing.T, e *EnvConfig) { e.Firehose.S3BufferSizeMiB /= 2 },
		"firehose.s3BufferIntervalSeconds":        func(_ *testing.T, e *EnvConfig) { e.Firehose.S3BufferIntervalSeconds += 60 },
		"firehose.backupAllRecords":               func(_ *testing.T, e *EnvConfig) { flip(&e.Firehose.BackupAllRecords) },
		"firehose.logRetentionDays":               func(_ *testing.T, e *EnvConfig) { retention(&e.Firehose.LogRetentionDays) },
		"lambda.memoryMiB":                        func(_ *testing.T, e *EnvConfig) { e.Lambda.MemoryMiB += 512 },
		"lambda.timeoutSeconds":                   func(_ *testing.T, e *EnvConfig) { e.Lambda.TimeoutSeconds -= 60 },
		"lambda.reservedConcurrency": func(_ *testing.T, e *EnvConfig) {
			e.Lambda.ReservedConcurrency = other(e.Lambda.ReservedConcurrency, 0, 5)
		},
		"lambda.logRetentionDays": func(_ *testing.T, e *EnvConfig) { retention(&e.Lambda.LogRetentionDays) },
		"lambda.logLevel": func(_ *testing.T, e *EnvConfig) {
			e.Lambda.LogLevel = map[bool]string{true: "debug", false: "info"}[e.Lambda.LogLevel != "debug"]
		},
		"lambda.concurrency": func(_ *testing.T, e *EnvConfig) { e.Lambda.Concurrency = other(e.Lambda.Concurrency, 0, 4) },
		"lambda.maxSamplesPerRequest": func(_ *testing.T, e *EnvConfig) {
			e.Lambda.MaxSamplesPerRequest = other(e.Lambda.MaxSamplesPerRequest, 0, 5000)
		},
		"lambda.maxBytesPerRequest": func(_ *testing.T, e *EnvConfig) {
			e.Lambda.MaxBytesPerRequest = other(e.Lambda.MaxBytesPerRequest, 0, 1<<20)
		},
		"bucket.processingFailedExpirationDays": func(_ *testing.T, e *EnvConfig) {
			e.Bucket.ProcessingFailedExpirationDays++
		},
		"bucket.backupExpirationDays": func(_ *testing.T, e *EnvConfig) { e.Bucket.BackupExpirationDays++ },
		"ecsDemo.enabled":             func(_ *testing.T, e *EnvConfig) { flip(&e.EcsDemo.Enabled) },
		"ecsDemo.desiredCount": func(_ *testing.T, e *EnvConfig) {
			e.EcsDemo.Enabled, e.EcsDemo.DesiredCount = true, other(e.EcsDemo.DesiredCount, 1, 2)
		},
		"ecsDemo.image": func(_ *testing.T, e *EnvConfig) {
			e.EcsDemo.Enabled, e.EcsDemo.Image = true, "public.ecr.aws/example/cwstream-demoapp:1"
		},
		"ecsDemo.logRetentionDays": func(_ *testing.T, e *EnvConfig) {
			e.EcsDemo.Enabled = true
			retention(&e.EcsDemo.LogRetentionDays)
		},
		"network": func(_ *testing.T, e *EnvConfig) {
			if e.Network != nil {
				e.Network = nil
			} else {
				network(e)
			}
		},
		"network.vpcCidr": func(_ *testing.T, e *EnvConfig) {
			n := network(e)
			n.VpcID, n.SubnetIDs, n.VpcCidr = "", nil, "10.90.0.0/20"
		},
		"network.vpcId": func(_ *testing.T, e *EnvConfig) {
			n := network(e)
			n.VpcID, n.SubnetIDs, n.VpcCidr = "vpc-0123456789abcdef0", []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}, ""
		},
		"network.subnetIds": func(_ *testing.T, e *EnvConfig) {
			n := network(e)
			n.VpcID, n.SubnetIDs, n.VpcCidr = "vpc-0123456789abcdef0", []string{"subnet-0123456789abcdef2", "subnet-0123456789abcdef3"}, ""
		},
	}
}

// envKeys lists the settings of type t as dotted JSON keys: the leaves of
// its structs, plus the key of every optional (pointer) section, whose
// presence is itself a setting.
func envKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			keys = append(keys, key)
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			keys = append(keys, envKeys(ft, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// TestUpdateHarnessCoversEveryKey: every key of the environment config
// (read from EnvConfig itself, so a key another change adds is counted)
// has a toggle or a reason not to have one, and nothing else does.
func TestUpdateHarnessCoversEveryKey(t *testing.T) {
	known := toggles(t)
	keys := envKeys(reflect.TypeFor[EnvConfig](), "")
	for _, k := range keys {
		_, tog := known[k]
		_, skip := notToggled[k]
		switch {
		case !tog && !skip:
			t.Errorf("environment config key %q has no toggle in the update harness (infra/update_test.go toggles): add one so its day-two change is checked, or a reason in notToggled", k)
		case tog && skip:
			t.Errorf("key %q is both toggled and in notToggled", k)
		}
	}
	for k := range known {
		if !slices.Contains(keys, k) {
			t.Errorf("toggle for %q, which is no environment config key", k)
		}
	}
	for k := range notToggled {
		if !slices.Contains(keys, k) {
			t.Errorf("notToggled lists %q, which is no environment config key", k)
		}
	}
}

// updateSynths caches the templates of each configuration within a run:
// the shipped environments are the before of every pair.
var (
	updateMu     sync.Mutex
	updateSynths = map[string][]cfnupdate.Stack{}
)

// refStrengthKey is the CDK context key choosing how stacks pass values
// to each other (cdk.json sets it; see WorkspaceStack.Generation).
const refStrengthKey = "@aws-cdk/core:defaultCrossStackReferences"

// synthStacks synthesizes env (without the cdk-nag pack: only templates
// are read) and returns its stacks, cached by the configuration's JSON.
// refs, when set, replaces cdk.json's reference strength.
func synthStacks(t *testing.T, env *EnvConfig, refs string) []cfnupdate.Stack {
	t.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	key := env.Name + " " + refs + " " + string(b)
	updateMu.Lock()
	defer updateMu.Unlock()
	if s, ok := updateSynths[key]; ok {
		return s
	}
	ctx := cdkContext(t)
	if refs != "" {
		ctx[refStrengthKey] = refs
	}
	out, err := os.MkdirTemp(outRoot, env.Name+"-update-")
	if err != nil {
		t.Fatal(err)
	}
	// The assembly holds copies of the function binaries: only the
	// templates are kept.
	defer os.RemoveAll(out)
	var stacks *Stacks
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("synthesis: %v", r)
			}
		}()
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
		if stacks, err = buildApp(app, env, DefaultPaths(repoRoot), false); err == nil {
			app.Synth(nil)
		}
	}()
	if err != nil {
		t.Fatalf("%s %s: %v", env.Name, b, err)
	}
	all := []awscdk.Stack{stacks.Workspace.Stack}
	for _, in := range stacks.Ingest {
		all = append(all, in.Stack)
	}
	if stacks.EcsDemo != nil {
		all = append(all, stacks.EcsDemo.Stack)
	}
	var res []cfnupdate.Stack
	for _, st := range all {
		raw, err := os.ReadFile(filepath.Join(out, *st.ArtifactId()+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := cfnupdate.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", *st.StackName(), err)
		}
		res = append(res, cfnupdate.Stack{Name: *st.StackName(), Region: *st.Region(), Template: tpl})
	}
	updateSynths[key] = res
	return res
}

// cloneEnv deep-copies e (through its JSON, which holds every setting).
func cloneEnv(t *testing.T, e *EnvConfig) *EnvConfig {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	c := &EnvConfig{}
	if err := json.Unmarshal(b, c); err != nil {
		t.Fatal(err)
	}
	c.Name = e.Name
	return c
}

func cfnLintSchemas(t *testing.T) cfnupdate.Schemas {
	t.Helper()
	s, err := cfnupdate.FindCfnLint()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the update harness needs cfn-lint's resource schemas under CI: %v", err)
		}
		t.Skipf("cfn-lint is not installed (pip install cfn-lint), so there are no resource schemas: %v", err)
	}
	return s
}

// TestSettingChangesDeploy: for dev and prod, every toggle from the
// shipped value and back is an update CloudFormation accepts: nothing
// refused (cfnupdate.Compare). Replacements and what stays behind are
// pinned in the golden file.
func TestSettingChangesDeploy(t *testing.T) {
	schemas := cfnLintSchemas(t)
	start := time.Now()
	ctx := cdkContext(t)
	tog := toggles(t)
	var golden strings.Builder
	golden.WriteString("# Generated by TestSettingChangesDeploy (go test ./infra -run TestSettingChangesDeploy -update).\n")
	golden.WriteString("# Per environment and setting: what an update from the shipped value to the toggled one (->) and back (<-) replaces, removes and leaves behind.\n")
	synths := 0
	for _, name := range shipped {
		base, err := LoadEnvConfig(ctx[ContextKeyEnvironments], name, "", "")
		if err != nil {
			t.Fatal(err)
		}
		shippedStacks := synthStacks(t, base, "")
		for _, key := range slices.Sorted(maps.Keys(tog)) {
			after := cloneEnv(t, base)
			tog[key](t, after)
			fmt.Fprintf(&golden, "\n%s %s\n", name, key)
			if reflect.DeepEqual(after, base) {
				golden.WriteString("  (no other value from this environment's)\n")
				continue
			}
			if err := after.Validate(); err != nil {
				t.Errorf("%s %s: the toggled configuration is invalid: %v", name, key, err)
				continue
			}
			toggled := synthStacks(t, after, "")
			synths++
			for _, dir := range []struct {
				arrow         string
				before, after []cfnupdate.Stack
			}{{"->", shippedStacks, toggled}, {"<-", toggled, shippedStacks}} {
				res, err := cfnupdate.Compare(dir.before, dir.after, schemas, cfnupdate.DefaultRules)
				if err != nil {
					t.Errorf("%s %s %s: %v", name, key, dir.arrow, err)
					continue
				}
				for _, r := range res.Refused {
					t.Errorf("%s: changing %s (%s the shipped value) does not deploy: %s", name, key, dir.arrow, r)
				}
				lines := res.Replaced()
				for _, l := range res.LeftBehind {
					lines = append(lines, "left behind: "+l.String())
				}
				if len(lines) == 0 {
					lines = []string{"updates in place"}
				}
				for _, l := range lines {
					fmt.Fprintf(&golden, "  %s %s\n", dir.arrow, l)
				}
			}
		}
	}
	t.Logf("%d toggled configurations synthesized and compared both ways in %v", synths, time.Since(start).Round(time.Second))
	testutil.Golden(t, testutil.Testdata(t, "golden", "infra-updates.txt"), []byte(golden.String()))
}

// TestReferenceMigration: a deployment made with strong references
// (Fn::ImportValue, CDK's cross-region ExportsWriter/Reader; cdk.json until
// issue 20) reaches the weak ones in two deploys, through "both" (the
// producer keeps its exports while the consumers switch to
// Fn::GetStackOutput; aws-cdk-lib README, "Reference strength"), and not in
// one: the exports would go while still imported. infra/README.md gives
// the commands.
func TestReferenceMigration(t *testing.T) {
	schemas := cfnLintSchemas(t)
	ctx := cdkContext(t)
	if ctx[refStrengthKey] != "weak" {
		t.Fatalf("cdk.json %s = %v, want weak (see WorkspaceStack.Generation)", refStrengthKey, ctx[refStrengthKey])
	}
	for _, name := range shipped {
		env, err := LoadEnvConfig(ctx[ContextKeyEnvironments], name, "", "")
		if err != nil {
			t.Fatal(err)
		}
		strong, both, weak := synthStacks(t, env, "strong"), synthStacks(t, env, "both"), synthStacks(t, env, "")
		for _, step := range []struct {
			what          string
			before, after []cfnupdate.Stack
			refused       bool
		}{
			{"strong → both", strong, both, false},
			{"both → weak", both, weak, false},
			{"strong → weak in one deploy", strong, weak, true},
		} {
			res, err := cfnupdate.Compare(step.before, step.after, schemas, cfnupdate.DefaultRules)
			if err != nil {
				t.Fatalf("%s %s: %v", name, step.what, err)
			}
			if got := len(res.Refused) > 0; got != step.refused {
				t.Errorf("%s %s: refused %v, want refused %v", name, step.what, res.Refused, step.refused)
			}
		}
	}
}

// TestWeakWorkspaceReferences: the stacks that use the workspace import
// nothing (no Fn::ImportValue, no cross-region ExportsReader) and read the
// workspace stack's outputs by Fn::GetStackOutput, with the workspace's
// region (which defaults to the reader's own); each outputs the
// workspace's generation.
// The workspace stack exports nothing.
func TestWeakWorkspaceReferences(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		ws := s.stacks.Workspace
		wsRaw := s.raw[*ws.StackName()]
		for _, o := range wsRaw["Outputs"].(obj) {
			if e, ok := o.(obj)["Export"]; ok {
				t.Errorf("%s: the workspace stack exports %s", name, asJSON(e))
			}
		}
		if n := len(resources(wsRaw, "Custom::CrossRegionExportWriter")); n > 0 {
			t.Errorf("%s: %d cross-region export writers in the workspace stack", name, n)
		}
		consumers := map[string]awscdk.Stack{}
		for _, in := range s.stacks.Ingest {
			consumers[*in.StackName()] = in.Stack
		}
		if s.stacks.EcsDemo != nil {
			consumers[*s.stacks.EcsDemo.StackName()] = s.stacks.EcsDemo.Stack
		}
		for stack, st := range consumers {
			raw, region := s.raw[stack], *st.Region()
			// cdk deploy orders stacks by their dependencies: a consumer
			// must be updated after the workspace stack, or it resolves
			// the old values.
			if !slices.ContainsFunc(*st.Dependencies(), func(d awscdk.Stack) bool { return *d.StackName() == *ws.StackName() }) {
				t.Errorf("%s does not depend on %s: cdk deploy could update it first", stack, *ws.StackName())
			}
			refs := 0
			var bad []string
			var visit func(v any)
			visit = func(v any) {
				switch x := v.(type) {
				case []any:
					for _, e := range x {
						visit(e)
					}
				case obj:
					if _, ok := x["Fn::ImportValue"]; ok {
						bad = append(bad, asJSON(x))
					}
					if r, ok := x["Fn::GetStackOutput"].(obj); ok {
						refs++
						_, known := wsRaw["Outputs"].(obj)[fmt.Sprint(r["OutputName"])]
						// The region is needed across regions; CDK gives it always.
						sameRegionDefault := r["Region"] == nil && region == *ws.Region()
						if r["StackName"] != *ws.StackName() || !known || (r["Region"] != *ws.Region() && !sameRegionDefault) {
							bad = append(bad, asJSON(x))
						}
					}
					for _, e := range x {
						visit(e)
					}
				}
			}
			visit(raw["Resources"])
			if len(bad) > 0 {
				t.Errorf("%s: references that are not weak ones to the workspace stack's outputs: %v", stack, bad)
			}
			if refs == 0 {
				t.Errorf("%s: no Fn::GetStackOutput; this test has nothing to check", stack)
			}
			if n := len(resources(raw, "Custom::CrossRegionExportReader")); n > 0 {
				t.Errorf("%s: %d cross-region export readers", stack, n)
			}
			gen, _ := raw["Outputs"].(obj)["WorkspaceGeneration"].(obj)
			if gen["Value"] != ws.Generation() {
				t.Errorf("%s: WorkspaceGeneration output %s, want %q", stack, asJSON(gen), ws.Generation())
			}
		}
	}
}
