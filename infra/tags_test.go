package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/prometheus/common/model"

	"github.com/cwstream/cwstream/internal/tags"
)

// With tags.role_arn the function may assume that role, by name, in any
// account, and nothing else of STS; without it, no sts:AssumeRole at all
// (the shipped configurations, checked here too). IAM's ARN format puts
// the account between "iam::" and ":role/", where a policy's Resource may
// hold a wildcard (IAM user guide, "IAM JSON policy elements: Resource":
// "You can use wildcard characters as part of the resource ARN").
func TestTagRoles(t *testing.T) {
	const role = "arn:aws:iam::{account}:role/ops/cwstream-tags"
	v := synthVariant(t, "dev", "external_labels: {env: dev}\ntags: {enabled: true, role_arn: '"+role+"'}\n")
	raw := v.raw[*v.stacks.Ingest[0].StackName()]
	id, policy := only(t, raw, "AWS::IAM::Policy", "Ingest")
	sts := statementsWith(props(policy)["PolicyDocument"].(obj), "sts:AssumeRole")
	const want = "arn:aws:iam::*:role/ops/cwstream-tags"
	if len(sts) != 1 || len(actions(sts[0])) != 1 || sts[0]["Resource"] != want || sts[0]["Effect"] != "Allow" {
		t.Errorf("%s: want one statement allowing sts:AssumeRole on %s alone, got %s", id, want, asJSON(sts))
	}
	found := false
	for _, sup := range asSlice(asMap(asMap(policy["Metadata"])["cdk_nag"])["rules_to_suppress"]) {
		sup := asMap(sup)
		if sup["id"] == "AwsSolutions-IAM5" && strings.Contains(asJSON(sup["applies_to"]), `"Resource::`+want+`"`) && strings.Contains(asJSON(sup["reason"]), "tags.role_arn") {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: no AwsSolutions-IAM5 suppression for Resource::%s saying why: %s", id, want, asJSON(policy["Metadata"]))
	}

	for _, name := range shipped {
		s := synth(t, name)
		for stack, raw := range s.raw {
			for id, p := range resources(raw, "AWS::IAM::Policy") {
				if st := statementsWith(props(p)["PolicyDocument"].(obj), "sts:AssumeRole"); len(st) != 0 {
					t.Errorf("%s/%s: sts:AssumeRole without tags.role_arn: %s", stack, id, asJSON(st))
				}
			}
		}
	}
}

// synthVariant builds cdk.json's environment envName with cwstreamYAML as
// its cwstream configuration, on a temporary root with stand-in binaries,
// and returns the workspace and ingest templates.
func synthVariant(t *testing.T, envName, cwstreamYAML string) *synthesized {
	t.Helper()
	ctx := cdkContext(t)
	env, err := LoadEnvConfig(ctx[ContextKeyEnvironments], envName, "", "")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, env.ConfigFile)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, env.ConfigFile), []byte(cwstreamYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(root, "bootstrap")
	if err := os.WriteFile(bootstrap, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	stacks, err := BuildApp(app, env, Paths{Root: root, Bootstrap: bootstrap, GrafanaBootstrap: bootstrap, DemoApp: bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{env: env, stacks: stacks, raw: map[string]map[string]any{}}
	s.raw[*stacks.Workspace.StackName()] = templateJSON(stacks.Workspace.Stack)
	for _, in := range stacks.Ingest {
		s.raw[*in.StackName()] = templateJSON(in.Stack)
	}
	return s
}

// TestTagEndpoints: in prod's private network the tag lookups get the
// endpoints they call: with tags.role_arn also STS's (GetCallerIdentity,
// AssumeRole), without tags.enabled neither the Tagging API's nor STS's.
// The ingest stack outside the network's region has no endpoints; its
// function is not in a VPC and reaches the public ones. cdk-nag stays
// clean on both.
func TestTagEndpoints(t *testing.T) {
	const role = "arn:aws:iam::{account}:role/ops/cwstream-tags"
	for _, c := range []struct {
		name, yaml string
		tags       bool
		role       string
	}{
		{"role_arn", "external_labels: {env: prod}\ntags: {enabled: true, role_arn: '" + role + "'}\n", true, role},
		{"tags off", "external_labels: {env: prod}\n", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := synthVariant(t, "prod", c.yaml)
			amp, _ := only(t, s.raw[*s.stacks.Workspace.StackName()], "AWS::APS::Workspace", "")
			private := 0
			for _, in := range s.stacks.Ingest {
				raw := s.raw[*in.StackName()]
				_, fn := only(t, raw, "AWS::Lambda::Function", "Ingest")
				vpcCfg, inVPC := props(fn)["VpcConfig"].(obj)
				if !inVPC {
					if n := len(resources(raw, "AWS::EC2::VPCEndpoint")); n != 0 {
						t.Errorf("%s: %d VPC endpoints without a network", *in.StackName(), n)
					}
					continue
				}
				private++
				checkPrivateNetwork(t, s, *in.StackName(), vpcCfg, obj{"Fn::GetAtt": []any{amp, "Arn"}}, c.tags, c.role)
			}
			if private != 1 {
				t.Errorf("%d ingest functions in the private network, want prod's %s one", private, s.env.Region)
			}
			checkNag(t, s)
		})
	}
}

// The template each source account deploys for tags.role_arn: a role the
// ingest functions' roles may assume, allowed tag:GetResources and nothing
// else, named so that the default tags.role_arn finds it.
func TestSourceAccountTagsRole(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "infra", "source-account", "tags-role.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	_, role := only(t, tpl, "AWS::IAM::Role", "")
	trust := asSlice(asMap(props(role)["AssumeRolePolicyDocument"])["Statement"])
	if len(trust) != 1 || asJSON(asMap(trust[0])["Principal"]) != `{"AWS":{"Ref":"FunctionRoleArns"}}` || asMap(trust[0])["Action"] != "sts:AssumeRole" {
		t.Errorf("trust policy: %s, want the ingest function roles alone, sts:AssumeRole", asJSON(trust))
	}
	var granted []string
	for _, p := range resources(tpl, "AWS::IAM::ManagedPolicy") {
		for _, st := range asSlice(asMap(props(p)["PolicyDocument"])["Statement"]) {
			granted = append(granted, actions(asMap(st))...)
		}
	}
	if len(granted) != 1 || granted[0] != "tag:GetResources" || props(role)["Policies"] != nil {
		t.Errorf("the role may %v, want tag:GetResources alone", granted)
	}
	params := asMap(tpl["Parameters"])
	name, path := asMap(params["RoleName"])["Default"], asMap(params["RolePath"])["Default"]
	deployed := fmt.Sprintf("arn:aws:iam::210987654321:role%s%s", path, name)
	example := "arn:aws:iam::{account}:role/cwstream-tags" // README's tags.role_arn
	if tags.RoleARN(example, "210987654321") != deployed {
		t.Errorf("the template's defaults make %s; README's tags.role_arn %s", deployed, example)
	}
	if c := (tags.Config{Enabled: true, ResourceTypes: tags.ResourceTypes(), Refresh: model.Duration(tags.DefaultRefresh), RoleARN: example}); c.Validate() != nil {
		t.Errorf("README's tags.role_arn: %v", c.Validate())
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil || !strings.Contains(string(readme), "role_arn: '"+example+"'") {
		t.Errorf("README.md no longer shows tags.role_arn %s (%v)", example, err)
	}
}
