package grafana

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// RetryPolicy bounds how a provisioning run retries a step that failed for
// a reason that may pass: a Grafana 5xx or 429, a DNS or connection error,
// a timeout, or a workspace that is not ACTIVE yet. Other 4xx answers and
// malformed answers are never retried.
type RetryPolicy struct {
	// Attempts is the most tries of one step.
	Attempts int
	// Base and Cap shape the capped exponential backoff: before try n+1 the
	// run waits a uniformly random time in [0, min(Cap, Base·2^(n-1))]
	// ("full jitter", so many provisioners do not retry in step).
	Base, Cap time.Duration
	// Budget is the most a whole Sync or Remove waits between tries. It
	// keeps the run well inside the custom resource's timeout (300 s, the
	// handler answers 10 s early): with 120 s of waiting at most, 170 s are
	// left for a dozen calls of at most 30 s each, which is more than one
	// bad call and all the good ones need. A run also never starts a wait
	// that would end past its context's deadline.
	Budget time.Duration
}

// DefaultRetryPolicy is the policy of NewProvisioner.
var DefaultRetryPolicy = RetryPolicy{Attempts: 8, Base: time.Second, Cap: 15 * time.Second, Budget: 120 * time.Second}

// workspaceNotReadyError says the workspace cannot be provisioned yet.
type workspaceNotReadyError struct{ status, endpoint string }

func (e *workspaceNotReadyError) Error() string {
	if e.endpoint == "" {
		return fmt.Sprintf("workspace is %s and has no endpoint yet (is it still being created?)", e.status)
	}
	return fmt.Sprintf("workspace is %s, not ACTIVE", e.status)
}

// retryable reports whether err may pass on its own. ctx's own end is
// final; a client timeout is not.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status == http.StatusTooManyRequests || apiErr.Status >= 500
	}
	var notReady *workspaceNotReadyError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var urlErr *url.Error
	switch {
	case errors.As(err, &notReady), errors.As(err, &dnsErr), errors.As(err, &opErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.As(err, &urlErr):
		// The transport failed (the answer never came); a request that
		// could not be built is not a *url.Error.
		return urlErr.Timeout() || errors.Is(err, context.DeadlineExceeded)
	}
	return false
}

// retrier retries the steps of one Sync or Remove within one budget.
type retrier struct {
	p    *Provisioner
	left time.Duration
}

func (p *Provisioner) newRetrier() *retrier { return &retrier{p: p, left: p.retry.Budget} }

// do runs step until it succeeds, fails for good, or the attempts, the
// budget or the context's deadline run out; the error then says which.
func (r *retrier) do(ctx context.Context, what string, step func() error) error {
	pol := r.p.retry
	for attempt := 1; ; attempt++ {
		err := step()
		if err == nil || !retryable(ctx, err) {
			return err
		}
		if attempt >= pol.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		limit := pol.Base << (attempt - 1)
		if limit > pol.Cap || limit <= 0 {
			limit = pol.Cap
		}
		wait := r.p.jitter(limit)
		if wait > r.left {
			return fmt.Errorf("%w (gave up after %d attempts: the run's %s retry budget is spent)", err, attempt, pol.Budget)
		}
		if dl, ok := ctx.Deadline(); ok && dl.Sub(r.p.now()) <= wait {
			return fmt.Errorf("%w (gave up after %d attempts: the deadline is nearer than the next wait)", err, attempt)
		}
		r.left -= wait
		r.p.log.Warn("grafana: retrying", "step", what, "attempt", attempt, "wait", wait, "error", err)
		if err := r.p.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: waiting to retry: %w", what, err)
		}
	}
}

// fullJitter is a uniform duration in [0, max].
func fullJitter(max time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(max) + 1))
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
