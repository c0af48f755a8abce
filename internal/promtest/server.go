// Package promtest runs a real Prometheus for end-to-end tests: the stand-in
// for Amazon Managed Service for Prometheus. A test starts one with Start,
// writes to WriteURL through the remote-write receiver, and reads back what
// was stored with Series, Samples, Query or Dump, which return plain Go
// values decoded from the HTTP API.
//
// The server is Debian's Prometheus 2.42 (/usr/bin/prometheus). What it does
// with the writes cwstream sends, each fact pinned by a test in this package
// (AMP is a different implementation; these are facts about the stand-in):
//
//   - Retention is measured between blocks, not against the wall clock: a
//     block is deleted when its max time is older than the newest block's by
//     more than the retention. With the default 15d, data from 2022 written
//     next to data from 2023 is deleted at the first compaction (within a
//     second of the write that makes the head span more than 3h). Start sets
//     100y, the most Prometheus accepts. (TestRetentionIsBetweenBlocks)
//   - Without an out-of-order window the head takes only samples newer than
//     (newest sample of ANY series − 1h), and per series only samples newer
//     than that series' last one. Writing an older day after a newer one
//     needs WithOutOfOrderWindow. (TestOutOfOrder/NoWindow)
//   - Checked against what is already stored, an out-of-order, out-of-bounds
//     or different-value-same-timestamp sample makes the write 400, and the
//     WHOLE request is rolled back, its good samples included.
//   - An identical sample is forgiven only when it equals the series' LAST
//     sample. An identical older one is "out of order": replaying a batch
//     with two or more samples of a series gets 400, not 204. With an
//     out-of-order window any exact duplicate is dropped silently (204), so
//     a replay is a no-op. (TestReplay)
//   - Samples out of order or repeated WITHIN one request are answered 204
//     and dropped without a word: the check that fails runs at commit, which
//     only counts the out-of-order ones in
//     prometheus_tsdb_out_of_order_samples_total (a repeat with another
//     value is counted nowhere).
//   - With a window, a sample older than (newest sample − window) is "too
//     old sample", answered 500, not 400: a client following the remote-write
//     spec retries it until it gives up. A different value at an older
//     timestamp takes the out-of-order path, which keeps the first value and
//     answers 204; at the series' newest timestamp it is still a 400.
//     (TestOutOfOrder/Window)
package promtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/cwstream/cwstream/internal/promquery"
	"github.com/cwstream/cwstream/internal/testutil"
)

// Retention is the --storage.tsdb.retention.time Start passes: the largest
// Prometheus takes. Retention compares block max times with the newest
// block's, so anything shorter than the span of the test data can delete it.
const Retention = "100y"

// MaxSamples is the --query.max-samples Start passes. Samples loads every
// raw sample of its range in one query, and the default (50M) is a limit a
// whole-store dump of a long replay can reach.
const MaxSamples = 200_000_000

// startTimeout bounds the wait for /-/ready.
const startTimeout = 30 * time.Second

// Server is a running Prometheus. Its methods may be called from several
// goroutines.
type Server struct {
	url     string
	dataDir string
	http    *http.Client      // remote write
	api     *promquery.Client // everything else
	log     *testutil.SyncBuffer
}

// Option changes how Start runs Prometheus.
type Option func(*options)

type options struct {
	oooWindow    time.Duration
	extraFlags   []string
	rules        string        // rule file content; "" = no rule file
	evalInterval time.Duration // rule evaluation interval; 0 = Config's 1m
}

// WithOutOfOrderWindow sets storage.tsdb.out_of_order_time_window in the
// configuration file: samples up to d older than the newest sample in the
// store are accepted in any order. Zero (the default) turns it off, as it is
// in AMP unless asked for.
func WithOutOfOrderWindow(d time.Duration) Option {
	return func(o *options) { o.oooWindow = d }
}

// WithFlags adds command-line flags of the form --name=value. One that names
// a flag Start sets replaces Start's (Prometheus refuses a repeated flag).
func WithFlags(flags ...string) Option {
	return func(o *options) { o.extraFlags = append(o.extraFlags, flags...) }
}

// WithRules loads rules (a Prometheus rule file, YAML) and evaluates them
// every interval (zero keeps the configuration's 1m). Prometheus evaluates
// rules at wall-clock time, so they see only samples written close to now;
// a file Prometheus refuses makes Start fail with Prometheus's message.
func WithRules(rules string, interval time.Duration) Option {
	return func(o *options) { o.rules, o.evalInterval = rules, interval }
}

