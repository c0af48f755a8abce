package remotewrite

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	const amp = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" means valid
	}{
		{"defaults over an AMP URL", Config{URL: amp, SigV4: true}.WithDefaults(), ""},
		{"loopback without SigV4", Config{URL: "http://127.0.0.1:9090/api/v1/write"}.WithDefaults(), ""},
		{"empty URL", Config{}.WithDefaults(), "URL is required"},
		{"bad scheme", Config{URL: "ftp://x/y"}.WithDefaults(), "scheme must be http or https"},
		{"no host", Config{URL: "http:///api/v1/write"}.WithDefaults(), "host is empty"},
		{"unparsable URL", Config{URL: "http://[::1"}.WithDefaults(), "URL"},
		{"zero concurrency without defaults", Config{URL: amp, MaxSamplesPerRequest: 1, MaxBytesPerRequest: 1}, "Concurrency must be at least 1"},
		{"negative samples", func() Config { c := Config{URL: amp}.WithDefaults(); c.MaxSamplesPerRequest = -1; return c }(), "MaxSamplesPerRequest must be at least 1, got -1"},
		{"negative timeout", func() Config { c := Config{URL: amp}.WithDefaults(); c.RequestTimeout = -time.Second; return c }(), "RequestTimeout must be positive"},
		{"max backoff below min", func() Config {
			c := Config{URL: amp}.WithDefaults()
			c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond
			return c
		}(), "MaxBackoff 1ms is less than MinBackoff 1s"},
		{"SigV4 with no derivable region", Config{URL: "https://prometheus.example.com/api/v1/write", SigV4: true}.WithDefaults(), "Region is empty and SigV4 is on"},
		{"SigV4 with explicit region", Config{URL: "https://prometheus.example.com/api/v1/write", SigV4: true, Region: "us-east-1"}.WithDefaults(), ""},
		{"empty user agent", func() Config { c := Config{URL: amp}.WithDefaults(); c.UserAgent = ""; return c }(), "UserAgent is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{URL: "https://aps-workspaces.ap-southeast-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write", SigV4: true, Concurrency: 7}.WithDefaults()
	if c.Region != "ap-southeast-2" {
		t.Errorf("Region = %q, want ap-southeast-2", c.Region)
	}
	if c.Concurrency != 7 {
		t.Errorf("Concurrency = %d, want the given 7 kept", c.Concurrency)
	}
	if c.MaxSamplesPerRequest != DefaultMaxSamplesPerRequest || c.MaxBytesPerRequest != DefaultMaxBytesPerRequest ||
		c.MaxLabelsPerSeries != 70 || c.MaxAttempts != DefaultMaxAttempts {
		t.Errorf("defaults not applied: %+v", c)
	}
	if !strings.HasPrefix(c.UserAgent, "cwstream/") {
		t.Errorf("UserAgent = %q, want cwstream/<version>", c.UserAgent)
	}
}

func TestRegionFromURL(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", "us-east-1"},
		{"https://aps-workspaces-fips.us-gov-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", "us-gov-west-1"},
		{"https://aps-workspaces.cn-north-1.amazonaws.com.cn/workspaces/ws-1/api/v1/remote_write", "cn-north-1"},
		{"https://prometheus.example.com/api/v1/write", ""},
		{"https://aps-workspaces.amazonaws.com/x", ""},
		{"http://127.0.0.1:9090/api/v1/write", ""},
		{"::not a url", ""},
	}
	for _, tt := range tests {
		if got := regionFromURL(tt.url); got != tt.want {
			t.Errorf("regionFromURL(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestDefaultSigV4(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:9090/api/v1/write", false},
		{"http://127.3.4.5/api/v1/write", false},
		{"http://[::1]:9090/api/v1/write", false},
		{"http://localhost:9090/api/v1/write", false},
		{"http://LocalHost/api/v1/write", false},
		{"https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", true},
		{"http://10.0.0.1:9090/api/v1/write", true},
		{"http://localhost.example.com/api/v1/write", true},
		{"http://[::1", true},
	}
	for _, tt := range tests {
		if got := DefaultSigV4(tt.url); got != tt.want {
			t.Errorf("DefaultSigV4(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}
