package source

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Unreadable is a source that could not be read to its end: it could not
// be read at all, or what it holds is no input (empty, corrupt or truncated
// gzip, neither JSON nor frames). Such a source gave no records, except a
// raw object whose read failed part way through when streamed: the records
// before the failure were given (and written) already. Err names the
// source and says why.
type Unreadable struct {
	Source string
	Err    error
}

// Tally is what Records went through.
type Tally struct {
	Sources    int          // inputs tried, the unreadable ones included
	Unreadable []Unreadable // in the order they were met
}

// Records calls fn with every record of every input that args name, in
// order (Walk, then Each). Every input is tried: one that cannot be read
// or holds no input is listed in the Tally, and the others still go, so a
// bad object in the middle of an s3:// prefix does not keep the objects
// after it from being replayed. An argument that names nothing to read is
// listed the same way. Only the end of ctx and an error of fn stop it;
// that error is returned as it is, with the Tally so far.
func (o *Opener) Records(ctx context.Context, args []string, fn func(Record) error) (Tally, error) {
	var t Tally
	var stop error // fn's error, told apart from Each's own
	each := func(name string, r io.Reader, size int64, err error) error {
		t.Sources++
		read := &countingReader{r: r}
		if err == nil {
			// Raw objects are streamed (eachInput), the rest read whole.
			err = o.eachInput(name, read, size, func(r Record) error {
				stop = fn(r)
				return stop
			})
		}
		if stop != nil {
			return stop
		}
		if err != nil {
			t.Unreadable = append(t.Unreadable, Unreadable{Source: name, Err: err})
		}
		if o.Done != nil {
			o.Done(name, int(read.n))
		}
		return nil
	}
	for _, arg := range args {
		err := o.walkInputs(ctx, arg, each)
		if stop != nil {
			return t, stop
		}
		if cerr := ctx.Err(); cerr != nil {
			return t, cerr
		}
		if err != nil {
			t.Sources++
			t.Unreadable = append(t.Unreadable, Unreadable{Source: arg, Err: err})
		}
	}
	return t, nil
}

// Err returns an error saying how many sources could not be read, or nil
// when all could; the sources are listed by the caller.
func (t Tally) Err() error {
	if len(t.Unreadable) == 0 {
		return nil
	}
	return &UnreadableError{Unreadable: len(t.Unreadable), Sources: t.Sources}
}

// UnreadableError says that some sources gave no records.
type UnreadableError struct{ Unreadable, Sources int }

func (e *UnreadableError) Error() string {
	if e.Sources == 1 {
		return "the source could not be read (see above)"
	}
	return fmt.Sprintf("%d of %d sources could not be read (listed above); the others were read", e.Unreadable, e.Sources)
}

// ErrSomeUnreadable is the cause of an *UnreadableError, for errors.Is.
var ErrSomeUnreadable = errors.New("sources could not be read")

func (e *UnreadableError) Unwrap() error { return ErrSomeUnreadable }

// countingReader counts the bytes read through it, for Opener.Done.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
