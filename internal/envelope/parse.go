package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// Event is a Firehose data-transformation event: what the handler reads
// of it. Other fields (deliveryStreamArn, region, a record's
// approximateArrivalTimestamp and metadata) are skipped unread.
type Event struct {
	InvocationID string
	// Records in the order of the event. Duplicate record ids are all kept:
	// Firehose expects an answer for each.
	Records []Record
}

// Record is one record of an Event.
type Record struct {
	ID string
	// Data is the base64-decoded data. It aliases the Parser's buffer and is
	// valid until the next Parse; its capacity ends with it, so appending to
	// it never overwrites the next record.
	Data []byte
	// Offset is the byte offset in the event JSON where this record's value
	// starts.
	Offset int
	// Err is set when the record is listed but unusable: data that is not
	// base64, a field of the wrong type, no recordId. It is a *RecordError.
	Err error
}

// Causes of a RecordError, for errors.Is.
var (
	ErrNotObject = errors.New("record is not a JSON object")
	ErrNoID      = errors.New("record has no recordId")
	ErrWrongType = errors.New("field has the wrong JSON type")
	ErrBadBase64 = errors.New("data is not valid base64")
)

// RecordError says which record, where and why a record is unusable.
type RecordError struct {
	Index  int    // 0-based position in the records array
	Field  string // JSON field at fault, "" for the record itself
	Offset int    // byte offset in the event JSON of the fault
	Err    error  // one of the Err* causes above, possibly wrapped
}

func (e *RecordError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("record %d at byte %d: %v", e.Index, e.Offset, e.Err)
	}
	return fmt.Sprintf("record %d: %s at byte %d: %v", e.Index, e.Field, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// EnvelopeError is returned by Parse when the event as a whole is unusable.
type EnvelopeError struct {
	Offset int // byte offset in the event JSON
	Err    error
}

func (e *EnvelopeError) Error() string {
	return fmt.Sprintf("firehose event: at byte %d: %v", e.Offset, e.Err)
}

func (e *EnvelopeError) Unwrap() error { return e.Err }

// ErrNoRecords is the cause when the event has no records array.
var ErrNoRecords = errors.New("no records array")

// Parser parses events. The zero value is ready to use. A Parser reuses its
// buffers from one Parse to the next and is not safe for concurrent use.
type Parser struct {
	in      bytes.Buffer // wraps the input so that the decoder reads it in place
	dec     jsontext.Decoder
	opts    []jsontext.Options
	data    []byte // decoded record data of all records
	ids     []byte // unquoted record ids of all records, made one string at the end
	scratch []byte // unquoted keys and escaped data strings
	spans   []span
	ev      Event
}

// span locates one record's id and data in Parser.ids and Parser.data.
type span struct {
	idStart, idEnd     int
	dataStart, dataEnd int
	hasData            bool
}

// Parse parses one event. The returned Event, its Records and their Data are
// owned by the Parser and valid until the next Parse. The error, an
// *EnvelopeError, is only for an unusable envelope; problems of single
// records are reported in their Record.Err.
//
// Like encoding/json, it ignores unknown fields, matches field names
// case-insensitively, lets the last of duplicate fields win, replaces
// invalid UTF-8 in strings with U+FFFD and rejects data after the event.
func (p *Parser) Parse(b []byte) (*Event, error) {
	if p.opts == nil {
		// Duplicate names are legal for encoding/json (last wins), and the
		// check would cost a set per object; invalid UTF-8 is replaced,
		// as encoding/json does, instead of failing the whole event.
		p.opts = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}
	}
	p.in = *bytes.NewBuffer(b)
	p.dec.Reset(&p.in, p.opts...)
	p.ev = Event{Records: p.ev.Records[:0]}
	p.ids = p.ids[:0]
	p.spans = p.spans[:0]
	// Decoded base64 is at most 3/4 of the event, so sizing once means the
	// buffer never moves while records are decoded into it.
	if n := base64.StdEncoding.DecodedLen(len(b)); cap(p.data) < n {
		p.data = make([]byte, 0, n)
	}
	p.data = p.data[:0]

	if err := p.parseEvent(); err != nil {
		// Do not hand out half-filled records.
		p.ev.Records = p.ev.Records[:0]
		return nil, err
	}

	// One string for all ids instead of one allocation per record.
	ids := string(p.ids)
	for i := range p.ev.Records {
		r, s := &p.ev.Records[i], p.spans[i]
		r.ID = ids[s.idStart:s.idEnd]
		if s.hasData {
			r.Data = p.data[s.dataStart:s.dataEnd:s.dataEnd]
		}
	}
	return &p.ev, nil
}

