package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/dashboards"
	"github.com/cwstream/cwstream/internal/rules"
)

// BootstrapPath and GrafanaBootstrapPath are where `make lambda` leaves the
// ingest and the Grafana provisioning binaries, relative to the repository
// root.
const (
	BootstrapPath        = "build/lambda/ingest/bootstrap"
	GrafanaBootstrapPath = "build/lambda/grafana/bootstrap"
)

// Paths locates the files the app reads.
type Paths struct {
	// Root is the repository root; the environment's configFile and rulesFile
	// are relative to it.
	Root string
	// Bootstrap is the built ingest binary.
	Bootstrap string
	// GrafanaBootstrap is the built dashboard provisioning binary.
	GrafanaBootstrap string
	// DemoApp is the built ECS demo application (ecsDemo only).
	DemoApp string
}

// DefaultPaths are the paths for the repository at root.
func DefaultPaths(root string) Paths {
	return Paths{
		Root:             root,
		Bootstrap:        filepath.Join(root, BootstrapPath),
		GrafanaBootstrap: filepath.Join(root, GrafanaBootstrapPath),
		DemoApp:          filepath.Join(root, DemoAppPath),
	}
}

// Stacks are what BuildApp added to the app.
type Stacks struct {
	Workspace *WorkspaceStack
	Ingest    []*IngestStack
	// EcsDemo is the ECS demo stack, when the environment enables it.
	EcsDemo *DemoStack
}

// BuildApp adds env's workspace stack and one ingest stack per ingest region
// to app (and the ECS demo stack when the environment enables it). It fails
// before creating anything when a function binary or the demo application
// is missing or the environment's cwstream config file is invalid.
func BuildApp(app awscdk.App, env *EnvConfig, paths Paths) (*Stacks, error) {
	return buildApp(app, env, paths, true)
}

// buildApp is BuildApp; nag false leaves the AWS Solutions checks out, for
// the update tests, which synthesize every setting toggled and read only
// the templates (the checks run on the shipped environments' syntheses and
// on every `cdk synth`).
func buildApp(app awscdk.App, env *EnvConfig, paths Paths, nag bool) (*Stacks, error) {
	binaries := []string{paths.Bootstrap, paths.GrafanaBootstrap}
	if env.EcsDemo.Enabled && env.EcsDemo.Image == "" {
		binaries = append(binaries, paths.DemoApp)
	}
	for _, bootstrap := range binaries {
		if _, err := os.Stat(bootstrap); errors.Is(err, fs.ErrNotExist) {
			return nil, &cw.MissingBootstrapError{Path: bootstrap}
		}
	}
	configFile := filepath.Join(paths.Root, env.ConfigFile)
	// The same loader the function runs at cold start: a file it would
	// reject fails the synth instead of every invocation.
	cfg, err := config.Load(configFile)
	if err != nil {
		return nil, fmt.Errorf("environment %q: configFile: %w", env.Name, err)
	}
	ruleText, err := ruleFile(env, paths.Root, cfg.ExternalLabels["env"])
	if err != nil {
		return nil, err
	}
	dashboardsHash, err := DashboardsHash()
	if err != nil {
		return nil, err
	}

	// AWS Solutions checks run on every synth, so `cdk synth` and `cdk deploy`
	// fail on an unsuppressed finding just as the tests do.
	if nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}

	tags := awscdk.Tags_Of(app)
	tags.Add(jsii.String("project"), jsii.String("cwstream"), nil)
	tags.Add(jsii.String("environment"), jsii.String(env.Name), nil)
	for k, v := range env.Tags {
		tags.Add(jsii.String(k), jsii.String(v), nil)
	}

	wsName := WorkspaceStackName(env.Name, env.Region)
	// Staged inside the cloud assembly directory: it is the app's scratch
	// space, and CDK copies the directory into its own asset.<hash>.
	grafanaAsset := filepath.Join(*app.Outdir(), "cwstream-src", wsName+"-grafana")
	if err := cw.StageBootstrap(grafanaAsset, paths.GrafanaBootstrap); err != nil {
		return nil, fmt.Errorf("stack %s: %w", wsName, err)
	}
	ws, err := NewWorkspaceStack(app, wsName, &WorkspaceStackProps{
		StackProps: stackProps(env, env.Region, wsName,
			fmt.Sprintf("cwstream %s: AMP and AMG workspaces, rules, alerting and dashboards", env.Name)),
		Env:             env,
		RulesYAML:       ruleText,
		GrafanaAssetDir: grafanaAsset,
		DashboardsHash:  dashboardsHash,
	})
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", wsName, err)
	}
	ws.Node().AddValidation(&frameworkHandlerGuards{ws.Stack})
	out := &Stacks{Workspace: ws}
	for _, region := range env.IngestRegions {
		name := IngestStackName(env.Name, region)
		assetDir := filepath.Join(*app.Outdir(), "cwstream-src", name)
		if err := cw.StageFunctionAsset(assetDir, paths.Bootstrap, configFile); err != nil {
			return nil, fmt.Errorf("stack %s: %w", name, err)
		}
		in := NewIngestStack(app, name, &IngestStackProps{
			StackProps: stackProps(env, region, name,
				fmt.Sprintf("cwstream %s %s: metric stream, Firehose, ingest Lambda, alarms", env.Name, region)),
			Env:        env,
			Workspace:  out.Workspace,
			AssetDir:   assetDir,
			TagLookups: cfg.Tags.Enabled,
			TagRoleARN: cfg.Tags.RoleARN,
		})
		in.Node().AddValidation(&frameworkHandlerGuards{in.Stack})
		out.Ingest = append(out.Ingest, in)
	}
	if env.EcsDemo.Enabled {
		if out.EcsDemo, err = buildDemo(app, env, paths, out.Workspace, cfg.ExternalLabels); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// buildDemo adds the ECS demo stack in the workspace's region.
func buildDemo(app awscdk.App, env *EnvConfig, paths Paths, ws *WorkspaceStack, labels map[string]string) (*DemoStack, error) {
	name := DemoStackName(env.Name, env.Region)
	imageDir := filepath.Join(*app.Outdir(), "cwstream-src", name+"-image")
	if env.EcsDemo.Image == "" {
		if err := StageDemoImage(imageDir, paths.DemoApp); err != nil {
			return nil, fmt.Errorf("stack %s: %w", name, err)
		}
	}
	s, err := NewDemoStack(app, name, &DemoStackProps{
		StackProps: stackProps(env, env.Region, name,
			fmt.Sprintf("cwstream %s: ECS demo service with the ADOT collector sidecar", env.Name)),
		Env:            env,
		Workspace:      ws,
		ImageDir:       imageDir,
		ExternalLabels: labels,
	})
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", name, err)
	}
	return s, nil
}

