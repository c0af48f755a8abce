package remotewrite

import (
	"fmt"
	"time"
)

// Limit-guard causes (LimitError.Cause). They are stable strings, fit for a
// metric label.
const (
	CauseInvalidMetricName  = "invalid_metric_name"
	CauseTooManyLabels      = "too_many_labels"
	CauseInvalidLabelName   = "invalid_label_name"
	CauseDuplicateLabelName = "duplicate_label_name"
	CauseLabelNameTooLong   = "label_name_too_long"
	CauseLabelValueTooLong  = "label_value_too_long"
	CauseEmptyLabelValue    = "empty_label_value"
	CauseInvalidLabelValue  = "invalid_label_value"
)

// Failure is one input sample the store did not acknowledge.
type Failure struct {
	// Index is the sample's index in the slice given to Write.
	Index int
	// Err is the cause: a *LimitError for samples removed before sending, a
	// *RequestError (wrapping *RejectedError, *RetriesExhaustedError,
	// *DeadlineError, or another error) for samples of a failed request, or
	// a *RequestError wrapping *NotSentError for samples never sent.
	Err error
}

// LimitError: the series breaks a limit AMP enforces (or a rule of the
// remote-write spec), so it was removed before sending. Sending it would have
// made AMP reject the whole request.
type LimitError struct {
	// Cause is one of the Cause* constants.
	Cause string
	// Series is the series in PromQL-like notation, name{a="b",…}.
	Series string
	// Detail says what exactly broke the limit.
	Detail string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("series %s removed before sending: %s: %s", e.Series, e.Cause, e.Detail)
}

// RejectedError: the store answered with a 4xx other than 429. Per the spec
// the request is not retried: it would fail the same way.
type RejectedError struct {
	StatusCode int
	// Body is the start of the response body (at most 1 KiB), as is.
	Body string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("rejected by the store: HTTP %d: %s", e.StatusCode, e.Body)
}

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