func (p *Parser) parseEvent() error {
	if k := p.dec.PeekKind(); k != '{' {
		if k == 0 {
			_, err := p.dec.ReadValue()
			return p.envErr(err)
		}
		if k == 'n' {
			// encoding/json reads null as an event without records.
			return &EnvelopeError{Offset: p.nextOffset(), Err: fmt.Errorf("event is a JSON null: %w", ErrNoRecords)}
		}
		return &EnvelopeError{Offset: p.nextOffset(), Err: fmt.Errorf("event is a JSON %v, want an object", k)}
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return p.envErr(err)
	}
	start := p.nextOffset()
	seenRecords := false
	for p.dec.PeekKind() != '}' {
		name, err := p.readName()
		if err != nil {
			return p.envErr(err)
		}
		switch {
		case fieldIs(name, "invocationId"):
			err = p.readMetaString(&p.ev.InvocationID, "invocationId")
		case fieldIs(name, "records"):
			switch k := p.dec.PeekKind(); k {
			case '[':
				// A second records array replaces the first, as in encoding/json.
				p.ev.Records, p.spans, p.ids, p.data = p.ev.Records[:0], p.spans[:0], p.ids[:0], p.data[:0]
				err = p.readRecords()
				seenRecords = true
			case 'n':
				_, err = p.dec.ReadValue()
				p.ev.Records, p.spans, p.ids, p.data = p.ev.Records[:0], p.spans[:0], p.ids[:0], p.data[:0]
				seenRecords = false
			case 0:
				_, err = p.dec.ReadValue()
			default:
				err = &EnvelopeError{Offset: p.nextOffset(), Err: fmt.Errorf("records is a JSON %v, want an array: %w", k, ErrNoRecords)}
			}
		default:
			err = p.dec.SkipValue()
		}
		if err != nil {
			return p.envErr(err)
		}
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return p.envErr(err)
	}
	after := p.nextOffset()
	if _, err := p.dec.ReadToken(); err != io.EOF {
		if err == nil {
			return &EnvelopeError{Offset: after, Err: errors.New("data after the event object")}
		}
		return p.envErr(err)
	}
	if !seenRecords {
		return &EnvelopeError{Offset: start, Err: ErrNoRecords}
	}
	return nil
}

func (p *Parser) readRecords() error {
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	for i := 0; p.dec.PeekKind() != ']'; i++ {
		off := p.nextOffset()
		p.ev.Records = append(p.ev.Records, Record{Offset: off})
		p.spans = append(p.spans, span{})
		rec, sp := &p.ev.Records[i], &p.spans[i]
		switch k := p.dec.PeekKind(); k {
		case '{':
			if err := p.readRecord(i, rec, sp); err != nil {
				return err
			}
		case 0:
			_, err := p.dec.ReadValue()
			return err
		default:
			if _, err := p.dec.ReadValue(); err != nil {
				return err
			}
			rec.Err = &RecordError{Index: i, Offset: off, Err: fmt.Errorf("%w: a JSON %v", ErrNotObject, k)}
		}
	}
	_, err := p.dec.ReadToken()
	return err
}