// ruleFile returns the environment's Prometheus rule file: its rulesFile
// verbatim when set, else internal/rules built with the environment's
// thresholds and envLabel (the series' env label) on the alerts that carry
// no series labels.
func ruleFile(env *EnvConfig, root, envLabel string) (string, error) {
	if env.RulesFile != "" {
		b, err := os.ReadFile(filepath.Join(root, env.RulesFile))
		if err != nil {
			return "", fmt.Errorf("environment %q: rulesFile: %w", env.Name, err)
		}
		return string(b), nil
	}
	f, err := rules.Build(env.RuleOptions(envLabel))
	if err != nil {
		return "", fmt.Errorf("environment %q: alerts: %w", env.Name, err)
	}
	b, err := f.Marshal()
	if err != nil {
		return "", fmt.Errorf("environment %q: %w", env.Name, err)
	}
	return string(b), nil
}

// DashboardsHash is the hex SHA-256 of the dashboards as the provisioning
// function uploads them (internal/dashboards.JSON, in order). Both are built
// from the same tree, so a dashboard change changes the custom resource's
// properties and CloudFormation re-provisions.
func DashboardsHash() (string, error) {
	models, err := dashboards.JSON()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range models {
		h.Write(m.JSON)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func stackProps(env *EnvConfig, region, name, description string) awscdk.StackProps {
	p := awscdk.StackProps{
		StackName:   jsii.String(name),
		Description: jsii.String(description),
		Env:         &awscdk.Environment{Region: jsii.String(region)},
		// Ingest stacks read the workspace's endpoint and ARN from another
		// region; CDK carries them through SSM parameters.
		CrossRegionReferences: jsii.Bool(true),
	}
	if env.Account != "" {
		p.Env.Account = jsii.String(env.Account)
	}
	return p
}

// FindRoot walks up from dir to the directory holding cdk.json.
func FindRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cdk.json")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no cdk.json in %s or any parent", dir)
		}
	}
}

// frameworkHandlerGuards records, on the Lambda functions the CDK framework
// adds to a stack (the cross-region reference reader and writer), why
// Control Tower's "Lambda inside a VPC" control does not apply. CDK creates
// them while preparing the app, after aspects have run, so this is a
// validation: those run after preparation and before the template is
// written.
type frameworkHandlerGuards struct{ stack awscdk.Stack }

const frameworkHandlerReason = "A handler the AWS CDK framework adds for cross-region references: it reads or writes SSM parameters in another region during deployments only, through SSM's public endpoints, and carries no metric data."

func (g *frameworkHandlerGuards) Validate() *[]*string {
	for _, c := range *g.stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnResource_IsCfnResource(c) {
			continue
		}
		r, ok := c.(awscdk.CfnResource)
		if !ok || *r.CfnResourceType() != "AWS::Lambda::Function" || !strings.Contains(*c.Node().Path(), "CustomResourceProvider") {
			continue
		}
		if r.GetMetadata(jsii.String(cw.GuardMetadataKey)) == nil {
			cw.SuppressGuard(r, cw.GuardLambdaInsideVPC, frameworkHandlerReason)
		}
	}
	return &[]*string{}
}
