package main

import (
	"time"

	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"go.yaml.in/yaml/v2"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/dashboards"
	"github.com/cwstream/cwstream/internal/grafana"
	"github.com/cwstream/cwstream/internal/rules"
)

// wantRuleFile is the rule file AMP must get for env: internal/rules with
// the environment's thresholds, and the env label of its cwstream config on
// the alerts that have no series labels.
func wantRuleFile(t *testing.T, env *EnvConfig) string {
	t.Helper()
	cfg, err := config.Load(filepath.Join(repoRoot, env.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	label := cfg.ExternalLabels["env"]
	if label == "" {
		t.Fatalf("%s has no env external label", env.ConfigFile)
	}
	o := rules.DefaultOptions()
	o.Env = label
	o.RDSMaxConnections = env.Alerts.RDSMaxConnections
	o.RDSFreeMemoryBytes = env.Alerts.RDSFreeMemoryMiB * 1024 * 1024
	o.RDSFreeStorageBytes = env.Alerts.RDSFreeStorageGiB * 1024 * 1024 * 1024
	o.ALBP99Seconds = env.Alerts.ALBP99Seconds
	o.ALB5xxRatio = env.Alerts.ALB5xxRatio
	o.QueryOffset = time.Duration(env.Prometheus.RuleQueryOffsetSeconds) * time.Second
	f, err := rules.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	// And, read back, the pipeline alert carries that label.
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == "CWStreamNoData" {
				found = true
				if r.Labels["env"] != label {
					t.Errorf("CWStreamNoData labels %v, want env=%s", r.Labels, label)
				}
			}
		}
	}
	if !found {
		t.Error("no CWStreamNoData alert in the rule file")
	}
	return string(b)
}

// checkAlertManager proves the workspace's alert manager definition is
// rules.AlertManagerDefinition for this stack's topic and region: the
// template's Fn::Join, with the topic's Ref replaced by an ARN, must be the
// definition generated for that ARN.
func checkAlertManager(t *testing.T, def any, topicID, region string) {
	t.Helper()
	const arn = "arn:aws:sns:eu-west-1:123456789012:cwstream-alerts-test"
	want, err := rules.AlertManagerDefinition(arn, region)
	if err != nil {
		t.Fatal(err)
	}
	join, ok := def.(obj)["Fn::Join"].([]any)
	if !ok || join[0] != "" {
		t.Fatalf("AlertManagerDefinition is not a Fn::Join on the topic: %s", asJSON(def))
	}
	var b strings.Builder
	refs := 0
	for _, part := range join[1].([]any) {
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case obj:
			if asJSON(p) != asJSON(obj{"Ref": topicID}) {
				t.Fatalf("AlertManagerDefinition refers to %s, want only the topic %s", asJSON(p), topicID)
			}
			b.WriteString(arn)
			refs++
		}
	}
	if refs != 1 {
		t.Errorf("AlertManagerDefinition names the topic %d times, want 1", refs)
	}
	if b.String() != want {
		t.Errorf("AlertManagerDefinition\n%s\nwant rules.AlertManagerDefinition\n%s", b.String(), want)
	}
}

