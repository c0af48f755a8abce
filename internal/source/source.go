package source

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/wire"
)

// Form is what an input holds.
type Form int

// The forms of input. The zero Form is unknown.
const (
	Raw Form = iota + 1
	FirehoseEvent
	ProcessingFailed
)

func (f Form) String() string {
	switch f {
	case Raw:
		return "raw"
	case FirehoseEvent:
		return "firehose-event"
	case ProcessingFailed:
		return "processing-failed"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// Record is one record of an input.
type Record struct {
	Source string // file name, "-" (stdin) or s3://bucket/key
	Index  int    // 0-based record index within Source
	ID     string // Firehose recordId when known
	Form   Form
	// Data holds the record's bytes (OpenTelemetry frames or JSON lines of
	// the json output format; package decode tells which). It is valid only during
	// the callback that receives it.
	Data []byte
	// Offset is the byte offset of the record in the decompressed source.
	Offset int
	// Line is the 1-based line of the source the record starts on when the
	// source is text (JSON lines, an event, processing-failed lines); 0 for
	// binary frames.
	Line int
	// Err is set when the record could not be extracted (bad base64, bad
	// JSON line); Data is then empty. It is an *Error.
	Err error
	// ErrorCode and ErrorMessage are Firehose's reasons, from
	// processing-failed lines.
	ErrorCode, ErrorMessage string
}

// Causes, for errors.Is.
var (
	ErrEmpty       = errors.New("empty input")
	ErrUnknownJSON = errors.New("JSON that is neither a Firehose event (records) nor processing-failed lines (rawData)")
	ErrNotFrames   = errors.New("neither gzip, JSON nor varint-length-delimited frames")
	ErrTooLarge    = errors.New("too large")
	ErrBadLine     = errors.New("bad processing-failed line")
	ErrBadBase64   = errors.New("rawData is not valid base64")
)

// MaxRecordBytes is the largest record Firehose accepts: "The maximum size
// of the data blob, before base64-encoding, is 1,000 KiB"
// (https://docs.aws.amazon.com/firehose/latest/APIReference/API_Record.html).
// A raw object is cut into records no larger than this where it can be.
const MaxRecordBytes = 1000 << 10

// MaxInflatedBytes caps what gzip input may expand to, so that a small
// malicious object cannot exhaust memory.
const MaxInflatedBytes = 1 << 30

// Error locates a failure in a source: the source, the record when it is
// one of an event or of processing-failed lines, the 1-based line when the
// source is text, and the byte offset in the decompressed source.
type Error struct {
	Source string
	Index  int    // record index in an event or processing-failed lines; -1 otherwise
	ID     string // the record's Firehose recordId, when known
	Line   int    // 1-based line in a text source; 0 for binary
	Offset int    // byte offset in the decompressed source
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	b.WriteString(": ")
	if e.Index >= 0 {
		fmt.Fprintf(&b, "record %d", e.Index)
		if e.ID != "" {
			fmt.Fprintf(&b, " (id %s)", e.ID)
		}
		b.WriteString(" ")
	}
	b.WriteString("at ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, ", e.Line)
	}
	fmt.Fprintf(&b, "byte %d: %v", e.Offset, e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Detect tells what b holds, looking through gzip.
func Detect(b []byte) (Form, error) {
	b, err := unwrap(b)
	if err != nil {
		return 0, &Error{Source: "input", Index: -1, Err: err}
	}
	form, off, err := detect(b)
	if err != nil {
		return 0, &Error{Source: "input", Index: -1, Offset: off, Err: err}
	}
	return form, nil
}

// Each detects what b holds and calls fn for each of its records, in order.
// A Raw input is cut into records of whole frames or lines, each at most
// MaxRecordBytes where it can be and a bad frame or line in one of its own
// (decode.Split): the same records whichever command reads them, so what
// dryrun shows and cost bills is what replay writes. Records that cannot be extracted are passed
// with Err set, and the walk goes on; an error of fn stops it and is
// returned as it is. The error returned otherwise is an *Error naming
// name.
func Each(name string, b []byte, fn func(Record) error) error {
	b, err := unwrap(b)
	if err != nil {
		return &Error{Source: name, Index: -1, Err: err}
	}
	form, off, err := detect(b)
	if err != nil {
		return &Error{Source: name, Index: -1, Offset: off, Err: err}
	}
	switch form {
	case Raw:
		return eachRawRecord(name, b, fn)
	case FirehoseEvent:
		return eachEventRecord(name, b, fn)
	default:
		return eachFailedLine(name, b, fn)
	}
}

// eachRawRecord cuts a raw object into records. The cut is made by package
// decode, which knows where frames and lines end and which ones decode.
func eachRawRecord(name string, b []byte, fn func(Record) error) error {
	lines := newLineCounter(b)
	if f, err := decode.Detect(b); err != nil || f != wire.JSON {
		lines = nil // binary frames, or unrecognised: no lines to count
	}
	index := 0
	return decode.Split(b, MaxRecordBytes, func(chunk []byte, off int) error {
		rec := Record{Source: name, Index: index, Form: Raw, Data: chunk, Offset: off, Line: lines.at(off)}
		index++
		return fn(rec)
	})
}

// lineCounter tells the 1-based line of increasing offsets of one text,
// counting each newline once.
type lineCounter struct {
	b       []byte
	off     int // counted up to here
	newline int // newlines before off
}

func newLineCounter(b []byte) *lineCounter { return &lineCounter{b: b} }

// at returns the line off is on; 0 for a nil counter. Offsets must not
// decrease.
func (c *lineCounter) at(off int) int {
	if c == nil {
		return 0
	}
	off = min(off, len(c.b))
	if off > c.off {
		c.newline += bytes.Count(c.b[c.off:off], []byte{'\n'})
		c.off = off
	}
	return c.newline + 1
}

func eachEventRecord(name string, b []byte, fn func(Record) error) error {
	var p envelope.Parser
	ev, err := p.Parse(b)
	if err != nil {
		var ee *envelope.EnvelopeError
		if errors.As(err, &ee) {
			return &Error{Source: name, Index: -1, Offset: ee.Offset, Err: ee.Err}
		}
		return &Error{Source: name, Index: -1, Err: err}
	}
	lines := newLineCounter(b)
	for i, r := range ev.Records {
		rec := Record{Source: name, Index: i, ID: r.ID, Form: FirehoseEvent, Data: r.Data, Offset: r.Offset, Line: lines.at(r.Offset)}
		if r.Err != nil {
			off, cause := r.Offset, r.Err
			var re *envelope.RecordError
			if errors.As(r.Err, &re) {
				// The RecordError's own text repeats the record and offset
				// that Error prints; keep only the field and the cause.
				off, cause = re.Offset, re.Err
				if re.Field != "" {
					cause = fmt.Errorf("%s: %w", re.Field, re.Err)
				}
			}
			rec.Data = nil
			rec.Err = &Error{Source: name, Index: i, ID: r.ID, Line: newLineCounter(b).at(off), Offset: off, Err: cause}
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// failedLine is one line Firehose writes under processing-failed/.
type failedLine struct {
	RawData      *string `json:"rawData"`
	ErrorCode    string  `json:"errorCode"`
	ErrorMessage string  `json:"errorMessage"`
	RecordID     string  `json:"recordId"`
}

// eachFailedLine splits processing-failed JSON lines. This is the CLI's
// replay path, not the Lambda's, so encoding/json is fast enough; a bad
// line is reported and the others go on.
func eachFailedLine(name string, b []byte, fn func(Record) error) error {
	index, lineNo := 0, 0
	var buf []byte
	for off := 0; off < len(b); {
		lineNo++
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += off
		}
		line := b[off:end]
		start := off
		off = end + 1
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		start += bytes.Index(line, trimmed)
		rec := Record{Source: name, Index: index, Form: ProcessingFailed, Offset: start, Line: lineNo}
		index++
		var fl failedLine
		switch err := json.Unmarshal(trimmed, &fl); {
		case err != nil:
			at := start
			var se *json.SyntaxError
			if errors.As(err, &se) {
				at += int(se.Offset)
			}
			rec.Err = &Error{Source: name, Index: rec.Index, Line: lineNo, Offset: at, Err: fmt.Errorf("%w: %v", ErrBadLine, err)}
		case fl.RawData == nil:
			rec.Err = &Error{Source: name, Index: rec.Index, Line: lineNo, Offset: start, Err: fmt.Errorf("%w: no rawData", ErrBadLine)}
		default:
			rec.ID, rec.ErrorCode, rec.ErrorMessage = fl.RecordID, fl.ErrorCode, fl.ErrorMessage
			if need := base64.StdEncoding.DecodedLen(len(*fl.RawData)); cap(buf) < need {
				buf = make([]byte, need)
			}
			n, err := base64.StdEncoding.Decode(buf[:cap(buf)], []byte(*fl.RawData))
			if err != nil {
				at := start
				var ce base64.CorruptInputError
				// The decoded string's index matches the raw line's only
				// without JSON escapes; otherwise name the line.
				if i := bytes.Index(trimmed, []byte(*fl.RawData)); errors.As(err, &ce) && i >= 0 {
					at += i + int(ce)
				}
				rec.Err = &Error{Source: name, Index: rec.Index, ID: rec.ID, Line: lineNo, Offset: at, Err: fmt.Errorf("%w: %v", ErrBadBase64, err)}
			} else {
				rec.Data = buf[:n]
			}
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// detect tells the form of decompressed input; on error it also returns
// the offset the error is about.
func detect(b []byte) (Form, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrEmpty
	}
	// The json output format's lines are a record's data, as frames are:
	// one detector (package decode) tells them from events and failed lines.
	if f, err := decode.Detect(b); err == nil && f == wire.JSON {
		return Raw, 0, nil
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	if i < len(b) && b[i] == '{' {
		form, off, jsonErr := detectJSON(b)
		if jsonErr == nil {
			return form, 0, nil
		}
		if !isSyntax(jsonErr) {
			return 0, off, jsonErr // JSON, but not ours: say which
		}
		// JSON lines whose first line is broken: let the next good line
		// tell, so that the bad line is reported as a record.
		if form, off, err := detectLines(b); form != 0 || err != nil {
			return form, off, err
		}
		// Not JSON after all: a raw object whose first frame is 123
		// bytes long starts with '{' too.
		if _, err := checkFrames(b); err == nil {
			return Raw, 0, nil
		}
		return 0, off, jsonErr
	}
	// Good frames followed by a broken one are still a raw object (cut
	// short, say): the frame decoder reports the break after decoding what
	// came before it. Only a broken first frame means it is not one.
	if off, err := checkFrames(b); err != nil && off == 0 {
		return 0, off, err
	}
	return Raw, 0, nil
}

// detectJSON reads the top-level names of the first JSON object until one
// tells the form. Names come early (records after three short fields), so
// a 6 MB event is not read through.
func detectJSON(b []byte) (Form, int, error) {
	d := jsontext.NewDecoder(bytes.NewBuffer(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := d.ReadToken(); err != nil {
		return 0, int(d.InputOffset()), err
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return 0, syntaxOffset(err, d), err
		}
		switch tok.String() {
		case "records":
			return FirehoseEvent, 0, nil
		case "rawData":
			return ProcessingFailed, 0, nil
		}
		if err := d.SkipValue(); err != nil {
			return 0, syntaxOffset(err, d), err
		}
	}
	return 0, 0, ErrUnknownJSON
}

// detectLines tries detectJSON on each line; it returns the first answer
// that is not a syntax error, or nothing.
func detectLines(b []byte) (Form, int, error) {
	for off := 0; off < len(b); {
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += off
		}
		line := b[off:end]
		if t := bytes.TrimLeft(line, " \t\r"); len(t) > 0 && t[0] == '{' {
			form, at, err := detectJSON(line)
			if err == nil || !isSyntax(err) {
				return form, off + at, err
			}
		}
		off = end + 1
	}
	return 0, 0, nil
}

func isSyntax(err error) bool {
	var se *jsontext.SyntacticError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}

func syntaxOffset(err error, d *jsontext.Decoder) int {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return int(se.ByteOffset)
	}
	return int(d.InputOffset())
}

// FrameError says where the length-delimited framing of a raw input breaks.
type FrameError struct {
	Offset int    // where the frame's length prefix starts
	Reason string // what is wrong with it
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("%v: frame at byte %d: %s", ErrNotFrames, e.Offset, e.Reason)
}

func (e *FrameError) Unwrap() error { return ErrNotFrames }

// checkFrames walks the varint length prefixes: a raw object is exactly a
// sequence of frames. It does not decode them (package decode does).
func checkFrames(b []byte) (int, error) {
	for off := 0; off < len(b); {
		_, end, err := wire.NextFrame(b, off)
		if err != nil {
			return off, &FrameError{Offset: off, Reason: err.Reason}
		}
		off = end
	}
	return 0, nil
}

// unwrap removes up to two layers of gzip (Firehose compresses the object,
// and a copied or re-uploaded object may be compressed again).
func unwrap(b []byte) ([]byte, error) {
	for range 2 {
		if !isGzip(b) {
			break
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, MaxInflatedBytes+1))
		if err != nil {
			return nil, fmt.Errorf("gzip: after %d bytes: %w", len(out), err)
		}
		if len(out) > MaxInflatedBytes {
			return nil, fmt.Errorf("gzip: inflates past %d bytes: %w", MaxInflatedBytes, ErrTooLarge)
		}
		b = out
	}
	return b, nil
}

func isGzip(b []byte) bool { return len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }
