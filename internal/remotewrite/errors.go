package remotewrite

import (
	"fmt"
	"strings"
	"time"

	"github.com/cwstream/cwstream/internal/cause"
)

// Reasons of the limit guard (LimitError.Reason), stable strings for logs.
// Whatever the reason, the cause is cause.Limit.
const (
	ReasonInvalidMetricName  = "invalid_metric_name"
	ReasonTooManyLabels      = "too_many_labels"
	ReasonInvalidLabelName   = "invalid_label_name"
	ReasonDuplicateLabelName = "duplicate_label_name"
	ReasonLabelNameTooLong   = "label_name_too_long"
	ReasonLabelValueTooLong  = "label_value_too_long"
	ReasonEmptyLabelValue    = "empty_label_value"
	ReasonInvalidLabelValue  = "invalid_label_value"
)

// Failure is one failed request (or one series the limit guard removed):
// the input samples it carried, as ranges of indices into the slice given
// to Write, and one error that says its own cause (cause.Of).
type Failure struct {
	// Ranges are ascending and do not touch.
	Ranges []Range
	// Err is a *LimitError for a series removed before sending, or a
	// *RequestError wrapping *RejectedError, *RetriesExhaustedError,
	// *DeadlineError, *NotSentError, *PanicError or another error.
	Err error
}

// Range is the input samples [Lo, Hi).
type Range struct{ Lo, Hi int }

// Samples is the number of input samples in f.
func (f *Failure) Samples() int {
	n := 0
	for _, r := range f.Ranges {
		n += r.Hi - r.Lo
	}
	return n
}

// LimitError: the series breaks a limit AMP enforces (or a rule of the
// remote-write spec), so it was removed before sending. Sending it would have
// made AMP reject the whole request.
type LimitError struct {
	// Reason is one of the Reason* constants.
	Reason string
	// Series is the series in PromQL-like notation, name{a="b",…}.
	Series string
	// Detail says what exactly broke the limit.
	Detail string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("series %s removed before sending: %s: %s", e.Series, e.Reason, e.Detail)
}

// Cause is cause.Limit.
func (e *LimitError) Cause() cause.Cause { return cause.Limit }

// RejectedError: the store answered with a 4xx other than 429. Per the spec
// the request is not retried: it would fail the same way.
type RejectedError struct {
	StatusCode int
	// Body is the start of the response body (at most 1 KiB), as is.
	Body string
}

func (e *RejectedError) Error() string {
	switch e.Cause() {
	case cause.Conflict:
		return fmt.Sprintf("the store refused samples it already holds a value for, or holds newer ones (replaying cannot fix this): HTTP %d: %s", e.StatusCode, e.Body)
	case cause.TooOld:
		return fmt.Sprintf("the store accepts no sample this old: older than its newest by more than its out-of-order window (replaying cannot write it): HTTP %d: %s", e.StatusCode, e.Body)
	}
	return fmt.Sprintf("rejected by the store: HTTP %d: %s", e.StatusCode, e.Body)
}

// Cause is cause.TooOld when the store says a sample is older than it
// accepts, cause.Conflict when it says it already holds a different value
// for a sample's series and time, or newer samples than it (it can only
// append); otherwise cause.Rejected. Replaying the record repeats a
// conflict or a too-old sample, so neither may be answered like a
// rejection a fix may cure.
func (e *RejectedError) Cause() cause.Cause {
	body := strings.ToLower(e.Body)
	for _, m := range tooOldMessages {
		if strings.Contains(body, m) {
			return cause.TooOld
		}
	}
	for _, m := range conflictMessages {
		if strings.Contains(body, m) {
			return cause.Conflict
		}
	}
	return cause.Rejected
}

// tooOldMessages are what stores answer for a sample older than they
// accept. Prometheus 2.42 (tsdb/storage errors, answered as is by its
// remote-write receiver): "too old sample" (older than the out-of-order
// window; answered 500, see isTooOld) and "out of bounds" (older than the
// head without a window). Cortex/AMP wrap the same texts ("sample timestamp
// out of bounds", "new sample has timestamp too old").
var tooOldMessages = []string{
	"too old",
	"out of bounds",
}

// conflictMessages are what stores answer (with a 4xx) for a sample that
// conflicts with what they hold. Prometheus 2.42: "out of order sample",
// "duplicate sample for timestamp"; Mimir says "another sample with the
// same timestamp, but a different value" and "another sample with a more
// recent timestamp".
var conflictMessages = []string{
	"out of order sample",
	"duplicate sample for timestamp",
	"same timestamp, but a different value",
	"more recent timestamp",
}