// Binary finds the prometheus executable. When it is missing the test is
// skipped, except in CI (CI=true), where a skip would hide a broken setup.
func Binary(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("prometheus")
	if err != nil {
		testutil.Missing(tb, fmt.Sprintf("promtest: prometheus is not installed (apt-get install prometheus): %v", err))
	}
	return path
}

// Config renders the configuration file: global settings and no scrape jobs,
// so the store holds only what the test writes.
func Config(oooWindow time.Duration) string {
	return config(options{oooWindow: oooWindow})
}

// ruleFile is the rule file's name beside the configuration file.
const ruleFile = "rules.yml"

// config renders the configuration file for o: Config's, plus the rule file
// and its evaluation interval when o has rules.
func config(o options) string {
	eval := time.Minute
	if o.evalInterval > 0 {
		eval = o.evalInterval
	}
	var b strings.Builder
	b.WriteString("# Written by promtest: no scrape jobs; the store holds only remote-written samples.\n")
	fmt.Fprintf(&b, "global:\n  scrape_interval: 1m\n  evaluation_interval: %s\n", model.Duration(eval))
	if o.rules != "" {
		fmt.Fprintf(&b, "rule_files: [%s]\n", ruleFile)
	}
	if o.oooWindow > 0 {
		fmt.Fprintf(&b, "storage:\n  tsdb:\n    out_of_order_time_window: %dms\n", o.oooWindow.Milliseconds())
	}
	return b.String()
}

// Start runs Prometheus on a free 127.0.0.1 port with a data directory under
// tb.TempDir(), waits until it is ready, and stops it in tb.Cleanup. Its log
// is written to the test log when the test fails.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	bin := Binary(tb)
	dir := tb.TempDir()
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config(o)), 0o600); err != nil {
		tb.Fatalf("promtest: write config: %v", err)
	}
	if o.rules != "" {
		// Prometheus reads rule_files relative to the configuration file.
		if err := os.WriteFile(filepath.Join(dir, ruleFile), []byte(o.rules), 0o600); err != nil {
			tb.Fatalf("promtest: write rules: %v", err)
		}
	}
	addr := freeAddr(tb)
	s := &Server{
		url:     "http://" + addr,
		dataDir: filepath.Join(dir, "data"),
		http:    &http.Client{Timeout: 60 * time.Second},
		log:     &testutil.SyncBuffer{},
	}
	s.api = promquery.New(s.url, s.http)
	args := []string{
		"--config.file=" + configPath,
		"--storage.tsdb.path=" + s.dataDir,
		"--storage.tsdb.retention.time=" + Retention,
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		fmt.Sprintf("--query.max-samples=%d", MaxSamples),
		"--log.level=info",
	}
	args = mergeFlags(args, o.extraFlags)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("promtest: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		stop(tb, cmd, exited)
		if tb.Failed() {
			tb.Logf("promtest: prometheus log (%s):\n%s", s.url, s.log.String())
		}
	})
	if err := s.waitReady(exited, startTimeout); err != nil {
		select {
		case <-exited:
			err = fmt.Errorf("%w (exit: %v)", err, waitErr)
		default:
		}
		tb.Fatalf("promtest: %v\nprometheus log:\n%s", err, s.log.String())
	}
	return s
}

// mergeFlags returns base with each of extra appended, after removing the
// base flag of the same name.
func mergeFlags(base, extra []string) []string {
	out := slices.Clone(base)
	for _, e := range extra {
		name, _, _ := strings.Cut(e, "=")
		out = slices.DeleteFunc(out, func(b string) bool {
			n, _, _ := strings.Cut(b, "=")
			return n == name
		})
		out = append(out, e)
	}
	return out
}

// stop ends Prometheus: SIGTERM lets it close the TSDB; SIGKILL follows if it
// has not exited within 10 s.
func stop(tb testing.TB, cmd *exec.Cmd, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Logf("promtest: SIGTERM: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		tb.Logf("promtest: prometheus did not stop within 10 s of SIGTERM; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (s *Server) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("prometheus exited before it was ready (last probe: %v)", last)
		default:
		}
		resp, err := client.Get(s.url + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/-/ready: HTTP %d", resp.StatusCode)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus not ready after %v: %v", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.url }

// WriteURL is the remote-write endpoint, URL()+"/api/v1/write".
func (s *Server) WriteURL() string { return s.url + "/api/v1/write" }

// Log returns what Prometheus has logged so far.
func (s *Server) Log() string { return s.log.String() }

// freeAddr picks a free port. Another process could take it before
// Prometheus binds it; the start then fails loudly rather than talking to a
// stranger, since readiness is only awaited while our process is alive.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("promtest: find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatalf("promtest: free port: %v", err)
	}
	return addr
}
