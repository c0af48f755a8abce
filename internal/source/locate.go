package source

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/cwstream/cwstream/internal/wire"
)

// Locate places err, a failure of the record (decoding its data, or
// writing its samples), in the source the user has, as an *Error.
//
// The decoders say where in the record's data they failed (a *wire.Error).
// For a raw source the record's data is a stretch of the source itself, so
// that offset becomes the source's, and in a text source its line too: the
// message names the byte and line a user finds with an editor or `xxd`, not
// one relative to a record that replay cut out. A record of an event or of
// processing-failed lines was base64 in the source; the message names the
// record where it stands in the source and the offset inside its decoded
// data.
//
// r.Data must still hold the record's data.
func (r Record) Locate(err error) error {
	if err == nil {
		return nil
	}
	at := &Error{Source: r.Source, Index: r.Index, ID: r.ID, Line: r.Line, Offset: r.Offset, Err: err}
	if r.Form == Raw {
		at.Index = -1 // where the object was cut is ours, not the user's
	}
	var we *wire.Error
	if !errors.As(err, &we) {
		return at
	}
	if r.Form != Raw {
		at.Err = &dataError{err: err, at: we, text: locatedText(we, 0, true)}
		return at
	}
	off := min(max(we.Offset, 0), len(r.Data))
	at.Offset = r.Offset + off
	if r.Line > 0 {
		at.Line = r.Line + bytes.Count(r.Data[:off], []byte{'\n'})
	}
	at.Err = &dataError{err: err, at: we, text: locatedText(we, r.Offset, false)}
	return at
}

// dataError is err with the text of its *wire.Error rewritten to name
// offsets in the source; errors.Is and errors.As still see the chain.
type dataError struct {
	err  error
	at   *wire.Error
	text string
}

func (e *dataError) Error() string {
	// The wrappers around a decoder's error only add text in front (the
	// cause's name, say); replace the decoder's own.
	return strings.Replace(e.err.Error(), e.at.Error(), e.text, 1)
}

func (e *dataError) Unwrap() error { return e.err }

// locatedText describes a decoder's error without the offsets that *Error
// already gives: the format, and the frame the failure is in when the
// failure is not at its start. base is the record's offset in the source;
// inData says the offsets are the decoded data's, not the source's.
func locatedText(we *wire.Error, base int, inData bool) string {
	var b strings.Builder
	if inData {
		fmt.Fprintf(&b, "its data, byte %d: ", we.Offset)
	}
	if we.Format != 0 {
		b.WriteString(we.Format.String())
		b.WriteString(": ")
	}
	if we.Unit == "frame" {
		// The frame index is the record's; its offset is what finds it.
		if we.UnitOffset != we.Offset {
			fmt.Fprintf(&b, "in the frame at byte %d: ", base+we.UnitOffset)
		} else if !strings.HasPrefix(we.Reason, "frame") {
			b.WriteString("frame: ")
		}
	}
	if we.Reason != "" {
		b.WriteString(we.Reason)
	} else if we.Err != nil {
		b.WriteString(we.Err.Error())
	}
	return b.String()
}
