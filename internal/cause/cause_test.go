package cause_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cwstream/cwstream/internal/cause"
)

type limitErr struct{}

func (limitErr) Error() string      { return "limit" }
func (limitErr) Cause() cause.Cause { return cause.Limit }

// outer says its own cause although it wraps a context error.
type outer struct{ err error }

func (o outer) Error() string      { return "outer: " + o.err.Error() }
func (o outer) Unwrap() error      { return o.err }
func (o outer) Cause() cause.Cause { return cause.RetriesExhausted }

func TestOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want cause.Cause
	}{
		{"nil", nil, cause.None},
		{"a typed error, wrapped", fmt.Errorf("record 2: %w", limitErr{}), cause.Limit},
		{"a wrapped error with a cause", cause.Wrap(cause.Malformed, errors.New("frame 1 at byte 3: bad")), cause.Malformed},
		{"the outermost cause wins over a context error inside", outer{context.DeadlineExceeded}, cause.RetriesExhausted},
		{"a bare deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), cause.Deadline},
		{"a cancellation", context.Canceled, cause.Deadline},
		{"anything else", errors.New("sigv4: no"), cause.Write},
	}
	for _, c := range cases {
		if got := cause.Of(c.err); got != c.want {
			t.Errorf("%s: Of(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
	if cause.Wrap(cause.Malformed, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

// Every cause has its own label, and only None has none.
func TestLabels(t *testing.T) {
	seen := map[string]cause.Cause{}
	for c := cause.None; c <= cause.Write; c++ {
		l := c.String()
		if (l == "") != (c == cause.None) {
			t.Errorf("cause %d: label %q", c, l)
		}
		if prev, dup := seen[l]; dup {
			t.Errorf("causes %d and %d share label %q", prev, c, l)
		}
		seen[l] = c
	}
}

// Conflict and TooOld are what a replay repeats; every other cause may pass
// once its condition is gone.
func TestReplayable(t *testing.T) {
	for c := cause.None; c <= cause.Write; c++ {
		want := c != cause.Conflict && c != cause.TooOld
		if got := c.Replayable(); got != want {
			t.Errorf("%s: Replayable() = %v, want %v", c, got, want)
		}
	}
}