// checkAlertTopicPolicies proves AMP may publish to the alert topic, as
// this account and this workspace only, and may use the topic's key.
func checkAlertTopicPolicies(t *testing.T, raw map[string]any, amp, topicID, keyID string) {
	t.Helper()
	aps := func(st obj) bool { return asJSON(st["Principal"]) == asJSON(obj{"Service": "aps.amazonaws.com"}) }
	account := obj{"StringEquals": obj{"aws:SourceAccount": obj{"Ref": "AWS::AccountId"}}}

	var topicStatements []obj
	for _, p := range resources(raw, "AWS::SNS::TopicPolicy") {
		if !slices.ContainsFunc(props(p)["Topics"].([]any), func(x any) bool { return asJSON(x) == asJSON(obj{"Ref": topicID}) }) {
			continue
		}
		for _, st := range props(p)["PolicyDocument"].(obj)["Statement"].([]any) {
			if aps(st.(obj)) {
				topicStatements = append(topicStatements, st.(obj))
			}
		}
	}
	if len(topicStatements) != 1 {
		t.Fatalf("%d topic policy statements for aps.amazonaws.com, want 1", len(topicStatements))
	}
	st := topicStatements[0]
	wantCond := obj{
		"ArnEquals":    obj{"aws:SourceArn": obj{"Fn::GetAtt": []any{amp, "Arn"}}},
		"StringEquals": account["StringEquals"],
	}
	switch {
	case st["Effect"] != "Allow":
		t.Errorf("aps topic statement: effect %v", st["Effect"])
	case !slices.Equal(actions(st), []string{"sns:Publish", "sns:GetTopicAttributes"}):
		t.Errorf("aps topic statement: actions %v", actions(st))
	case asJSON(st["Resource"]) != asJSON(obj{"Ref": topicID}):
		t.Errorf("aps topic statement: resource %s", asJSON(st["Resource"]))
	case asJSON(st["Condition"]) != asJSON(wantCond):
		t.Errorf("aps topic statement: condition %s, want %s", asJSON(st["Condition"]), asJSON(wantCond))
	}

	_, key := only(t, raw, "AWS::KMS::Key", keyID)
	var keyStatements []obj
	for _, st := range props(key)["KeyPolicy"].(obj)["Statement"].([]any) {
		if aps(st.(obj)) {
			keyStatements = append(keyStatements, st.(obj))
		}
	}
	if len(keyStatements) != 1 {
		t.Fatalf("%d key policy statements for aps.amazonaws.com, want 1", len(keyStatements))
	}
	ks := keyStatements[0]
	if got := actions(ks); ks["Effect"] != "Allow" || !slices.Equal(got, []string{"kms:Decrypt", "kms:GenerateDataKey*"}) ||
		asJSON(ks["Condition"]) != asJSON(account) {
		t.Errorf("aps key statement: %s", asJSON(ks))
	}
}

