package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/wire"
)

// streamWindow is how much of a raw object is held at a time when it is
// streamed: a few records' worth (MaxRecordBytes each), so that what a
// command holds is bounded by the batch it works on, not by the object (a
// Firehose object is up to 128 MiB; replaying a day of them one after the
// other used to hold each whole, and its copy while it grew). A frame or
// line longer than the window grows it to fit.
const streamWindow = 4 << 20

// peekBytes is how much of an input is read to tell its form before
// deciding to stream it: more than one record, so that the first frame or
// line is whole in it.
const peekBytes = MaxRecordBytes + 64<<10

// eachInput calls fn with every record of one input read from r, as Each
// does with the whole input's bytes. size is r's length when known, else
// -1. A raw object of frames or JSON lines of known size, not gzip, is
// streamed (eachRawStream); anything else is read whole first, as Each
// needs it: gzip (a corrupt or cut gzip shows only at its end, and an
// unreadable source must give no records), events and processing-failed
// lines (JSON documents), and input of unknown size (standard input: the
// size limit is checked before anything is written).
func (o *Opener) eachInput(name string, r io.Reader, size int64, fn func(Record) error) error {
	if size > o.limit() {
		return fmt.Errorf("%s: more than %d bytes: %w", name, o.limit(), ErrTooLarge)
	}
	peek, window := peekBytes, streamWindow
	if o.peek > 0 {
		peek, window = o.peek, o.window
	}
	head := make([]byte, min(int64(peek), max(size, 0)))
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: read: %w", name, err)
	}
	if size < 0 || isGzip(head) || !streamable(head) || int64(n) == size {
		rest, err := o.readAll(name, io.MultiReader(bytes.NewReader(head), r))
		if err != nil {
			return err
		}
		return Each(name, rest, fn)
	}
	return eachRawStream(name, head, r, size, window, fn)
}

// streamable reports whether the start of an input is a raw object that
// can be cut as it is read: JSON lines of the json output format, or
// frames (not starting with '{', which may be an event or
// processing-failed lines that only the whole input tells apart).
func streamable(head []byte) bool {
	form, _, err := detect(head)
	if err != nil || form != Raw {
		return false
	}
	if f, err := decode.Detect(head); err == nil && f == wire.JSON {
		return true
	}
	i := 0
	for i < len(head) && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n') {
		i++
	}
	return i < len(head) && head[i] != '{'
}

// eachRawStream cuts a raw object into records as eachRawRecord does, a
// window at a time: each window ends after the last whole frame or line in
// it, and the rest starts the next. Offsets and lines are the source's.
// Where the framing breaks, the rest of the object (size bytes in all) is
// read whole and goes to the cutter as one window, as it would unstreamed.
func eachRawStream(name string, head []byte, r io.Reader, size int64, window int, fn func(Record) error) error {
	// The object's format, as its start tells it: every window is cut as
	// that format, so that a window starting with a bad frame or line is
	// cut as the whole object would be, not sent whole as one bad record.
	format, ferr := decode.Detect(head)
	text := ferr == nil && format == wire.JSON
	split := func(b []byte, fn func([]byte, int) error) error {
		if ferr != nil {
			return decode.Split(b, MaxRecordBytes, fn)
		}
		return decode.SplitFormat(b, format, MaxRecordBytes, fn)
	}
	buf := make([]byte, len(head), max(window, len(head)))
	copy(buf, head)
	var (
		base, index int
		line        = 1 // of buf[0], for text
		eof         bool
		rest        bool // the framing broke: read to the end
	)
	for {
		for !eof && (rest || len(buf) < cap(buf)) {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return &Error{Source: name, Index: -1, Offset: base + len(buf), Err: fmt.Errorf("read: %w", err)}
			}
		}
		cut := len(buf)
		if !eof {
			var broken bool
			cut, broken = wholeUnits(buf, text, size-int64(base))
			if broken {
				rest = true
				continue
			}
			if cut == 0 { // one frame or line longer than the window
				buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
				continue
			}
		}
		var lines *lineCounter
		if text {
			lines = newLineCounter(buf[:cut])
		}
		err := split(buf[:cut], func(chunk []byte, off int) error {
			rec := Record{Source: name, Index: index, Form: Raw, Data: chunk, Offset: base + off}
			if text {
				rec.Line = line - 1 + lines.at(off)
			}
			index++
			return fn(rec)
		})
		if err != nil || cut == len(buf) && eof {
			return err
		}
		if text {
			line += bytes.Count(buf[:cut], []byte{'\n'})
		}
		base += cut
		buf = buf[:copy(buf, buf[cut:])]
	}
}

// wholeUnits returns the end of the last whole frame (or, for text, line)
// in b, which the rest of the input follows, left bytes of it from b's
// start. broken is true where the framing breaks for a reason other than
// b's end: a length prefix that is no varint though ten bytes follow it,
// or one that claims more than the input holds.
func wholeUnits(b []byte, text bool, left int64) (end int, broken bool) {
	if text {
		return bytes.LastIndexByte(b, '\n') + 1, false
	}
	for off := 0; off < len(b); {
		n, l := protowire.ConsumeVarint(b[off:])
		if l < 0 {
			return off, off+binary.MaxVarintLen64 <= len(b)
		}
		if n > uint64(left-int64(off+l)) {
			return off, true
		}
		if n > uint64(len(b)-off-l) {
			return off, false
		}
		off += l + int(n)
	}
	return len(b), false
}
