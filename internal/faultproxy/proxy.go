// Package faultproxy is a test helper: an HTTP reverse proxy on 127.0.0.1 in
// front of a real server (a Prometheus remote-write receiver, say) that
// fails a chosen share of requests the ways a store and a network fail: 429
// with Retry-After, 500, 503, 400 with a body, a connection reset, a request
// that hangs. Which request gets which fault is decided by a Plan: a fixed
// Script or seeded Random shares, a pure function of the request's number,
// so a failing run can be repeated.
//
// Every request is recorded — method, path, SHA-256 of the body, the number
// of samples when the body is a snappy remote-write request, what the proxy
// did — so a test can check a client's behaviour from the outside: that a
// request answered 400 was never sent again (the same body hash seen twice
// is a retry), that a 503 was retried, how many attempts a batch took.
package faultproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Record is what the proxy saw and did for one request.
type Record struct {
	Seq        int // order of arrival since the proxy started, from 0
	Method     string
	Path       string
	BodySHA256 string // hex
	BodyBytes  int
	// Samples counts the samples when the body is a snappy-compressed
	// remote-write request, else -1.
	Samples int
	Fault   Fault
	// Status is the status the client was answered: the target's for Pass
	// (502 when the target could not be reached), 0 for Reset and Hang.
	Status int
	// Err says why a Pass got 502, or how a hang ended: "client gave up",
	// "max hang", "proxy closed".
	Err string
	// Done is false while the proxy is still handling the request.
	Done     bool
	Start    time.Time
	Duration time.Duration
}

// Option changes a Proxy.
type Option func(*Proxy)

// WithMaxHang bounds how long a Hang holds a request (default 30 s).
func WithMaxHang(d time.Duration) Option { return func(p *Proxy) { p.maxHang = d } }

// Proxy is a running fault-injecting proxy. Its methods may be called from
// several goroutines.
type Proxy struct {
	srv     *httptest.Server
	target  *url.URL
	rp      *httputil.ReverseProxy
	maxHang time.Duration
	closing chan struct{}
	close   sync.Once

	mu      sync.Mutex
	closed  bool           // set by Close; requests after it are not waited for
	active  sync.WaitGroup // requests being handled, so Close can wait for their records
	plan    Plan
	planAt  int // seq at which plan was set
	records []Record
}

// Start runs a proxy in front of target, the base URL of the real server
// (request paths are kept: a POST to URL()+"/api/v1/write" goes to
// target+"/api/v1/write"). It is closed in tb.Cleanup. A nil plan passes
// everything.
func Start(tb testing.TB, target string, plan Plan, opts ...Option) *Proxy {
	tb.Helper()
	p, err := New(target, plan, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// New is Start without a testing.TB: the caller must Close the proxy.
func New(target string, plan Plan, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s) URL", target)
	}
	if plan == nil {
		plan = PassAll{}
	}
	p := &Proxy{target: u, plan: plan, maxHang: 30 * time.Second, closing: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if rec, ok := r.Context().Value(recordKey{}).(*pending); ok {
				rec.err = err.Error()
			}
			w.WriteHeader(http.StatusBadGateway)
		},
		// Forwarding failures are in the records; keep test output clean.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Start()
	return p, nil
}

// URL is the proxy's base URL, http://127.0.0.1:port.
func (p *Proxy) URL() string { return p.srv.URL }

// SetPlan replaces the plan; the new plan numbers requests from 0 again.
func (p *Proxy) SetPlan(plan Plan) {
	if plan == nil {
		plan = PassAll{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plan, p.planAt = plan, len(p.records)
}

// Close releases hanging requests, stops the proxy and waits until every
// request's record is complete. It may be called more than once.
func (p *Proxy) Close() {
	p.close.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.closing)
		p.srv.Close()
		p.active.Wait()
	})
}

// Records returns a copy of every request's record, in order of arrival.
func (p *Proxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.records...)
}

// Count returns how many requests got mode.
func (p *Proxy) Count(mode Mode) int {
	n := 0
	for _, r := range p.Records() {
		if r.Fault.Mode == mode {
			n++
		}
	}
	return n
}

// Sent returns how many times each body (by SHA-256) was received. A count
// above 1 means the client sent the same request again.
func (p *Proxy) Sent() map[string]int {
	out := map[string]int{}
	for _, r := range p.Records() {
		out[r.BodySHA256]++
	}
	return out
}

type recordKey struct{}

// pending carries what is learned while forwarding.
type pending struct{ err string }

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, readErr := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	p.mu.Lock()
	if !p.closed {
		// Added under mu and only before Close sets closed, so never
		// concurrently with Close's Wait.
		p.active.Add(1)
		defer p.active.Done()
	}
	seq := len(p.records)
	fault := p.plan.Decide(seq - p.planAt)
	p.records = append(p.records, Record{
		Seq: seq, Method: r.Method, Path: r.URL.Path,
		BodySHA256: hex.EncodeToString(sum[:]), BodyBytes: len(body),
		Samples: countSamples(body), Fault: fault, Start: start,
	})
	p.mu.Unlock()

	status, note := 0, ""
	if readErr != nil {
		// The client went away mid-body: there is no one to answer.
		note = "read body: " + readErr.Error()
	} else {
		status, note = p.act(w, r, body, fault)
	}

	p.mu.Lock()
	rec := &p.records[seq]
	rec.Status, rec.Err, rec.Done, rec.Duration = status, note, true, time.Since(start)
	p.mu.Unlock()
}

// act carries out fault and returns the status answered and a note.
func (p *Proxy) act(w http.ResponseWriter, r *http.Request, body []byte, f Fault) (int, string) {
	switch f.Mode {
	case Pass, "":
		pend := &pending{}
		out := r.Clone(context.WithValue(r.Context(), recordKey{}, pend))
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		sw := &statusWriter{ResponseWriter: w}
		p.rp.ServeHTTP(sw, out)
		return sw.status(), pend.err
	case TooManyRequests, InternalError, Unavailable, BadRequest:
		code, _ := strconv.Atoi(string(f.Mode))
		if f.RetryAfter > 0 && (f.Mode == TooManyRequests || f.Mode == Unavailable) {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		msg := f.Body
		if msg == "" {
			msg = fmt.Sprintf("faultproxy: injected %s", f.Mode)
		}
		http.Error(w, msg, code)
		return code, ""
	case Reset:
		return 0, drop(w)
	case Hang:
		timer := time.NewTimer(p.maxHang)
		defer timer.Stop()
		how := ""
		select {
		case <-r.Context().Done():
			how = "client gave up"
		case <-timer.C:
			how = "max hang"
		case <-p.closing:
			how = "proxy closed"
		}
		if err := drop(w); err != "" {
			how += "; " + err
		}
		return 0, how
	default:
		http.Error(w, fmt.Sprintf("faultproxy: unknown mode %q", f.Mode), http.StatusInternalServerError)
		return http.StatusInternalServerError, "unknown mode"
	}
}

// drop closes the client's connection without answering; SO_LINGER 0 makes
// the close a TCP reset rather than an orderly FIN.
func drop(w http.ResponseWriter) string {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return "hijack: " + err.Error()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	if err := conn.Close(); err != nil {
		return "close: " + err.Error()
	}
	return ""
}

// countSamples decodes a snappy remote-write request; -1 when body is not one.
func countSamples(body []byte) int {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return -1
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return -1
	}
	n := 0
	for _, ts := range req.Timeseries {
		n += len(ts.Samples) + len(ts.Histograms)
	}
	return n
}

// statusWriter remembers the status the reverse proxy answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