// isTooOld reports whether a 5xx body is Prometheus's "too old sample":
// 2.42's receiver answers it 500 (only out-of-order, out-of-bounds and
// duplicate errors are mapped to 400), yet it is no transient failure, and
// retrying would repeat it until the attempts ran out.
func isTooOld(body string) bool { return strings.Contains(strings.ToLower(body), "too old sample") }

// StatusError is a retryable answer (429 or 5xx). It is the Last error of a
// RetriesExhaustedError or DeadlineError.
type StatusError struct {
	StatusCode int
	// Body is the start of the response body (at most 1 KiB), as is.
	Body string
	// RetryAfter is the server's Retry-After, zero when absent or invalid.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("HTTP %d (retry after %v): %s", e.StatusCode, e.RetryAfter, e.Body)
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Body)
}

// RetriesExhaustedError: every one of Attempts attempts failed with a
// retryable error (network error, timeout, 429 or 5xx); Last is the last one.
type RetriesExhaustedError struct {
	Attempts int
	Last     error
}

func (e *RetriesExhaustedError) Error() string {
	return fmt.Sprintf("retries exhausted after %d attempts: %v", e.Attempts, e.Last)
}

func (e *RetriesExhaustedError) Unwrap() error { return e.Last }

// Cause is cause.RetriesExhausted, even when the last attempt timed out: the
// invocation still had time, the attempts ran out.
func (e *RetriesExhaustedError) Cause() cause.Cause { return cause.RetriesExhausted }

// DeadlineError: the context ended, or the next retry wait would have passed
// its deadline, so the client gave up at once instead of sleeping in vain.
// errors.Is(err, context.DeadlineExceeded) (or context.Canceled) holds.
type DeadlineError struct {
	// Attempts made before giving up.
	Attempts int
	// Wait is the retry wait that would have passed the deadline, zero when
	// the context had already ended.
	Wait time.Duration
	// Last is the last attempt's error, nil when none was made.
	Last error
	// Err is context.DeadlineExceeded or context.Canceled.
	Err error
}

func (e *DeadlineError) Error() string {
	switch {
	case e.Wait > 0:
		return fmt.Sprintf("gave up after %d attempts: next wait %v would pass the deadline (%v); last error: %v", e.Attempts, e.Wait, e.Err, e.Last)
	case e.Last != nil:
		return fmt.Sprintf("gave up after %d attempts: %v; last error: %v", e.Attempts, e.Err, e.Last)
	default:
		return fmt.Sprintf("not attempted: %v", e.Err)
	}
}

// Unwrap returns only the context error: the cause is the deadline, whatever
// the last attempt said.
func (e *DeadlineError) Unwrap() error { return e.Err }

// Cause is cause.Deadline.
func (e *DeadlineError) Cause() cause.Cause { return cause.Deadline }

// NotSentError: the request was not sent because an earlier request of the
// same shard failed for good (see the package doc's ordering rule). It does
// not unwrap to that earlier error: its own cause is "not sent".
type NotSentError struct {
	// After is the failed request, e.g. "shard 1 request 2/5".
	After string
	// Reason is the failed request's error text.
	Reason string
}

func (e *NotSentError) Error() string {
	return fmt.Sprintf("not sent: %s of the same shard failed before it, so sending later samples could break per-series order (%s)", e.After, e.Reason)
}

// Cause is cause.NotSent.
func (e *NotSentError) Cause() cause.Cause { return cause.NotSent }

// RequestError says which request failed and wraps why.
type RequestError struct {
	Shard, Request, Requests int // request is 1-based, of Requests in the shard
	Series, Samples          int
	FirstSeries              string
	Err                      error
}

func (e *RequestError) where() string {
	return fmt.Sprintf("shard %d request %d/%d", e.Shard, e.Request, e.Requests)
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("remote write %s (%d series, %d samples, first %s): %v", e.where(), e.Series, e.Samples, e.FirstSeries, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// recoverableError marks an attempt's error as worth retrying; the retry loop
// finds it with errors.As.
type recoverableError struct {
	err        error
	retryAfter time.Duration
}

func (e *recoverableError) Error() string { return e.err.Error() }
func (e *recoverableError) Unwrap() error { return e.err }

// PanicError: sending a shard panicked (a bug). Its samples are failed so
// that the caller keeps their records; the process goes on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic while sending: %v", e.Value) }

// Cause is cause.Panic.
func (e *PanicError) Cause() cause.Cause { return cause.Panic }
