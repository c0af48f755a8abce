package main

import (
	"time"

	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/rules"
)

// minimal is the smallest valid environment.
func minimal() map[string]any {
	return map[string]any{"region": "eu-west-1", "configFile": "config/dev.yaml"}
}

func with(base map[string]any, key string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range base {
		out[k] = x
	}
	if i := strings.IndexByte(key, '.'); i >= 0 {
		out[key[:i]] = map[string]any{key[i+1:]: v}
	} else {
		out[key] = v
	}
	return out
}

func TestLoadEnvConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		value   map[string]any
		wantKey string // ConfigError key, or "" for UnknownEnvError
		wantMsg string
	}{
		{"unknown environment lists the known ones", "staging", minimal(), "", `unknown environment "staging"; known environments: dev, prod`},
		{"no environment selected", "", minimal(), "", "pass -c env=<name>"},
		{"unknown key", "dev", with(minimal(), "lambda.memory", 512), "lambda.memory", "unknown key"},
		{"wrong type", "dev", with(minimal(), "lambda.memoryMiB", "big"), "lambda.memoryMiB", "want int"},
		{"fraction for an int", "dev", with(minimal(), "lambda.timeoutSeconds", 1.5), "lambda.timeoutSeconds", "want int"},
		{"timeout past Firehose's limit", "dev", with(minimal(), "lambda.timeoutSeconds", 301), "lambda.timeoutSeconds", "Firehose waits at most 300 s"},
		{"processor buffer too big for 6 MB", "dev", with(minimal(), "firehose.processorBufferSizeMiB", 4), "firehose.processorBufferSizeMiB", "6 MB"},
		{"missing region", "dev", map[string]any{"configFile": "config/dev.yaml"}, "region", "CDK_DEFAULT_REGION"},
		{"bad region", "dev", with(minimal(), "region", "Europe"), "region", "not a region name"},
		{"bad account", "dev", with(minimal(), "account", "12345"), "account", "12-digit"},
		{"duplicate ingest region", "dev", with(minimal(), "ingestRegions", []any{"eu-west-1", "eu-west-1"}), "ingestRegions[1]", "listed twice"},
		{"missing config file", "dev", map[string]any{"region": "eu-west-1"}, "configFile", "required"},
		{"out-of-order window past AMP's limit", "dev", with(minimal(), "prometheus.outOfOrderWindowSeconds", 3600), "prometheus.outOfOrderWindowSeconds", "0..600"},
		{"rule query offset at the lookback", "dev", with(minimal(), "prometheus.ruleQueryOffsetSeconds", 300), "prometheus.ruleQueryOffsetSeconds", "0..299"},
		{"negative rule query offset", "dev", with(minimal(), "prometheus.ruleQueryOffsetSeconds", -1), "prometheus.ruleQueryOffsetSeconds", "0..299"},
		{"log retention CloudWatch lacks", "dev", with(minimal(), "lambda.logRetentionDays", 10), "lambda.logRetentionDays", "not a CloudWatch Logs retention"},
		{"bad authentication", "dev", with(minimal(), "grafana.authentication", "LDAP"), "grafana.authentication", "AWS_SSO or SAML"},
		{"bad statistic", "dev", with(minimal(), "stream.additionalStatistics", []any{map[string]any{"statistics": []any{"p999x"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}), "stream.additionalStatistics[0].statistics[0]", "not a percentile"},
		// OpenTelemetry output formats stream percentiles only (CloudWatch user
		// guide, "Statistics that can be streamed").
		{"trimmed mean", "dev", with(minimal(), "stream.additionalStatistics", []any{map[string]any{"statistics": []any{"tm90"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}), "stream.additionalStatistics[0].statistics[0]", "only percentiles"},
		{"percentile rank", "dev", with(minimal(), "stream.additionalStatistics", []any{map[string]any{"statistics": []any{"p99", "PR(10:90)"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}), "stream.additionalStatistics[0].statistics[1]", "only percentiles"},
		{"percentile past 100", "dev", with(minimal(), "stream.additionalStatistics", []any{map[string]any{"statistics": []any{"p100.5"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}), "stream.additionalStatistics[0].statistics[0]", "not a percentile"},
		// Firehose's Lambda processor takes 0.2–3 MB buffers.
		{"processor buffer below Firehose's minimum", "dev", with(minimal(), "firehose.processorBufferSizeMiB", 0.1), "firehose.processorBufferSizeMiB", "0.2..3"},
		{"network subnets without a VPC", "dev", with(minimal(), "network", map[string]any{"subnetIds": []any{"subnet-0123456789abcdef0"}}), "network.subnetIds", "without network.vpcId"},
		{"network VPC without subnets", "dev", with(minimal(), "network", map[string]any{"vpcId": "vpc-0123456789abcdef0"}), "network.subnetIds", "required"},
		{"network key misspelled", "dev", with(minimal(), "network", map[string]any{"vpcID": "vpc-0123456789abcdef0"}), "network.vpcID", "unknown key"},
		{"network bad subnet", "dev", with(minimal(), "network", map[string]any{"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"sn-1"}}), "network.subnetIds[0]", "not a subnet id"},
		{"network CIDR too small", "dev", with(minimal(), "network", map[string]any{"vpcCidr": "10.0.0.0/24"}), "network.vpcCidr", "/16 to /22"},
		{"network CIDR with an existing VPC", "dev", with(minimal(), "network", map[string]any{"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"subnet-0123456789abcdef0"}, "vpcCidr": "10.0.0.0/16"}), "network.vpcCidr", "only used"},
		{"unknown output format", "dev", with(minimal(), "stream.outputFormat", "opentelemetry2.0"), "stream.outputFormat", "want one of opentelemetry0.7, opentelemetry1.0, json"},
		{"trimmed mean in an OpenTelemetry stream", "dev", with(minimal(), "stream", map[string]any{"outputFormat": "opentelemetry1.0", "additionalStatistics": []any{map[string]any{"statistics": []any{"p99", "tm90"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}}), "stream.additionalStatistics[0].statistics[1]", "only percentiles"},
		{"trimmed mean in the default format", "dev", with(minimal(), "stream.additionalStatistics", []any{map[string]any{"statistics": []any{"TM(10%:90%)"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}), "stream.additionalStatistics[0].statistics[0]", "need stream.outputFormat json"},
		{"no namespaces", "dev", with(minimal(), "stream.includeFilters", []any{}), "stream.includeFilters", "at least one"},
		{"bad email", "dev", with(minimal(), "alerts.email", "not-an-address"), "alerts.email", "not-an-address"},
		{"bad log level", "dev", with(minimal(), "lambda.logLevel", "loud"), "lambda.logLevel", "debug, info, warn, error"},
		{"Grafana without service accounts", "dev", with(minimal(), "grafana.grafanaVersion", "8.4"), "grafana.grafanaVersion", "9.4 or later"},
		{"Grafana version not MAJOR.MINOR", "dev", with(minimal(), "grafana.grafanaVersion", "latest"), "grafana.grafanaVersion", "9.4 or later"},
		{"5xx share as a percentage", "dev", with(minimal(), "alerts.alb5xxRatio", 5), "alerts.alb5xxRatio", "0 < x < 1"},
		{"no max connections", "dev", with(minimal(), "alerts.rdsMaxConnections", 0), "alerts.rdsMaxConnections", "must be > 0"},
		{"negative free memory", "dev", with(minimal(), "alerts.rdsFreeMemoryMiB", -1), "alerts.rdsFreeMemoryMiB", "must be > 0"},
		{"unknown ecsDemo key", "dev", with(minimal(), "ecsDemo.tasks", 2), "ecsDemo.tasks", "unknown key"},
		{"too many demo tasks", "dev", with(minimal(), "ecsDemo.desiredCount", 11), "ecsDemo.desiredCount", "0..10"},
		{"demo log retention CloudWatch lacks", "dev", with(minimal(), "ecsDemo.logRetentionDays", 2), "ecsDemo.logRetentionDays", "not a CloudWatch Logs retention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			envs := map[string]any{"dev": tc.value, "prod": minimal()}
			_, err := LoadEnvConfig(envs, tc.env, "", "")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
			var ce *ConfigError
			var ue *UnknownEnvError
			switch {
			case tc.wantKey == "" && !errors.As(err, &ue):
				t.Errorf("want *UnknownEnvError, got %T", err)
			case tc.wantKey != "" && !errors.As(err, &ce):
				t.Errorf("want *ConfigError, got %T: %v", err, err)
			case tc.wantKey != "" && ce.Key != tc.wantKey:
				t.Errorf("key %q, want %q (%v)", ce.Key, tc.wantKey, err)
			}
		})
	}
}

func TestLoadEnvConfigDefaults(t *testing.T) {
	envs := map[string]any{"dev": map[string]any{"configFile": "config/dev.yaml"}}
	cfg, err := LoadEnvConfig(envs, "dev", "123456789012", "us-west-2")
	if err != nil {
		t.Fatal(err)
	}
	want := defaultEnvConfig()
	switch {
	case cfg.Account != "123456789012" || cfg.Region != "us-west-2":
		t.Errorf("account/region %q/%q, want the CDK_DEFAULT_* values", cfg.Account, cfg.Region)
	case len(cfg.IngestRegions) != 1 || cfg.IngestRegions[0] != "us-west-2":
		t.Errorf("ingestRegions %v, want [us-west-2]", cfg.IngestRegions)
	case cfg.Prometheus.Alias != "cwstream-dev":
		t.Errorf("alias %q", cfg.Prometheus.Alias)
	case cfg.Lambda != want.Lambda || cfg.Firehose != want.Firehose || cfg.Grafana.Authentication != "AWS_SSO":
		t.Errorf("defaults not applied: %+v %+v", cfg.Lambda, cfg.Firehose)
	case len(cfg.Stream.IncludeFilters) != 4 || cfg.Stream.AdditionalStatistics[0].Statistics[2] != "p99" || cfg.Stream.OutputFormat != "opentelemetry0.7":
		t.Errorf("stream defaults: %+v", cfg.Stream)
	}
	// The alert thresholds default to the rules package's own.
	if o, d := cfg.RuleOptions("dev"), rules.DefaultOptions(); o.RDSMaxConnections != d.RDSMaxConnections ||
		o.RDSFreeMemoryBytes != d.RDSFreeMemoryBytes || o.RDSFreeStorageBytes != d.RDSFreeStorageBytes ||
		o.ALBP99Seconds != d.ALBP99Seconds || o.ALB5xxRatio != d.ALB5xxRatio || o.RunbookBase != d.RunbookBase || o.Env != "dev" ||
		o.QueryOffset != d.QueryOffset {
		t.Errorf("rule options %+v, want the defaults %+v with env dev", o, d)
	}
	// A value given replaces the default; the rest stay.
	envs["dev"].(map[string]any)["lambda"] = map[string]any{"memoryMiB": 2048}
	if cfg, err = LoadEnvConfig(envs, "dev", "", "us-west-2"); err != nil {
		t.Fatal(err)
	}
	if cfg.Lambda.MemoryMiB != 2048 || cfg.Lambda.TimeoutSeconds != want.Lambda.TimeoutSeconds {
		t.Errorf("lambda %+v", cfg.Lambda)
	}
	if cfg.Lambda.TimeoutSeconds >= firehoseMaxLambdaSeconds {
		t.Errorf("default timeout %d leaves no room under Firehose's %d s", cfg.Lambda.TimeoutSeconds, firehoseMaxLambdaSeconds)
	}
}

// TestRuleOptions: cdk.json's friendlier units become the rules' bytes.
func TestRuleOptions(t *testing.T) {
	envs := map[string]any{"dev": with(with(minimal(), "alerts", map[string]any{
		"rdsMaxConnections": 5000, "rdsFreeMemoryMiB": 512, "rdsFreeStorageGiB": 50, "albP99Seconds": 0.5, "alb5xxRatio": 0.01,
	}), "prometheus.ruleQueryOffsetSeconds", 150)}
	cfg, err := LoadEnvConfig(envs, "dev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.RuleOptions("staging")
	want := rules.DefaultOptions()
	want.RDSMaxConnections, want.RDSFreeMemoryBytes, want.RDSFreeStorageBytes = 5000, 512*1024*1024, 50*1024*1024*1024
	want.ALBP99Seconds, want.ALB5xxRatio, want.Env = 0.5, 0.01, "staging"
	want.QueryOffset = 150 * time.Second
	if o != want {
		t.Errorf("rule options %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
}

// TestRuleFile: a rulesFile is shipped as it is; without one the rules
// package's file is built for the environment.
func TestRuleFile(t *testing.T) {
	root := t.TempDir()
	custom := "groups:\n  - name: mine\n    rules: []\n"
	if err := os.WriteFile(filepath.Join(root, "mine.yaml"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	envs := map[string]any{"dev": minimal()}
	env, err := LoadEnvConfig(envs, "dev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ruleFile(env, root, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "CWStreamNoData") || !strings.Contains(got, "env: dev") {
		t.Errorf("built rule file lacks the pipeline alert or its env label:\n%s", got)
	}
	env.RulesFile = "mine.yaml"
	if got, err = ruleFile(env, root, "dev"); err != nil || got != custom {
		t.Errorf("rulesFile: got %q, %v; want the file as it is", got, err)
	}
}

// TestShippedEnvironments loads dev and prod from cdk.json exactly as the app does.
func TestShippedEnvironments(t *testing.T) {
	ctx := cdkContext(t)
	names, err := EnvNames(ctx[ContextKeyEnvironments])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "dev,prod" {
		t.Errorf("environments %v, want dev and prod", names)
	}
	for _, n := range names {
		if _, err := LoadEnvConfig(ctx[ContextKeyEnvironments], n, "", ""); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestBuildAppRefuses(t *testing.T) {
	ctx := cdkContext(t)
	env, err := LoadEnvConfig(ctx[ContextKeyEnvironments], "dev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(root, "bootstrap")
	if err := os.WriteFile(bootstrap, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	newApp := func() awscdk.App { return awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())}) }

	paths := Paths{Root: root, Bootstrap: bootstrap, GrafanaBootstrap: bootstrap, DemoApp: bootstrap}

	for _, tc := range []struct {
		name    string
		paths   Paths
		missing string
	}{
		{"missing ingest bootstrap names make lambda", Paths{Root: root, Bootstrap: filepath.Join(root, "nope"), GrafanaBootstrap: bootstrap}, filepath.Join(root, "nope")},
		{"missing grafana bootstrap names make lambda", Paths{Root: root, Bootstrap: bootstrap, GrafanaBootstrap: filepath.Join(root, "grafana", "bootstrap")}, filepath.Join(root, "grafana", "bootstrap")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildApp(newApp(), env, tc.paths)
			var mb *cw.MissingBootstrapError
			if !errors.As(err, &mb) || mb.Path != tc.missing || !strings.Contains(err.Error(), "make lambda") {
				t.Errorf("got %v, want the missing %s and `make lambda`", err, tc.missing)
			}
		})
	}
	t.Run("invalid cwstream config", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, env.ConfigFile), []byte("external_labels: {env: dev}\nstatistic: [sum]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := BuildApp(newApp(), env, paths)
		if err == nil || !strings.Contains(err.Error(), "configFile") || !strings.Contains(err.Error(), "statistic") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("missing demo application names make lambda", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, env.ConfigFile), []byte("external_labels: {env: dev}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := paths
		p.DemoApp = filepath.Join(root, "demoapp", "demoapp")
		_, err := BuildApp(newApp(), env, p)
		var mb *cw.MissingBootstrapError
		if !env.EcsDemo.Enabled || !errors.As(err, &mb) || mb.Path != p.DemoApp || !strings.Contains(err.Error(), "make lambda") {
			t.Errorf("got %v, want the missing %s and `make lambda`", err, p.DemoApp)
		}
	})
	t.Run("missing rules file", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, env.ConfigFile), []byte("external_labels: {env: dev}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e := *env
		e.RulesFile = "rules/none.yaml"
		_, err := BuildApp(newApp(), &e, paths)
		if err == nil || !strings.Contains(err.Error(), "rulesFile") {
			t.Errorf("got %v", err)
		}
	})
}

func TestUnknownKeyInList(t *testing.T) {
	envs := map[string]any{"dev": with(minimal(), "stream.includeFilters", []any{map[string]any{"namespace": "AWS/RDS", "metrics": []any{"x"}}})}
	_, err := LoadEnvConfig(envs, "dev", "", "")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "stream.includeFilters[0].metrics" {
		t.Errorf("got %v", err)
	}
}

// TestLoadEnvConfigAccepts: the values CloudWatch and Firehose accept that
// an earlier validation refused or got wrong.
func TestLoadEnvConfigAccepts(t *testing.T) {
	stats := []any{map[string]any{"statistics": []any{"p0", "p99.9", "p100", "p50.12345"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}
	env := with(minimal(), "stream.additionalStatistics", stats)
	env["firehose"] = map[string]any{"processorBufferSizeMiB": 0.5}
	env["network"] = map[string]any{}
	cfg, err := LoadEnvConfig(map[string]any{"dev": env}, "dev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Firehose.ProcessorBufferSizeMiB != 0.5 {
		t.Errorf("processorBufferSizeMiB %v, want 0.5", cfg.Firehose.ProcessorBufferSizeMiB)
	}
	if cfg.Network == nil || cfg.Network.VpcCidr == "" || cfg.Network.VpcID != "" {
		t.Errorf("network {} = %+v, want a stack-created VPC with a default CIDR", cfg.Network)
	}
}

// Each output format accepts the statistics PutMetricStream accepts for it:
// percentiles for the OpenTelemetry formats, every statistic for json.
func TestOutputFormatStatistics(t *testing.T) {
	stats := func(format string, st ...any) map[string]any {
		return with(minimal(), "stream", map[string]any{"outputFormat": format, "additionalStatistics": []any{
			map[string]any{"statistics": st, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}})
	}
	for _, v := range []map[string]any{
		stats("opentelemetry0.7", "p50", "p99.9"),
		stats("opentelemetry1.0", "p50", "p99.9"),
		stats("json", "p99", "tm90", "wm90", "TM(25%:75%)", "PR(:300)", "IQM"),
	} {
		cfg, err := LoadEnvConfig(map[string]any{"dev": v}, "dev", "", "")
		if err != nil {
			t.Errorf("%v: %v", v["stream"], err)
			continue
		}
		if cfg.Stream.OutputFormat != v["stream"].(map[string]any)["outputFormat"] {
			t.Errorf("outputFormat %q", cfg.Stream.OutputFormat)
		}
	}
}
