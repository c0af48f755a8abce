// Command adotcheck loads cwstream's ADOT collector configurations with the
// OpenTelemetry Collector's own code, as the aws-otel-collector image does:
// the configuration comes from the AOT_CONFIG_CONTENT variable, is resolved
// by the collector's confmap providers (env as the default scheme, so
// ${VAR} and ${env:VAR} expand), decoded into each component's Config and
// validated, pipelines included.
//
//	adotcheck validate FILE...   validate each file (exit 1 on the first bad one)
//	adotcheck run                run a collector from $AOT_CONFIG_CONTENT until SIGINT/SIGTERM
//
// It is its own module because the collector's dependency versions
// (Prometheus, OTLP) clash with the main module's; see go.mod for the
// component versions and the ADOT release they match.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// configEnv is the variable the ADOT image reads its configuration from
// (aws-otel-collector pkg/config).
const configEnv = "AOT_CONFIG_CONTENT"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "adotcheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: adotcheck validate FILE... | adotcheck run")
	}
	switch args[0] {
	case "validate":
		if len(args) < 2 {
			return errors.New("validate: no file")
		}
		if err := offlineEnvironment(); err != nil {
			return err
		}
		for _, path := range args[1:] {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := validate(ctx, string(b)); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			fmt.Printf("%s: valid\n", path)
		}
		return nil
	case "run":
		if _, ok := os.LookupEnv(configEnv); !ok {
			return fmt.Errorf("run: %s is not set", configEnv)
		}
		col, err := newCollector()
		if err != nil {
			return err
		}
		return col.Run(ctx)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// validate loads config as the sidecar would and validates it: the
// collector's DryRun (what `otelcol validate` runs) decodes every
// component's configuration strictly (unknown keys are errors), calls each
// one's Validate, and checks the pipelines (every component defined, every
// used extension present, types that fit).
func validate(ctx context.Context, config string) error {
	if err := os.Setenv(configEnv, config); err != nil {
		return err
	}
	col, err := newCollector()
	if err != nil {
		return err
	}
	return col.DryRun(ctx)
}

// offlineEnvironment gives this process what ECS gives the sidecar, as
// placeholders that are never called: credentials and a task metadata
// endpoint. Validation creates every component, and two of them look for
// their environment then: the sigv4auth extension resolves the default
// credential chain (in ECS the task role, through the container credentials
// endpoint), the awsecscontainermetrics receiver wants
// ECS_CONTAINER_METADATA_URI_V4. Validating must neither use real
// credentials nor call any endpoint (EC2 metadata lookup off); it signs
// and fetches nothing.
func offlineEnvironment() error {
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		if err := os.Unsetenv(k); err != nil {
			return err
		}
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIAADOTCHECKOFFLINE",
		"AWS_SECRET_ACCESS_KEY":       "adotcheck-offline-validation-only",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		// Port 9 (discard) on loopback: nothing is ever fetched from it.
		"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:9/v4/adotcheck-validate",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// newCollector is a collector configured as the ADOT image configures its
// own when AOT_CONFIG_CONTENT is set.
func newCollector() (*otelcol.Collector, error) {
	return otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "adotcheck",
			Description: "cwstream's check of ADOT collector configurations",
			Version:     "cwstream",
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs: []string{"env:" + configEnv},
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(), envprovider.NewFactory(), yamlprovider.NewFactory(),
				},
				DefaultScheme: "env",
			},
		},
	})
}
