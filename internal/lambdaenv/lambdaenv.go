// Package lambdaenv reads the ingest Lambda's settings from its environment
// variables, once at cold start, and says exactly which variable is wrong.
//
//	CWSTREAM_REMOTE_WRITE_URL          required: the remote-write endpoint
//	CWSTREAM_CONFIG                    config file (default cwstream.yaml in LAMBDA_TASK_ROOT, if present)
//	CWSTREAM_CONFIG_YAML               the configuration inline, instead of a file
//	CWSTREAM_SIGV4                     true | false | auto (default auto: sign unless the URL is loopback)
//	CWSTREAM_REGION                    SigV4 region (default: from the AMP URL)
//	CWSTREAM_MAX_SAMPLES_PER_REQUEST   samples per WriteRequest
//	CWSTREAM_MAX_BYTES_PER_REQUEST     uncompressed bytes per WriteRequest
//	CWSTREAM_CONCURRENCY               requests in flight
//	CWSTREAM_REQUEST_TIMEOUT           one HTTP attempt, Go duration (e.g. 10s)
//	CWSTREAM_MAX_ATTEMPTS              attempts per request (first try included)
//	CWSTREAM_MAX_LABELS_PER_SERIES     AMP limit guard: labels per series, __name__ included
//	CWSTREAM_MAX_LABEL_NAME_LENGTH     AMP limit guard: bytes per label name
//	CWSTREAM_MAX_LABEL_VALUE_LENGTH    AMP limit guard: bytes per label value
//	CWSTREAM_LOG_LEVEL                 debug | info | warn | error
//	CWSTREAM_METRICS_NAMESPACE         EMF namespace (default CWStream)
package lambdaenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// The variables the function reads, defined once: the CDK app (infra) sets
// them by these names.
const (
	EnvRemoteWriteURL       = "CWSTREAM_REMOTE_WRITE_URL"
	EnvConfig               = "CWSTREAM_CONFIG"
	EnvConfigYAML           = "CWSTREAM_CONFIG_YAML"
	EnvSigV4                = "CWSTREAM_SIGV4"
	EnvRegion               = "CWSTREAM_REGION"
	EnvMaxSamplesPerRequest = "CWSTREAM_MAX_SAMPLES_PER_REQUEST"
	EnvMaxBytesPerRequest   = "CWSTREAM_MAX_BYTES_PER_REQUEST"
	EnvConcurrency          = "CWSTREAM_CONCURRENCY"
	EnvRequestTimeout       = "CWSTREAM_REQUEST_TIMEOUT"
	EnvMaxAttempts          = "CWSTREAM_MAX_ATTEMPTS"
	EnvMaxLabelsPerSeries   = "CWSTREAM_MAX_LABELS_PER_SERIES"
	EnvMaxLabelNameLength   = "CWSTREAM_MAX_LABEL_NAME_LENGTH"
	EnvMaxLabelValueLength  = "CWSTREAM_MAX_LABEL_VALUE_LENGTH"
	EnvLogLevel             = "CWSTREAM_LOG_LEVEL"
	EnvMetricsNamespace     = "CWSTREAM_METRICS_NAMESPACE"
)

// Settings are the Lambda's settings.
type Settings struct {
	RemoteWrite      remotewrite.Config // with defaults applied, validated
	ConfigPath       string             // "" means the built-in defaults (unless ConfigYAML)
	ConfigYAML       string             // the configuration given inline
	LogLevel         string
	MetricsNamespace string
	FunctionName     string
}

// DefaultConfigName is the config file the CDK app bundles with the
// function.
const DefaultConfigName = "cwstream.yaml"

