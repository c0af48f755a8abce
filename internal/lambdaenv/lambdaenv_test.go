package lambdaenv

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/telemetry"
)

const (
	ampURL      = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write"
	loopbackURL = "http://127.0.0.1:9090/api/v1/write"
)

// fakeStat reports the files in exist as present, everything else absent.
func fakeStat(exist ...string) func(string) (os.FileInfo, error) {
	return func(p string) (os.FileInfo, error) {
		for _, e := range exist {
			if p == e {
				return nil, nil
			}
		}
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
}

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		exist []string // files the fake stat finds
		// wantErr lists what the error must name; nil means no error.
		wantErr []string
		check   func(t *testing.T, s Settings)
	}{
		{
			name: "minimal loopback: defaults, no SigV4, no config file",
			env:  map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL},
			check: func(t *testing.T, s Settings) {
				want := remotewrite.Config{URL: loopbackURL}.WithDefaults()
				if s.RemoteWrite != want {
					t.Errorf("remote write %+v, want %+v", s.RemoteWrite, want)
				}
				if s.ConfigPath != "" || s.LogLevel != "" || s.MetricsNamespace != telemetry.DefaultNamespace || s.FunctionName != "" {
					t.Errorf("settings %+v", s)
				}
			},
		},
		{
			name: "inline configuration and limit-guard settings",
			env: map[string]string{
				"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_CONFIG_YAML": "statistics: [sum]", "LAMBDA_TASK_ROOT": "/var/task",
				"CWSTREAM_MAX_ATTEMPTS": "3", "CWSTREAM_MAX_LABELS_PER_SERIES": "30",
				"CWSTREAM_MAX_LABEL_NAME_LENGTH": "100", "CWSTREAM_MAX_LABEL_VALUE_LENGTH": "200",
			},
			exist: []string{"/var/task/cwstream.yaml"},
			check: func(t *testing.T, s Settings) {
				rw := s.RemoteWrite
				if s.ConfigYAML != "statistics: [sum]" || s.ConfigPath != "" || rw.MaxAttempts != 3 ||
					rw.MaxLabelsPerSeries != 30 || rw.MaxLabelNameLength != 100 || rw.MaxLabelValueLength != 200 {
					t.Errorf("settings %+v", s)
				}
			},
		},
		{
			name:    "config as a file and inline at once",
			env:     map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_CONFIG": "/x.yaml", "CWSTREAM_CONFIG_YAML": "{}"},
			wantErr: []string{"CWSTREAM_CONFIG and CWSTREAM_CONFIG_YAML are both set"},
		},
		{
			name:    "bad limit",
			env:     map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_MAX_LABELS_PER_SERIES": "many"},
			wantErr: []string{`CWSTREAM_MAX_LABELS_PER_SERIES="many"`},
		},
		{
			name: "localhost is loopback too",
			env:  map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "http://localhost:9090/api/v1/write"},
			check: func(t *testing.T, s Settings) {
				if s.RemoteWrite.SigV4 {
					t.Error("SigV4 on for localhost")
				}
			},
		},
		{
			name: "AMP URL: SigV4 on, region from the host",
			env:  map[string]string{"CWSTREAM_REMOTE_WRITE_URL": ampURL, "AWS_LAMBDA_FUNCTION_NAME": "cwstream-ingest"},
			check: func(t *testing.T, s Settings) {
				if !s.RemoteWrite.SigV4 || s.RemoteWrite.Region != "eu-west-1" || s.FunctionName != "cwstream-ingest" {
					t.Errorf("sigv4 %v region %q function %q", s.RemoteWrite.SigV4, s.RemoteWrite.Region, s.FunctionName)
				}
			},
		},
		{
			name: "explicit region wins over the host's",
			env:  map[string]string{"CWSTREAM_REMOTE_WRITE_URL": ampURL, "CWSTREAM_REGION": "eu-central-1", "CWSTREAM_SIGV4": "auto"},
			check: func(t *testing.T, s Settings) {
				if s.RemoteWrite.Region != "eu-central-1" {
					t.Errorf("region %q", s.RemoteWrite.Region)
				}
			},
		},
		{
			name: "SigV4 forced off for AMP",
			env:  map[string]string{"CWSTREAM_REMOTE_WRITE_URL": ampURL, "CWSTREAM_SIGV4": "FALSE"},
			check: func(t *testing.T, s Settings) {
				if s.RemoteWrite.SigV4 {
					t.Error("SigV4 on")
				}
			},
		},
		{
			name:    "SigV4 forced on for a host without a region",
			env:     map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "https://prom.example.com/api/v1/write", "CWSTREAM_SIGV4": "true"},
			wantErr: []string{"CWSTREAM_REGION is empty and SigV4 is on; the URL host \"prom.example.com\" is not aps-workspaces.<region>.amazonaws.com, so set CWSTREAM_REGION"},
		},
		{
			name: "SigV4 forced on with a region",
			env:  map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "https://prom.example.com/api/v1/write", "CWSTREAM_SIGV4": "1", "CWSTREAM_REGION": "us-east-2"},
			check: func(t *testing.T, s Settings) {
				if !s.RemoteWrite.SigV4 || s.RemoteWrite.Region != "us-east-2" {
					t.Errorf("sigv4 %v region %q", s.RemoteWrite.SigV4, s.RemoteWrite.Region)
				}
			},
		},
		{
			name: "numbers, timeout, level and namespace",
			env: map[string]string{
				"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_MAX_SAMPLES_PER_REQUEST": "500",
				"CWSTREAM_MAX_BYTES_PER_REQUEST": "65536", "CWSTREAM_CONCURRENCY": "8", "CWSTREAM_REQUEST_TIMEOUT": "1m30s",
				"CWSTREAM_LOG_LEVEL": "DEBUG", "CWSTREAM_METRICS_NAMESPACE": "Team/CWStream",
			},
			check: func(t *testing.T, s Settings) {
				rw := s.RemoteWrite
				if rw.MaxSamplesPerRequest != 500 || rw.MaxBytesPerRequest != 65536 || rw.Concurrency != 8 || rw.RequestTimeout != 90*time.Second {
					t.Errorf("remote write %+v", rw)
				}
				if s.LogLevel != "DEBUG" || s.MetricsNamespace != "Team/CWStream" {
					t.Errorf("level %q namespace %q", s.LogLevel, s.MetricsNamespace)
				}
			},
		},
		{
			name:  "the bundled config file, when present",
			env:   map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "LAMBDA_TASK_ROOT": "/var/task"},
			exist: []string{"/var/task/cwstream.yaml"},
			check: func(t *testing.T, s Settings) {
				if s.ConfigPath != "/var/task/cwstream.yaml" {
					t.Errorf("config %q", s.ConfigPath)
				}
			},
		},
		{
			name:  "no bundled config file: the defaults",
			env:   map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "LAMBDA_TASK_ROOT": "/var/task"},
			exist: []string{"/elsewhere/cwstream.yaml"},
			check: func(t *testing.T, s Settings) {
				if s.ConfigPath != "" {
					t.Errorf("config %q", s.ConfigPath)
				}
			},
		},
		{
			name:  "explicit CWSTREAM_CONFIG wins",
			env:   map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "LAMBDA_TASK_ROOT": "/var/task", "CWSTREAM_CONFIG": "/opt/prod.yaml"},
			exist: []string{"/var/task/cwstream.yaml"},
			check: func(t *testing.T, s Settings) {
				if s.ConfigPath != "/opt/prod.yaml" {
					t.Errorf("config %q", s.ConfigPath)
				}
			},
		},
		{name: "missing URL", env: map[string]string{}, wantErr: []string{"CWSTREAM_REMOTE_WRITE_URL is not set"}},
		{name: "URL not http", env: map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "ftp://127.0.0.1/x"}, wantErr: []string{`CWSTREAM_REMOTE_WRITE_URL "ftp://127.0.0.1/x": scheme must be http or https`}},
		{name: "bad SIGV4", env: map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_SIGV4": "maybe"}, wantErr: []string{`CWSTREAM_SIGV4="maybe"`}},
		{name: "zero concurrency", env: map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_CONCURRENCY": "0"}, wantErr: []string{`CWSTREAM_CONCURRENCY="0"`}},
		{name: "negative timeout", env: map[string]string{"CWSTREAM_REMOTE_WRITE_URL": loopbackURL, "CWSTREAM_REQUEST_TIMEOUT": "-1s"}, wantErr: []string{`CWSTREAM_REQUEST_TIMEOUT="-1s"`}},
		{
			name: "every bad variable reported at once",
			env: map[string]string{
				"CWSTREAM_SIGV4": "sometimes", "CWSTREAM_MAX_SAMPLES_PER_REQUEST": "many", "CWSTREAM_MAX_BYTES_PER_REQUEST": "1.5",
				"CWSTREAM_CONCURRENCY": "-2", "CWSTREAM_REQUEST_TIMEOUT": "10", "CWSTREAM_LOG_LEVEL": "loud",
			},
			wantErr: []string{
				"CWSTREAM_REMOTE_WRITE_URL is not set", `CWSTREAM_SIGV4="sometimes"`, `CWSTREAM_MAX_SAMPLES_PER_REQUEST="many"`,
				`CWSTREAM_MAX_BYTES_PER_REQUEST="1.5"`, `CWSTREAM_CONCURRENCY="-2"`, `CWSTREAM_REQUEST_TIMEOUT="10"`, `CWSTREAM_LOG_LEVEL="loud"`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			getenv := func(k string) string { return c.env[k] }
			s, err := FromEnv(getenv, fakeStat(c.exist...))
			if c.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; settings %+v", s)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not name %q:\n%v", w, err)
					}
				}
				if n := strings.Count(err.Error(), "\n") + 1; n != len(c.wantErr) && !strings.HasPrefix(c.wantErr[0], "remote write settings") {
					t.Errorf("%d errors, want %d:\n%v", n, len(c.wantErr), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.RemoteWrite.Validate(); err != nil {
				t.Errorf("settings not valid: %v", err)
			}
			c.check(t, s)
		})
	}
}
