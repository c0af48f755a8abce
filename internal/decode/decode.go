package decode

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/cwjson"
	"github.com/cwstream/cwstream/internal/otlp"
	"github.com/cwstream/cwstream/internal/wire"
)

// ErrUnrecognised is the cause of a record that holds none of the formats.
var ErrUnrecognised = errors.New("not a metric-stream record")

// Detect tells which output format data holds. On failure the error is a
// *wire.Error: for binary data, where its framing or protobuf shape breaks
// (frame, offset, what); for anything else, one wrapping ErrUnrecognised
// that says what the bytes look like.
func Detect(data []byte) (wire.Format, error) {
	if isJSONFormat(data) {
		return wire.JSON, nil
	}
	v, err := otlp.Version(data)
	if err == nil {
		return v, nil
	}
	what, binary := found(data)
	if binary {
		return 0, err
	}
	return 0, &wire.Error{Offset: 0, Reason: fmt.Sprintf("%v: neither JSON lines of the json output format nor OpenTelemetry frames: %s", ErrUnrecognised, what),
		Err: ErrUnrecognised}
}

// isJSONFormat reports whether data starts with an object whose first key
// is one of the json output format's.
func isJSONFormat(data []byte) bool {
	i := skipBlank(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	key, ok := firstKey(data[i:])
	return ok && slices.Contains(cwjson.Keys, key)
}

func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// firstKey returns the first member name of the object b starts with, when
// it is a plain string without escapes. The name aliases b.
func firstKey(b []byte) (string, bool) {
	i := skipBlank(b, 1)
	if i >= len(b) || b[i] != '"' {
		return "", false
	}
	end := bytes.IndexAny(b[i+1:], "\"\\\n")
	if end < 0 || b[i+1+end] != '"' {
		return "", false
	}
	return wire.Alias(b[i+1 : i+1+end]), true
}

// found describes what data holds, for the error of a record that is none
// of the formats; binary is true when it looks like neither text nor
// gzip, and so is best described by where its OpenTelemetry framing breaks.
func found(data []byte) (what string, binary bool) {
	i := skipBlank(data, 0)
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		return "found gzip data (a record must hold the stream's data uncompressed)", false
	case i < len(data) && data[i] == '{':
		if key, ok := firstKey(data[i:]); ok {
			switch key {
			case "records", "invocationId", "deliveryStreamArn":
				return fmt.Sprintf("found a Firehose transformation event (JSON whose first key is %q), not a record's data", key), false
			case "rawData", "attemptsMade", "arrivalTimestamp", "errorCode":
				return fmt.Sprintf("found a Firehose processing-failed line (JSON whose first key is %q), not a record's data", key), false
			}
			return fmt.Sprintf("found a JSON object whose first key is %q", key), false
		}
	case i < len(data) && (data[i] == '[' || data[i] == '"'):
		return "found JSON that is not an object a line: " + quoteStart(data[i:]), false
	}
	if printable(data) {
		return "found text starting with " + quoteStart(data), false
	}
	return "", true
}

// printable reports whether the first bytes of b are valid UTF-8 text.
func printable(b []byte) bool {
	cut := len(b) > 64
	b = b[:min(len(b), 64)]
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			// A rune cut by the limit is still text; one cut by the end of
			// the data (a lone 0xfc: a length prefix cut short) is not.
			return cut && len(b) < utf8.UTFMax
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		b = b[n:]
	}
	return true
}

func quoteStart(b []byte) string {
	const n = 40
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// Decoder detects each record's format and decodes it. It is not safe for
// concurrent use; the zero value is ready.
type Decoder struct {
	otlp otlp.Decoder
	json cwjson.Decoder
}

// Decode calls fn with every data point of data, in order, after telling
// data's format. The Update and its strings are only valid during the call
// and alias data. Malformed or unrecognised input yields a *wire.Error; the
// data points before the bad frame or line have already been passed to fn.
// An error from fn stops decoding and is returned as is.
func (d *Decoder) Decode(data []byte, fn func(*cw.Update) error) error {
	f, err := Detect(data)
	if err != nil {
		return err
	}
	if f == wire.JSON {
		return d.json.Decode(data, fn)
	}
	return d.otlp.Decode(data, f, fn)
}

// Split cuts data (a raw S3 object: concatenated frames, or JSON lines)
// into chunks of whole frames or whole lines, each at most limit bytes
// where it can be (see below), and calls fn with each chunk and its offset in
// data. A raw object can be far larger than a Firehose record (at most
// 1000 KiB); splitting it lets a replay send it through the same path as
// live records.
//
// A chunk is decoded on its own, its format detected again, so each chunk
// must read as data does: a cut is made only before a frame or line that
// alone is detected as data's format (a json line that starts with a key of
// the format, an OpenTelemetry frame whose data points tell the version),
// and only after a chunk that holds one. Other frames and lines stay with
// the chunk before them, which can then outgrow limit.
//
// Each frame or line is decoded on the way, so that a bad one cannot take
// good ones down with it: a frame or line that does not decode starts a
// chunk of its own (with the frames or lines before it if they tell no
// format, as they would fail alone), for the decoder to report again with
// its offset, which ends before the next frame or line that may start a
// chunk. Where the framing breaks, or the format is not recognised, the
// rest of data from there goes out as one last chunk (with the frames
// before it if they tell no format).
func Split(data []byte, limit int, fn func(chunk []byte, offset int) error) error {
	f, err := Detect(data)
	if err != nil {
		return fn(data, 0)
	}
	return SplitFormat(data, f, limit, fn)
}

// SplitFormat is Split for data known to be of format f: a part of an
// object whose format its start told, read a window at a time. Detecting
// each part again would fail where a part starts with a frame or line that
// does not decode, and send the whole part as one bad chunk, good frames
// and all.
func SplitFormat(data []byte, f wire.Format, limit int, fn func(chunk []byte, offset int) error) error {
	var d Decoder
	nop := func(*cw.Update) error { return nil }
	// next returns the end of the frame or line at off, and whether it
	// decodes; end is -1 where the framing breaks.
	next := func(off int) (end int, good bool) {
		if f == wire.JSON {
			end = len(data)
			if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
				end = off + i + 1
			}
			return end, d.json.Decode(data[off:end], nop) == nil
		}
		if _, end, ferr := wire.NextFrame(data, off); ferr == nil {
			return end, d.otlp.Decode(data[off:end], f, nop) == nil
		}
		return -1, false
	}
	var (
		start int  // of the chunk being gathered
		bad   bool // it holds a frame or line that does not decode
		told  bool // it holds one that alone is detected as f
	)
	emit := func(end int) error {
		if end == start {
			return nil
		}
		err := fn(data[start:end], start)
		start = end
		return err
	}
	for off := 0; off < len(data); {
		end, good := next(off)
		if end < 0 {
			if told || bad {
				if err := emit(off); err != nil {
					return err
				}
			}
			return emit(len(data))
		}
		switch {
		case !good && !bad:
			// A chunk that tells no format would fail alone too: its
			// frames or lines go with the bad one.
			if told {
				if err := emit(off); err != nil {
					return err
				}
			}
			bad, told = true, false
		case good && (bad || !told || end-start > limit) && startsChunk(data[off:end], f):
			if bad || end-start > limit && told {
				if err := emit(off); err != nil {
					return err
				}
				bad = false
			}
			told = true
		}
		off = end
	}
	return emit(len(data))
}

// startsChunk reports whether a chunk may start with unit: whether unit
// alone is detected as format f.
func startsChunk(unit []byte, f wire.Format) bool {
	g, err := Detect(unit)
	return err == nil && g == f
}
