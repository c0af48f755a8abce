// Command ingest is the Firehose data-transformation Lambda: it reads its
// settings and configuration once at cold start, then hands every event to
// internal/firehose. Build it with `make lambda` (provided.al2023, arm64).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/lambdaenv"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/telemetry"
)

func main() {
	h, log, err := setup(context.Background())
	if err != nil {
		// Failing the cold start is right: Firehose retries, then keeps
		// the records, and the message lands in the function's log.
		fmt.Fprintln(os.Stderr, "cwstream ingest: configuration:", err)
		os.Exit(1)
	}
	log.Info("ready")
	lambda.StartWithOptions(h)
}

func setup(ctx context.Context) (*firehose.Handler, *slog.Logger, error) {
	s, err := lambdaenv.FromEnv(os.Getenv, os.Stat)
	if err != nil {
		return nil, nil, err
	}
	log, err := telemetry.NewLogger(os.Stderr, s.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	cfg := config.Default()
	switch {
	case s.ConfigYAML != "":
		if cfg, err = config.Parse([]byte(s.ConfigYAML)); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", lambdaenv.EnvConfigYAML, err)
		}
	case s.ConfigPath != "":
		if cfg, err = config.Load(s.ConfigPath); err != nil {
			return nil, nil, err
		}
	}
	opts := []remotewrite.Option{remotewrite.WithLogger(log)}
	// Credentials come from the function's role through the default chain,
	// loaded once here and refreshed by the SDK as they expire.
	var awsCfg aws.Config
	if s.RemoteWrite.SigV4 || cfg.Tags.Enabled {
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return nil, nil, fmt.Errorf("AWS configuration: %w", err)
		}
	}
	if s.RemoteWrite.SigV4 {
		opts = append(opts, remotewrite.WithCredentials(awsCfg.Credentials))
	}
	client, err := remotewrite.New(s.RemoteWrite, opts...)
	if err != nil {
		return nil, nil, err
	}
	log = log.With("function", s.FunctionName)
	log.Info("configured", "remote_write_url", s.RemoteWrite.URL, "sigv4", s.RemoteWrite.SigV4, "region", s.RemoteWrite.Region,
		"config", s.ConfigPath, "concurrency", s.RemoteWrite.Concurrency)
	fopts := firehose.Options{
		Logger: log, Metrics: os.Stdout,
		MetricsNamespace: s.MetricsNamespace, FunctionName: s.FunctionName,
	}
	if cfg.Tags.Enabled {
		fopts.Tags = tags.New(&cfg.Tags, tags.NewAPI(awsCfg), tags.Options{Logger: log, ExternalLabels: cfg.ExternalLabels})
		log.Info("tag enrichment on", "resource_types", cfg.Tags.ResourceTypes, "refresh", cfg.Tags.Refresh.String())
	}
	h := firehose.New(cfg, client, fopts)
	return h, log, nil
}
