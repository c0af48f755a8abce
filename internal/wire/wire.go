package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// Format is a metric stream's output format (PutMetricStream OutputFormat).
// The zero Format is unknown.
type Format int

// The output formats of a CloudWatch metric stream.
const (
	OTel07 Format = iota + 1 // opentelemetry0.7
	OTel10                   // opentelemetry1.0
	JSON                     // json
)

// Formats lists every format, in the order PutMetricStream documents them.
var Formats = []Format{OTel07, OTel10, JSON}

func (f Format) String() string {
	switch f {
	case OTel07:
		return "OpenTelemetry 0.7"
	case OTel10:
		return "OpenTelemetry 1.0"
	case JSON:
		return "JSON"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// OutputFormat is the format's name in PutMetricStream and CloudFormation.
func (f Format) OutputFormat() string {
	switch f {
	case OTel07:
		return "opentelemetry0.7"
	case OTel10:
		return "opentelemetry1.0"
	case JSON:
		return "json"
	}
	return ""
}

// Error describes malformed input: in which format, which frame (or JSON
// line) and where in the record. Offsets count bytes from the start of the
// record the decoder was given.
type Error struct {
	Format     Format // the format the record was decoded as; 0 when none was recognised
	Unit       string // "frame" or "line"; empty when the failure is the record's
	Index      int    // 0-based index of the bad frame or line
	UnitOffset int    // byte offset where that frame or line starts
	Offset     int    // byte offset of the problem itself
	Reason     string
	Err        error // underlying cause, if any
}

func (e *Error) Error() string {
	prefix := "" // no format: the record was not recognised as one
	if e.Format != 0 {
		prefix = e.Format.String() + ": "
	}
	if e.Unit == "" {
		return fmt.Sprintf("%sat byte %d: %s", prefix, e.Offset, e.Reason)
	}
	if e.Offset == e.UnitOffset {
		return fmt.Sprintf("%s%s %d at offset %d: %s", prefix, e.Unit, e.Index, e.UnitOffset, e.Reason)
	}
	return fmt.Sprintf("%s%s %d at offset %d: byte %d: %s", prefix, e.Unit, e.Index, e.UnitOffset, e.Offset, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// NextFrame reads the frame whose length prefix starts at data[off:]: it
// returns the frame's content and the offset just past it. A prefix that is
// malformed or claims more bytes than remain is an error whose Offset is off;
// the caller adds the format and frame index.
func NextFrame(data []byte, off int) (msg []byte, end int, err *Error) {
	n, l := protowire.ConsumeVarint(data[off:])
	if l < 0 {
		return nil, off, &Error{Unit: "frame", UnitOffset: off, Offset: off,
			Reason: fmt.Sprintf("length prefix: %v", protowire.ParseError(l)), Err: protowire.ParseError(l)}
	}
	start := off + l
	if left := len(data) - start; n > uint64(left) {
		return nil, off, &Error{Unit: "frame", UnitOffset: off, Offset: off,
			Reason: fmt.Sprintf("frame length %d runs past the end of the record (%d bytes left)", n, left)}
	}
	end = start + int(n)
	return data[start:end], end, nil
}

// Reader reads the protobuf fields of one frame, every length checked
// against what is left; its errors are *Error naming the format, the frame
// and the byte offset. The zero value is not useful: set Format, and Frame
// and FrameOffset before each frame.
type Reader struct {
	Format             Format
	Frame, FrameOffset int
}

// Errorf returns an *Error about the byte at the record offset at.
func (r *Reader) Errorf(at int, err error, format string, args ...any) *Error {
	return &Error{Format: r.Format, Unit: "frame", Index: r.Frame, UnitOffset: r.FrameOffset, Offset: at,
		Reason: fmt.Sprintf(format, args...), Err: err}
}

// Field is one decoded protobuf field. For the bytes wire type, Val holds
// the content and VAt its record offset; for fixed64 and varint, U64.
type Field struct {
	Num protowire.Number
	Typ protowire.Type
	Val []byte
	U64 uint64
	At  int // record offset of the field's tag
	VAt int // record offset of Val
}

// Next reads the field at b[*pos:], whose record offset is base+*pos, and
// advances *pos past it.
func (r *Reader) Next(b []byte, pos *int, base int, f *Field) error {
	// Nearly every field of a metric stream has a one-byte tag (field
	// numbers 1 to 15) and is either fixed64 or bytes shorter than 128:
	// read those here without the general path's calls. Anything else,
	// including every malformed input, takes the general path, which
	// reports it.
	if p := *pos; p+1 < len(b) && b[p] < 0x80 && b[p] >= 8 {
		tag := b[p]
		switch protowire.Type(tag & 7) {
		case protowire.BytesType:
			if n := int(b[p+1]); n < 0x80 && n <= len(b)-p-2 {
				f.Num, f.Typ, f.At = protowire.Number(tag>>3), protowire.BytesType, base+p
				f.Val, f.VAt = b[p+2:p+2+n], base+p+2
				*pos = p + 2 + n
				return nil
			}
		case protowire.Fixed64Type:
			if p+9 <= len(b) {
				f.Num, f.Typ, f.At = protowire.Number(tag>>3), protowire.Fixed64Type, base+p
				f.U64 = binary.LittleEndian.Uint64(b[p+1 : p+9])
				*pos = p + 9
				return nil
			}
		}
	}
	return r.next(b, pos, base, f)
}

// next is Next's general path.
func (r *Reader) next(b []byte, pos *int, base int, f *Field) error {
	at := base + *pos
	num, typ, n := protowire.ConsumeTag(b[*pos:])
	if n < 0 {
		return r.Errorf(at, protowire.ParseError(n), "field tag: %v", protowire.ParseError(n))
	}
	*pos += n
	f.Num, f.Typ, f.At = num, typ, at
	rest := b[*pos:]
	var m int
	switch typ {
	case protowire.BytesType:
		var v []byte
		v, m = protowire.ConsumeBytes(rest)
		if m >= 0 {
			f.Val, f.VAt = v, base+*pos+(m-len(v))
		}
	case protowire.Fixed64Type:
		f.U64, m = protowire.ConsumeFixed64(rest)
	case protowire.VarintType:
		f.U64, m = protowire.ConsumeVarint(rest)
	default:
		m = protowire.ConsumeFieldValue(num, typ, rest)
	}
	if m < 0 {
		return r.Errorf(at, protowire.ParseError(m), "field %d: %v", num, protowire.ParseError(m))
	}
	*pos += m
	return nil
}

// NextMessage advances *pos to the next field num of b, which must be a
// length-delimited submessage, and returns its content and record offset;
// other fields are skipped. ok is false at the end of b.
func (r *Reader) NextMessage(b []byte, pos *int, base int, num protowire.Number, what string) (v []byte, at int, ok bool, err error) {
	var f Field
	for *pos < len(b) {
		if err := r.Next(b, pos, base, &f); err != nil {
			return nil, 0, false, err
		}
		if f.Num != num {
			continue
		}
		if err := r.Want(&f, protowire.BytesType, what); err != nil {
			return nil, 0, false, err
		}
		return f.Val, f.VAt, true, nil
	}
	return nil, 0, false, nil
}

// Want checks a known field's wire type, as the official decoders do.
func (r *Reader) Want(f *Field, typ protowire.Type, what string) error {
	if f.Typ != typ {
		return r.Errorf(f.At, nil, "%s (field %d) has wire type %d, want %d", what, f.Num, f.Typ, typ)
	}
	return nil
}

// Str returns a string field's bytes as a string aliasing the input, after
// checking its wire type (Want) and the UTF-8 proto3 requires of string
// fields: an invalid label value would otherwise make the store reject a
// whole write request later.
func (r *Reader) Str(f *Field, what string) (string, error) {
	if err := r.Want(f, protowire.BytesType, what); err != nil {
		return "", err
	}
	if !ValidUTF8(f.Val) {
		return "", r.Errorf(f.VAt, nil, "%s is not valid UTF-8", what)
	}
	return Alias(f.Val), nil
}

// ValidUTF8 is utf8.Valid, cheaper for the short ASCII strings (label
// names and values) that make up most of a record.
func ValidUTF8(b []byte) bool {
	if len(b) < 16 {
		for _, c := range b {
			if c >= utf8.RuneSelf {
				return utf8.Valid(b)
			}
		}
		return true
	}
	return utf8.Valid(b)
}

// Alias returns b as a string sharing its memory: b must stay unchanged
// while the string is used. Decoders hand out such strings so that a data
// point costs no copy of its names and values.
func Alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