// readRecord reads one record object. Record faults go to rec.Err (the
// first one wins); only syntax errors are returned.
func (p *Parser) readRecord(i int, rec *Record, sp *span) error {
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	var recErr error
	fail := func(field string, off int, err error) {
		if recErr == nil {
			recErr = &RecordError{Index: i, Field: field, Offset: off, Err: err}
		}
	}
	hasID := false
	for p.dec.PeekKind() != '}' {
		name, err := p.readName()
		if err != nil {
			return err
		}
		switch {
		case fieldIs(name, "recordId"):
			off, k := p.nextOffset(), p.dec.PeekKind()
			v, err := p.dec.ReadValue()
			if err != nil {
				return err
			}
			switch k {
			case '"':
				sp.idStart = len(p.ids)
				p.ids = appendUnquote(p.ids, v)
				sp.idEnd = len(p.ids)
				hasID = true
			case 'n': // encoding/json leaves the field as it was
			default:
				fail("recordId", off, fmt.Errorf("%w: a JSON %v, want a string", ErrWrongType, k))
			}
		case fieldIs(name, "data"):
			off, k := p.nextOffset(), p.dec.PeekKind()
			v, err := p.dec.ReadValue()
			if err != nil {
				return err
			}
			switch k {
			case '"':
				if bad, err := p.decodeData(v, sp); err != nil {
					fail("data", off+bad, err)
				}
			case 'n': // encoding/json sets a []byte to nil
				sp.hasData = false
			default:
				fail("data", off, fmt.Errorf("%w: a JSON %v, want a base64 string", ErrWrongType, k))
			}
		default:
			if err := p.dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	if !hasID {
		fail("", rec.Offset, ErrNoID)
	}
	rec.Err = recErr
	return nil
}

// decodeData base64-decodes the quoted JSON string v into p.data. On error
// it returns the offset of the bad byte relative to v's start.
func (p *Parser) decodeData(v []byte, sp *span) (int, error) {
	src := v[1 : len(v)-1]
	escaped := bytes.IndexByte(src, '\\') >= 0
	if escaped {
		// JSON may escape any byte ("\/" is common); rare, so no fast path.
		p.scratch = appendUnquote(p.scratch[:0], v)
		src = p.scratch
	}
	start := len(p.data)
	need := start + base64.StdEncoding.DecodedLen(len(src))
	if need > cap(p.data) {
		// Cannot happen for a single event (see Parse), but duplicated
		// fields must not be able to make us write out of bounds.
		grown := make([]byte, start, need+need/2)
		copy(grown, p.data)
		p.data = grown
	}
	n, err := base64.StdEncoding.Decode(p.data[start:need], src)
	if err != nil {
		bad := 0
		var ce base64.CorruptInputError
		if errors.As(err, &ce) && !escaped {
			bad = 1 + int(ce) // past the opening quote
		}
		return bad, fmt.Errorf("%w: %v", ErrBadBase64, err)
	}
	p.data = p.data[:start+n]
	sp.dataStart, sp.dataEnd, sp.hasData = start, start+n, true
	return 0, nil
}

// readName reads an object member name, unquoted into p.scratch when it has
// escapes. The result is valid until the next read.
func (p *Parser) readName() ([]byte, error) {
	v, err := p.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	p.scratch = appendUnquote(p.scratch[:0], v)
	return p.scratch, nil
}

func (p *Parser) readMetaString(dst *string, field string) error {
	off, k := p.nextOffset(), p.dec.PeekKind()
	v, err := p.dec.ReadValue()
	if err != nil {
		return err
	}
	switch k {
	case '"':
		p.scratch = appendUnquote(p.scratch[:0], v)
		*dst = string(p.scratch)
	case 'n':
	default:
		return &EnvelopeError{Offset: off, Err: fmt.Errorf("%s is a JSON %v, want a string", field, k)}
	}
	return nil
}

// nextOffset is the byte offset where the next value starts: the decoder's
// offset is the end of the previous token, so skip the separators after it.
func (p *Parser) nextOffset() int {
	off := int(p.dec.InputOffset())
	for _, c := range p.dec.UnreadBuffer() {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' && c != ':' {
			break
		}
		off++
	}
	return off
}

// envErr turns a decoder error into an *EnvelopeError with its offset.
func (p *Parser) envErr(err error) error {
	var ee *EnvelopeError
	if errors.As(err, &ee) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return &EnvelopeError{Offset: int(se.ByteOffset), Err: err}
	}
	return &EnvelopeError{Offset: int(p.dec.InputOffset()), Err: err}
}

// appendUnquote unquotes a JSON string the decoder has already validated;
// the only error left is invalid UTF-8, which has been replaced with U+FFFD
// just as encoding/json does.
func appendUnquote(dst, quoted []byte) []byte {
	dst, _ = jsontext.AppendUnquote(dst, quoted)
	return dst
}

// fieldIs matches a member name the way encoding/json does: exactly, else
// case-insensitively.
func fieldIs(name []byte, field string) bool {
	return string(name) == field || (len(name) >= len(field) && bytes.EqualFold(name, []byte(field)))
}
