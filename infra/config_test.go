package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"
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
		{"log retention CloudWatch lacks", "dev", with(minimal(), "lambda.logRetentionDays", 10), "lambda.logRetentionDays", "not a CloudWatch Logs retention"},
		{"bad authentication", "dev", with(minimal(), "grafana.authentication", "LDAP"), "grafana.authentication", "AWS_SSO or SAML"},
		{"bad statistic", "dev", with(minimal(), "stream.additionalStatistics", []any{map[string]any{"statistics": []any{"p999x"}, "metrics": []any{map[string]any{"namespace": "AWS/RDS", "metricName": "ReadLatency"}}}}), "stream.additionalStatistics[0].statistics[0]", "not a metric-stream statistic"},
		{"no namespaces", "dev", with(minimal(), "stream.includeFilters", []any{}), "stream.includeFilters", "at least one"},
		{"bad email", "dev", with(minimal(), "alerts.email", "not-an-address"), "alerts.email", "not-an-address"},
		{"bad log level", "dev", with(minimal(), "lambda.logLevel", "loud"), "lambda.logLevel", "debug, info, warn, error"},
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
	case len(cfg.Stream.IncludeFilters) != 4 || cfg.Stream.AdditionalStatistics[0].Statistics[2] != "p99":
		t.Errorf("stream defaults: %+v", cfg.Stream)
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

	t.Run("missing bootstrap names make lambda", func(t *testing.T) {
		_, err := BuildApp(newApp(), env, Paths{Root: root, Bootstrap: filepath.Join(root, "nope")})
		var mb *cw.MissingBootstrapError
		if !errors.As(err, &mb) || !strings.Contains(err.Error(), "make lambda") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("invalid cwstream config", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, env.ConfigFile), []byte("external_labels: {env: dev}\nstatistic: [sum]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := BuildApp(newApp(), env, Paths{Root: root, Bootstrap: bootstrap})
		if err == nil || !strings.Contains(err.Error(), "configFile") || !strings.Contains(err.Error(), "statistic") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("missing rules file", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, env.ConfigFile), []byte("external_labels: {env: dev}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e := *env
		e.RulesFile = "rules/none.yaml"
		_, err := BuildApp(newApp(), &e, Paths{Root: root, Bootstrap: bootstrap})
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
