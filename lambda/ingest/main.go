// Command ingest is the Firehose data-transformation Lambda: it reads its
// settings and configuration once at cold start, then hands every event to
// internal/firehose. Build it with `make lambda` (provided.al2023, arm64).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/lambdaenv"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/telemetry"
	"github.com/cwstream/cwstream/internal/version"
)

func main() {
	h, log, err := setup(context.Background())
	if err != nil {
		// Failing the cold start is right: Firehose retries, then keeps
		// the records. The message goes to the function's log and, through
		// the Runtime API, into the invocation error Firehose records
		// (otherwise it says only "exit status 1").
		fmt.Fprintln(os.Stderr, "cwstream ingest: configuration:", err)
		if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
			if rerr := reportInitError(api, err); rerr != nil {
				fmt.Fprintln(os.Stderr, "cwstream ingest: reporting the init error to the Runtime API:", rerr)
			}
		}
		os.Exit(1)
	}
	log.Info("ready")
	lambda.StartWithOptions(h)
}

// initErrorType is the error type reported for a bad setting at cold start.
const initErrorType = "Runtime.ConfigurationError"

// reportInitError posts err to the Lambda Runtime API's init error endpoint
// (POST /2018-06-01/runtime/init/error, "Lambda runtime API" in the Lambda
// developer guide), which aws-lambda-go does not expose.
func reportInitError(api string, err error) error {
	body, jerr := json.Marshal(map[string]any{
		"errorMessage": "cwstream ingest: configuration: " + err.Error(),
		"errorType":    initErrorType,
	})
	if jerr != nil {
		return jerr
	}
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", initErrorType)
	req.Header.Set("Content-Type", "application/json")
	resp, rerr := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if rerr != nil {
		return rerr
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: HTTP %d, want 202", req.URL, resp.StatusCode)
	}
	return nil
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
	// Which build runs: the commit a deployment can be traced back to.
	bi := version.Get()
	log.Info("starting", "version", bi.String(), "commit", bi.Revision, "commit_time", bi.Time, "modified", bi.Modified, "go", bi.Go)
	log.Info("configured", "remote_write_url", s.RemoteWrite.URL, "sigv4", s.RemoteWrite.SigV4, "region", s.RemoteWrite.Region,
		"config", s.ConfigPath, "concurrency", s.RemoteWrite.Concurrency)
	fopts := firehose.Options{
		Logger: log, Metrics: os.Stdout,
		MetricsNamespace: s.MetricsNamespace, FunctionName: s.FunctionName,
	}
	if cfg.Tags.Enabled {
		fopts.Tags = tags.New(&cfg.Tags, tags.NewAPI(awsCfg, cfg.Tags.RoleARN), tags.Options{Logger: log, ExternalLabels: cfg.ExternalLabels})
		log.Info("tag enrichment on", "resource_types", cfg.Tags.ResourceTypes, "refresh", cfg.Tags.Refresh.String())
	}
	h := firehose.New(cfg, client, fopts)
	return h, log, nil
}
