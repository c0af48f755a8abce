package cause

import (
	"context"
	"errors"
)

// Cause is why a record (or some of its samples) was not written.
type Cause uint8

// The causes. None is the zero value: nothing failed.
const (
	None Cause = iota
	// Malformed: the record's bytes could not be decoded.
	Malformed
	// Rejected: the store answered 4xx (not 429) to a request with its
	// samples, for a reason a replay may fix once the cause is gone.
	Rejected
	// Conflict: the store refused a sample because it already holds a
	// different value for that series and time, or newer samples of the
	// series than it without an out-of-order window ("out of order
	// sample", "duplicate sample for timestamp"). Replaying the record
	// cannot fix it.
	Conflict
	// TooOld: the sample is older than the store accepts at all (older
	// than its newest sample by more than its out-of-order window: "too
	// old", "out of bounds"). Replaying cannot write it either; the
	// record's newer samples are written without it.
	TooOld
	// RetriesExhausted: 429, 5xx or network errors until the attempts ran
	// out.
	RetriesExhausted
	// Deadline: the time ran out before the samples were written.
	Deadline
	// Limit: a series broke a store limit and was not sent.
	Limit
	// NotSent: an earlier request of the same shard failed, so keeping
	// per-series order held this one back.
	NotSent
	// Panic: a bug; the record is kept for replay.
	Panic
	// Write: any other write failure.
	Write
)

var labels = [...]string{
	None:             "",
	Malformed:        "malformed",
	Rejected:         "rejected",
	Conflict:         "conflict",
	TooOld:           "too_old",
	RetriesExhausted: "retries_exhausted",
	Deadline:         "deadline",
	Limit:            "limit_exceeded",
	NotSent:          "not_sent",
	Panic:            "panic",
	Write:            "write_error",
}

// String is the cause's stable label for logs and metrics; "" for None.
func (c Cause) String() string {
	if int(c) < len(labels) {
		return labels[c]
	}
	return "unknown"
}

// Replayable reports whether replaying a record failed for c can succeed
// once the condition is gone; false for Conflict and TooOld, which a replay
// repeats.
func (c Cause) Replayable() bool { return c != Conflict && c != TooOld }

// Of returns the cause of err: None for nil; the Cause method of the first
// error in its chain that has one; Deadline for a context error; otherwise
// Write.
func Of(err error) Cause {
	if err == nil {
		return None
	}
	var c interface{ Cause() Cause }
	if errors.As(err, &c) {
		return c.Cause()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Deadline
	}
	return Write
}

// Error gives an error a cause it cannot say itself, such as a decoder's
// error, which means Malformed whatever its type.
type Error struct {
	C   Cause
	Err error
}

// Wrap returns err with cause c, or nil for a nil err.
func Wrap(c Cause, err error) error {
	if err == nil {
		return nil
	}
	return &Error{C: c, Err: err}
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }
func (e *Error) Cause() Cause  { return e.C }