// TestGrafanaProvisioning checks the custom resource that puts the
// dashboards into AMG: its wiring to both workspaces, the dashboards' hash,
// its function and the function's exact permissions.
func TestGrafanaProvisioning(t *testing.T) {
	models, err := dashboards.JSON()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, m := range models {
		h.Write(m.JSON)
	}
	wantHash := hex.EncodeToString(h.Sum(nil))

	for _, name := range shipped {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			env := s.env
			tpl := s.templates[*s.stacks.Workspace.StackName()]
			raw := s.raw[*s.stacks.Workspace.StackName()]
			amp, _ := only(t, raw, "AWS::APS::Workspace", "")
			amg, _ := only(t, raw, "AWS::Grafana::Workspace", "")
			crID, cr := only(t, raw, cw.GrafanaResourceType, "")

			workspaceID := assertions.NewCapture(nil)
			promURL := assertions.NewCapture(nil)
			token := assertions.NewCapture(nil)
			check(t, "custom resource", func() {
				tpl.HasResourceProperties(jsii.String(cw.GrafanaResourceType), obj{
					"ServiceToken":            token,
					grafana.PropWorkspaceID:   workspaceID,
					grafana.PropPrometheusURL: promURL,
					grafana.PropRegion:        env.Region,
					cw.PropDashboardsHash:     wantHash,
				})
			})
			if got, want := asJSON(captured(workspaceID)), asJSON(obj{"Fn::GetAtt": []any{amg, "Id"}}); got != want {
				t.Errorf("%s = %s, want the AMG workspace id %s", grafana.PropWorkspaceID, got, want)
			}
			if got, want := asJSON(captured(promURL)), asJSON(obj{"Fn::GetAtt": []any{amp, "PrometheusEndpoint"}}); got != want {
				t.Errorf("%s = %s, want the AMP endpoint %s", grafana.PropPrometheusURL, got, want)
			}
			var keys []string
			for k := range props(cr) {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if want := []string{cw.PropDashboardsHash, grafana.PropPrometheusURL, grafana.PropRegion, "ServiceTimeout", "ServiceToken", grafana.PropWorkspaceID}; !slices.Equal(keys, want) {
				t.Errorf("custom resource properties %v, want %v", keys, want)
			}

			// The token is the function itself, not a provider framework.
			ga, _ := captured(token).(obj)["Fn::GetAtt"].([]any)
			if len(ga) != 2 || ga[1] != "Arn" {
				t.Fatalf("ServiceToken = %s, want a function's Arn", asJSON(captured(token)))
			}
			fnID := ga[0].(string)
			fn, ok := raw["Resources"].(obj)[fnID].(obj)
			if !ok || fn["Type"] != "AWS::Lambda::Function" {
				t.Fatalf("ServiceToken names %s, not a function", fnID)
			}
			check(t, "provisioning function", func() {
				tpl.HasResource(jsii.String("AWS::Lambda::Function"), obj{"Properties": obj{
					"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
					"MemorySize": 256, "Timeout": cw.ProvisionerTimeoutSeconds,
					"Environment": assertions.Match_Absent(), "VpcConfig": assertions.Match_Absent(),
				}})
			})
			if timeout := props(fn)["Timeout"].(float64); timeout < 120 || timeout > 300 {
				t.Errorf("timeout %v s, want 2-5 minutes", timeout)
			} else if budget := grafana.DefaultRetryPolicy.Budget.Seconds(); budget > timeout/2 {
				// Retries of a Grafana hiccup must end well before the
				// function does, or CloudFormation waits for an answer.
				t.Errorf("provisioning may wait %v s retrying, over half its %v s timeout", budget, timeout)
			}
			logs := props(fn)["LoggingConfig"].(obj)["LogGroup"].(obj)["Ref"].(string)
			if got := props(raw["Resources"].(obj)[logs].(obj))["RetentionInDays"]; got != float64(env.Lambda.LogRetentionDays) {
				t.Errorf("provisioning log group retention %v, want %d", got, env.Lambda.LogRetentionDays)
			}

			// Its role: its own logs, and the AMG service-account actions on
			// the one workspace, nothing else.
			roleID := props(fn)["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string)
			if mp := props(raw["Resources"].(obj)[roleID].(obj))["ManagedPolicyArns"]; mp != nil {
				t.Errorf("provisioning role has managed policies %v", mp)
			}
			wsArn := asJSON(obj{"Fn::Join": []any{"", []any{
				"arn:", obj{"Ref": "AWS::Partition"}, ":grafana:" + env.Region + ":", obj{"Ref": "AWS::AccountId"},
				":/workspaces/", obj{"Fn::GetAtt": []any{amg, "Id"}},
			}}})
			want := map[string]string{
				"logs:CreateLogStream": asJSON(obj{"Fn::GetAtt": []any{logs, "Arn"}}),
				"logs:PutLogEvents":    asJSON(obj{"Fn::GetAtt": []any{logs, "Arn"}}),
			}
			for _, a := range []string{"DescribeWorkspace", "ListWorkspaceServiceAccounts", "CreateWorkspaceServiceAccount",
				"DeleteWorkspaceServiceAccount", "CreateWorkspaceServiceAccountToken", "DeleteWorkspaceServiceAccountToken"} {
				want["grafana:"+a] = wsArn
			}
			got := map[string]string{}
			for _, st := range policyOf(t, raw, roleID)["Statement"].([]any) {
				if st.(obj)["Effect"] != "Allow" || st.(obj)["Condition"] != nil {
					t.Errorf("unexpected statement %s", asJSON(st))
				}
				for _, a := range actions(st.(obj)) {
					if _, dup := got[a]; dup {
						t.Errorf("%s granted twice", a)
					}
					got[a] = asJSON(st.(obj)["Resource"])
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("provisioning role grants\n%v\nwant\n%v", got, want)
			}
			var policyID string
			for id, p := range resources(raw, "AWS::IAM::Policy") {
				if asJSON(props(p)["Roles"]) == asJSON([]any{obj{"Ref": roleID}}) {
					policyID = id
				}
			}
			if deps, _ := fn["DependsOn"].([]any); !slices.Contains(deps, any(policyID)) {
				t.Errorf("function DependsOn %v, want its policy %s (the resource calls it at once)", fn["DependsOn"], policyID)
			}

			check(t, "GrafanaDashboardsUrl", func() {
				tpl.HasOutput(jsii.String("GrafanaDashboardsUrl"), obj{"Value": obj{"Fn::Join": []any{"", []any{
					obj{"Fn::GetAtt": []any{crID, cw.AttrGrafanaEndpoint}}, "/dashboards/f/",
					obj{"Fn::GetAtt": []any{crID, cw.AttrGrafanaFolderUID}}, "/",
				}}}})
			})
		})
	}
}

// TestGrafanaVersionSupportsServiceAccounts: the shipped environments run a
// Grafana that the provisioning can log in to.
func TestGrafanaVersionSupportsServiceAccounts(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		check(t, name+" Grafana version", func() {
			s.templates[*s.stacks.Workspace.StackName()].HasResourceProperties(jsii.String("AWS::Grafana::Workspace"),
				obj{"GrafanaVersion": s.env.Grafana.GrafanaVersion})
		})
		if !grafanaVersionAtLeast(s.env.Grafana.GrafanaVersion, [2]int{9, 4}) {
			t.Errorf("%s: Grafana %s has no service accounts", name, s.env.Grafana.GrafanaVersion)
		}
	}
}