// FromEnv reads the settings. getenv is os.Getenv in the Lambda; stat
// tells whether the default config file exists (os.Stat there).
func FromEnv(getenv func(string) string, stat func(string) (os.FileInfo, error)) (Settings, error) {
	var errs []error
	s := Settings{
		LogLevel:         getenv(EnvLogLevel),
		MetricsNamespace: getenv(EnvMetricsNamespace),
		FunctionName:     getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
	if s.MetricsNamespace == "" {
		s.MetricsNamespace = telemetry.DefaultNamespace
	}
	switch strings.ToLower(s.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want debug, info, warn or error", EnvLogLevel, s.LogLevel))
	}

	rw := remotewrite.Config{URL: getenv(EnvRemoteWriteURL), Region: getenv(EnvRegion)}
	if rw.URL == "" {
		errs = append(errs, errors.New(EnvRemoteWriteURL+" is not set: it must be the remote-write URL, e.g. the AMP workspace's https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write"))
	}
	switch v := strings.ToLower(getenv(EnvSigV4)); v {
	case "", "auto":
		rw.SigV4 = remotewrite.DefaultSigV4(rw.URL)
	case "true", "1", "yes":
		rw.SigV4 = true
	case "false", "0", "no":
		rw.SigV4 = false
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want true, false or auto", EnvSigV4, v))
	}
	intVar := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number above 0", name, v))
				return
			}
			*dst = n
		}
	}
	intVar(EnvMaxSamplesPerRequest, &rw.MaxSamplesPerRequest)
	intVar(EnvMaxBytesPerRequest, &rw.MaxBytesPerRequest)
	intVar(EnvConcurrency, &rw.Concurrency)
	intVar(EnvMaxAttempts, &rw.MaxAttempts)
	intVar(EnvMaxLabelsPerSeries, &rw.MaxLabelsPerSeries)
	intVar(EnvMaxLabelNameLength, &rw.MaxLabelNameLength)
	intVar(EnvMaxLabelValueLength, &rw.MaxLabelValueLength)
	if v := getenv(EnvRequestTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			// Not kept: Validate would report the same variable again,
			// by its field name.
			errs = append(errs, fmt.Errorf("%s=%q: want a positive Go duration such as 10s", EnvRequestTimeout, v))
		} else {
			rw.RequestTimeout = d
		}
	}
	if rw.URL != "" {
		rw = rw.WithDefaults()
		if err := rw.Validate(); err != nil {
			errs = append(errs, byVariable(err))
		}
	}
	s.RemoteWrite = rw

	s.ConfigPath, s.ConfigYAML = getenv(EnvConfig), getenv(EnvConfigYAML)
	if s.ConfigPath != "" && s.ConfigYAML != "" {
		errs = append(errs, errors.New(EnvConfig+" and "+EnvConfigYAML+" are both set: give the configuration as a file or inline, not both"))
	}
	if s.ConfigPath == "" && s.ConfigYAML == "" {
		// The CDK app bundles the environment's file beside the bootstrap;
		// without one, the defaults apply.
		p := filepath.Join(getenv("LAMBDA_TASK_ROOT"), DefaultConfigName)
		if _, err := stat(p); err == nil {
			s.ConfigPath = p
		}
	}
	return s, errors.Join(errs...)
}

// fieldVariables are the variables behind remotewrite.Config's fields.
var fieldVariables = map[string]string{
	"URL": EnvRemoteWriteURL, "Region": EnvRegion, "MaxSamplesPerRequest": EnvMaxSamplesPerRequest,
	"MaxBytesPerRequest": EnvMaxBytesPerRequest, "Concurrency": EnvConcurrency, "RequestTimeout": EnvRequestTimeout,
	"MaxAttempts": EnvMaxAttempts, "MaxLabelsPerSeries": EnvMaxLabelsPerSeries, "MaxLabelNameLength": EnvMaxLabelNameLength,
	"MaxLabelValueLength": EnvMaxLabelValueLength,
}

// byVariable names the environment variable, not the Go field, in an
// error of remotewrite.Config.Validate ("remotewrite config: URL ...").
func byVariable(err error) error {
	msg, ok := strings.CutPrefix(err.Error(), "remotewrite config: ")
	if !ok {
		return fmt.Errorf("remote write settings: %w", err)
	}
	field, rest, _ := strings.Cut(msg, " ")
	name, ok := fieldVariables[field]
	if !ok {
		return fmt.Errorf("remote write settings: %w", err)
	}
	rest = strings.ReplaceAll(rest, " (start from Config.WithDefaults)", "")
	return fmt.Errorf("%s %s", name, strings.ReplaceAll(rest, "set "+field, "set "+name))
}
