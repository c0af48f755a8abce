package remotewrite

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/cwstream/cwstream/internal/version"
)

// Defaults. The AMP figures come from the AMP user guide, "Amazon Managed
// Service for Prometheus service quotas" (AMP_quotas.html): labels per metric
// series 70 (quota L-CDA4AB0F), request size 1 MB (L-B71C1602), label size
// (L-8E142053); ingestion rate 70,000 samples/s and burst 1,000,000 per
// workspace (AMP-APIReference-RemoteWrite.html).
const (
	// DefaultMaxSamplesPerRequest is Prometheus' own max_samples_per_send
	// default. 2,000 samples is 1/500 of AMP's default ingestion burst, so a
	// Lambda batch of ~150k samples is ~75 requests, few enough to stay cheap
	// in round trips and small enough that one throttled or rejected request
	// fails few samples.
	DefaultMaxSamplesPerRequest = 2000
	// DefaultMaxBytesPerRequest bounds the uncompressed protobuf. 512 KiB
	// keeps even incompressible bodies under AMP's 1 MB request size: snappy's
	// worst case is 32 + n + n/6 = 611,701 bytes for n = 512 KiB.
	DefaultMaxBytesPerRequest = 512 << 10
	// DefaultConcurrency is the number of shards, hence of requests in flight.
	DefaultConcurrency = 4
	// DefaultRequestTimeout bounds one HTTP attempt (connect to response).
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff are Prometheus' remote-write
	// queue defaults (min_backoff 30ms, max_backoff 5s).
	DefaultMinBackoff = 30 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// DefaultMaxAttempts bounds attempts per request when the context has no
	// deadline to do it: with the default backoffs, 10 attempts span ~10 s.
	DefaultMaxAttempts = 10
	// DefaultMaxLabelsPerSeries is AMP's "Labels per metric series" quota,
	// counting __name__.
	DefaultMaxLabelsPerSeries = 70
	// DefaultMaxLabelNameLength and DefaultMaxLabelValueLength are the
	// Cortex/Mimir distributor defaults (max_label_name_length,
	// max_label_value_length) that AMP's ingestion is built on.
	DefaultMaxLabelNameLength  = 1024
	DefaultMaxLabelValueLength = 2048
)

// Config configures a Client. Start from Config{URL: ...}.WithDefaults();
// New validates the result as given and fills nothing in.
type Config struct {
	// URL is the remote-write endpoint, http or https, e.g.
	// https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-…/api/v1/remote_write.
	URL string
	// SigV4 signs requests for service "aps". See DefaultSigV4.
	SigV4 bool
	// Region is the SigV4 signing region. WithDefaults takes it from an AMP
	// URL host (aps-workspaces.<region>.amazonaws.com) when empty.
	Region string
	// MaxSamplesPerRequest caps the samples of one WriteRequest.
	MaxSamplesPerRequest int
	// MaxBytesPerRequest caps the uncompressed protobuf bytes of one
	// WriteRequest. A single sample whose series labels alone exceed it is
	// sent alone rather than dropped.
	MaxBytesPerRequest int
	// Concurrency is the number of shards, each sending its requests in order;
	// it bounds the requests in flight.
	Concurrency int
	// RequestTimeout bounds each HTTP attempt.
	RequestTimeout time.Duration
	// MinBackoff is the first retry wait; it doubles per attempt up to
	// MaxBackoff, with jitter. A 429's Retry-After overrides a shorter wait.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts bounds the attempts per request (first try included).
	MaxAttempts int
	// MaxLabelsPerSeries counts __name__ too.
	MaxLabelsPerSeries int
	// MaxLabelNameLength and MaxLabelValueLength are in bytes; the metric
	// name is checked as the value of __name__.
	MaxLabelNameLength, MaxLabelValueLength int
	// UserAgent is sent as User-Agent; default "cwstream/<version>".
	UserAgent string
}

// WithDefaults returns c with every zero field set to its default. Region is
// derived from the URL when SigV4 is on and Region is empty.
func (c Config) WithDefaults() Config {
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&c.MaxSamplesPerRequest, DefaultMaxSamplesPerRequest)
	setInt(&c.MaxBytesPerRequest, DefaultMaxBytesPerRequest)
	setInt(&c.Concurrency, DefaultConcurrency)
	setInt(&c.MaxAttempts, DefaultMaxAttempts)
	setInt(&c.MaxLabelsPerSeries, DefaultMaxLabelsPerSeries)
	setInt(&c.MaxLabelNameLength, DefaultMaxLabelNameLength)
	setInt(&c.MaxLabelValueLength, DefaultMaxLabelValueLength)
	setDur(&c.RequestTimeout, DefaultRequestTimeout)
	setDur(&c.MinBackoff, DefaultMinBackoff)
	setDur(&c.MaxBackoff, DefaultMaxBackoff)
	if c.UserAgent == "" {
		c.UserAgent = version.UserAgent()
	}
	if c.SigV4 && c.Region == "" {
		c.Region = regionFromURL(c.URL)
	}
	return c
}

// Validate reports the first invalid field, by name.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("remotewrite config: URL is required")
	case err != nil:
		return fmt.Errorf("remotewrite config: URL %q: %w", c.URL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("remotewrite config: URL %q: scheme must be http or https, got %q", c.URL, u.Scheme)
	case u.Host == "":
		return fmt.Errorf("remotewrite config: URL %q: host is empty", c.URL)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"MaxSamplesPerRequest", c.MaxSamplesPerRequest},
		{"MaxBytesPerRequest", c.MaxBytesPerRequest},
		{"Concurrency", c.Concurrency},
		{"MaxAttempts", c.MaxAttempts},
		{"MaxLabelsPerSeries", c.MaxLabelsPerSeries},
		{"MaxLabelNameLength", c.MaxLabelNameLength},
		{"MaxLabelValueLength", c.MaxLabelValueLength},
	} {
		if f.v < 1 {
			return fmt.Errorf("remotewrite config: %s must be at least 1, got %d (start from Config.WithDefaults)", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"RequestTimeout", c.RequestTimeout},
		{"MinBackoff", c.MinBackoff},
		{"MaxBackoff", c.MaxBackoff},
	} {
		if f.v <= 0 {
			return fmt.Errorf("remotewrite config: %s must be positive, got %v (start from Config.WithDefaults)", f.name, f.v)
		}
	}
	if c.MaxBackoff < c.MinBackoff {
		return fmt.Errorf("remotewrite config: MaxBackoff %v is less than MinBackoff %v", c.MaxBackoff, c.MinBackoff)
	}
	if c.UserAgent == "" {
		return errors.New("remotewrite config: UserAgent is empty (start from Config.WithDefaults)")
	}
	if c.SigV4 && c.Region == "" {
		return fmt.Errorf("remotewrite config: Region is empty and SigV4 is on; the URL host %q is not aps-workspaces.<region>.amazonaws.com, so set Region", u.Host)
	}
	return nil
}

// regionFromURL returns <region> from an AMP endpoint host
// aps-workspaces.<region>.amazonaws.com (also the -fips and .com.cn forms),
// or "" when the host is not one.
func regionFromURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) < 4 || !strings.HasPrefix(parts[0], "aps-workspaces") || parts[2] != "amazonaws" {
		return ""
	}
	return parts[1]
}

// DefaultSigV4 is the SigV4 default for an endpoint: false only for loopback
// hosts (localhost, 127.0.0.0/8, ::1), which are test receivers without AWS
// credentials; true for everything else, so a real endpoint is never sent
// unsigned by omission.
func DefaultSigV4(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return false
	}
	return true
}
