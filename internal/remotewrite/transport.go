package remotewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	// errorBodyLimit caps how much of an error body is read and logged.
	errorBodyLimit = 1 << 10
	// drainLimit caps how much of any body is drained so the connection can
	// be reused; a longer body costs the connection instead.
	drainLimit = 64 << 10
)

// transport sends encoded, compressed WriteRequests to one endpoint and
// retries them per the spec. It knows nothing of series or samples; signing,
// when on, is the HTTP client's RoundTripper.
type transport struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
	// wait sleeps d, or less if ctx ends first (then it returns ctx's
	// error): sleep, or in tests a function that records the waits the
	// loop chose without taking them.
	wait func(ctx context.Context, d time.Duration) error
}

// sleep is the real wait: a timer, stopped early when ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// send runs the retry loop around one request: the attempt is a closure; the
// loop checks ctx each pass, stops on any error that is not a
// recoverableError, doubles the wait (with jitter) up to MaxBackoff, honours
// Retry-After, and never waits past the context's deadline. It returns the
// number of attempts made, and whether body may still be read by an attempt
// the transport has not finished with (then the caller must not reuse it).
func (t *transport) send(ctx context.Context, body []byte, where string) (attempts int, bodyHeld bool, err error) {
	attempt := func() error {
		err, held := t.attempt(ctx, body)
		bodyHeld = bodyHeld || held
		return err
	}
	var last error
	backoff := t.cfg.MinBackoff
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return n - 1, bodyHeld, &DeadlineError{Attempts: n - 1, Last: last, Err: err}
		}
		err := attempt()
		if err == nil {
			return n, bodyHeld, nil
		}
		var rec *recoverableError
		if !errors.As(err, &rec) {
			return n, bodyHeld, err
		}
		last = rec.err
		if cerr := ctx.Err(); cerr != nil {
			return n, bodyHeld, &DeadlineError{Attempts: n, Last: last, Err: cerr}
		}
		if n >= t.cfg.MaxAttempts {
			return n, bodyHeld, &RetriesExhaustedError{Attempts: n, Last: last}
		}
		// Equal jitter: half fixed, half random, so retries of many senders
		// spread out but never come sooner than half the backoff.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, t.cfg.MaxBackoff)
		if rec.retryAfter > wait {
			wait = rec.retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && t.now().Add(wait).After(dl) {
			return n, bodyHeld, &DeadlineError{Attempts: n, Wait: wait, Last: last, Err: context.DeadlineExceeded}
		}
		t.log.Warn("remote write attempt failed, retrying", "request", where, "attempt", n, "wait_ms", wait.Milliseconds(), "err", last.Error())
		if err := t.wait(ctx, wait); err != nil {
			return n, bodyHeld, &DeadlineError{Attempts: n, Last: last, Err: err}
		}
	}
}

// attempt makes one HTTP request and classifies its outcome at the source:
// nil on 2xx; *recoverableError for network errors, timeouts, 429 and 5xx
// (and a signer that could not sign); *RejectedError for other statuses.
// held reports that the transport had not closed the body when the attempt
// ended.
func (t *transport) attempt(ctx context.Context, body []byte) (err error, held bool) {
	actx, cancel := context.WithTimeout(ctx, t.cfg.RequestTimeout)
	defer cancel()
	// The body is a buffer the shard reuses for its next request, and the
	// transport may still read it after Do returns (an early answer): wait
	// until the transport closes it, as http.RoundTripper promises to, but
	// never past the attempt's own deadline.
	sb := &sentBody{Reader: bytes.NewReader(body), closed: make(chan struct{})}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.cfg.URL, sb)
	if err != nil {
		return fmt.Errorf("build request: %w", err), false
	}
	req.ContentLength = int64(len(body))
	// A signing RoundTripper hashes the body from here, leaving Body to the
	// transport.
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	h := req.Header
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	h.Set("User-Agent", t.cfg.UserAgent)
	resp, err := t.http.Do(req)
	if err != nil {
		return &recoverableError{err: fmt.Errorf("POST %s: %w", req.URL.Redacted(), err)}, !sb.wait(actx)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		_ = resp.Body.Close()
		held = !sb.wait(actx)
	}()
	if resp.StatusCode/100 == 2 {
		return nil, false
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	switch {
	case resp.StatusCode/100 == 5 && isTooOld(string(msg)):
		t.log.Error("remote write refused as too old by the store, not retrying", "status", resp.StatusCode, "body", string(msg))
		return &RejectedError{StatusCode: resp.StatusCode, Body: string(msg)}, false
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		se := &StatusError{StatusCode: resp.StatusCode, Body: string(msg), RetryAfter: t.retryAfter(resp.Header.Get("Retry-After"))}
		return &recoverableError{err: se, retryAfter: se.RetryAfter}, false
	default:
		// The spec: senders must not interpret the message and should log
		// it as is. (Its cause, rejected or conflict, reads it only to say
		// whether a replay can help.)
		t.log.Error("remote write rejected by the store, not retrying", "status", resp.StatusCode, "body", string(msg))
		return &RejectedError{StatusCode: resp.StatusCode, Body: string(msg)}, false
	}
}

// sentBody is a request body that says when the transport is done with it.
type sentBody struct {
	*bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// wait waits until the transport closed the body or ctx ended, and reports
// whether the body was closed.
func (b *sentBody) wait(ctx context.Context) bool {
	select {
	case <-b.closed:
		return true
	case <-ctx.Done():
		select {
		case <-b.closed:
			return true
		default:
			return false
		}
	}
}

// maxRetryAfter caps a server's Retry-After, in either form.
const maxRetryAfter = 24 * time.Hour

// retryAfter parses Retry-After: delay-seconds or an HTTP date, at most
// maxRetryAfter. Invalid or past values give zero (the backoff applies).
func (t *transport) retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if ht, err := http.ParseTime(v); err == nil {
		if d := ht.Sub(t.now()); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
