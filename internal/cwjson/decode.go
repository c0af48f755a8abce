package cwjson

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/wire"
)

// Bounds on one object, as in the OpenTelemetry decoder: CloudWatch allows
// 30 dimensions and 20 additional statistics, so far more is not a metric
// stream, and nesting in unknown values is bounded so that no input can
// exhaust the stack.
const (
	maxDimensions = 64
	maxQuantiles  = 64
	maxDepth      = 32
)

// maxTimestampMillis keeps timestamp × 1e6 inside a uint64 (year 2248).
const maxTimestampMillis = 1 << 43

// periodMillis is the length of a metric-stream period: one minute, as every
// recorded OpenTelemetry data point spans (see the package doc).
const periodMillis = 60_000

// Keys is every top-level key of the json output format; the detector
// recognises a record by its first one.
var Keys = []string{"metric_stream_name", "account_id", "region", "namespace", "metric_name", "dimensions", "timestamp", "value", "unit"}

// Decoder decodes records. It keeps one cw.Update whose slices are reused
// between data points, so a Decoder is not safe for concurrent use; the zero
// value is ready.
type Decoder struct {
	u cw.Update
	s scanner
}

// Decode calls fn with the data point of every object of data, in order:
// one a line, blank lines skipped. Objects that follow each other on one
// line are read too: Firehose concatenates records without a separator, so
// in an S3 object a record that does not end in a newline runs into the
// next. The Update and its strings are only valid during the call and
// alias data (a string with an escape is a copy).
//
// Malformed input yields a *wire.Error naming the line and byte offset; the
// data points of the lines before the bad one have already been passed to
// fn. An error from fn stops decoding and is returned as is.
func (d *Decoder) Decode(data []byte, fn func(*cw.Update) error) error {
	for off, line := 0, 0; off < len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		d.s = scanner{b: data[:end], i: off, line: line, lineOff: off}
		for d.s.ws(); d.s.i < end; d.s.ws() {
			if err := d.object(); err != nil {
				return err
			}
			if err := fn(&d.u); err != nil {
				return err
			}
		}
		off = end + 1
	}
	return nil
}

// object reads one object into d.u. Errors about the whole object point at
// its start, which is not the line's when objects share a line.
func (d *Decoder) object() error {
	s, u := &d.s, &d.u
	start := s.i
	*u = cw.Update{Dimensions: u.Dimensions[:0], Percentiles: u.Percentiles[:0]}
	var have struct{ ns, name, ts, value bool }
	var ts float64
	err := s.members(func(key string, _ int) (err error) {
		switch key {
		case "metric_stream_name":
			_, err = s.str() // the stream names no series
		case "unit":
			u.Unit, err = s.str()
		case "account_id":
			u.AccountID, err = s.str()
		case "region":
			u.Region, err = s.str()
		case "namespace":
			u.Namespace, err = s.str()
			have.ns = true
		case "metric_name":
			u.MetricName, err = s.str()
			have.name = true
		case "dimensions":
			err = d.dimensions()
		case "timestamp":
			ts, err = s.number()
			have.ts = true
		case "value":
			err = d.value()
			have.value = true
		default:
			err = s.skip(0)
		}
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case !have.ns:
		return s.errorf(start, "no namespace")
	case !have.name:
		return s.errorf(start, "no metric_name")
	case !have.ts:
		return s.errorf(start, "no timestamp")
	case !have.value:
		return s.errorf(start, "no value")
	}
	if ts <= 0 || ts > maxTimestampMillis || ts != math.Trunc(ts) {
		return s.errorf(start, "timestamp %v is not a time in epoch milliseconds", ts)
	}
	ms := uint64(ts)
	u.StartUnixNano, u.EndUnixNano = ms*1e6, (ms+periodMillis)*1e6
	return nil
}

func (d *Decoder) dimensions() error {
	s, u := &d.s, &d.u
	return s.members(func(name string, at int) error {
		v, err := s.str()
		if err != nil {
			return err
		}
		if len(u.Dimensions) == maxDimensions {
			return s.errorf(at, "more than %d dimensions; CloudWatch allows 30", maxDimensions)
		}
		u.Dimensions = append(u.Dimensions, cw.Dimension{Name: name, Value: v})
		return nil
	})
}

func (d *Decoder) value() error {
	s, u := &d.s, &d.u
	return s.members(func(stat string, at int) error {
		if s.peek() == 'n' { // null: no value for this statistic
			return s.literal("null")
		}
		v, err := s.number()
		if err != nil {
			return err
		}
		switch stat {
		case "count":
			u.Count = v
		case "sum":
			u.Sum = v
		case "min":
			u.Min, u.HasMin = v, true
		case "max":
			u.Max, u.HasMax = v, true
		default:
			q, ok := percentile(stat)
			if !ok {
				return nil // a statistic no series is named for; see the package doc
			}
			if len(u.Percentiles) == maxQuantiles {
				return s.errorf(at, "more than %d percentiles", maxQuantiles)
			}
			u.Percentiles = append(u.Percentiles, cw.Quantile{Q: q, Value: v})
		}
		return nil
	})
}

// percentile reads a pNN statistic name (p99, p99.9) as a quantile in
// (0, 1). The decimal point is moved in the text, not by dividing by 100, so
// that p99.9 is the double nearest 0.999, as the OpenTelemetry formats
// carry it (99.9 / 100 is 0.9990000000000001).
func percentile(stat string) (float64, bool) {
	if len(stat) < 2 || stat[0] != 'p' {
		return 0, false
	}
	whole, frac, _ := strings.Cut(stat[1:], ".")
	if len(whole) == 0 || len(whole) > 2 || len(frac) > 16 || !digits(whole) || !digits(frac) {
		return 0, false
	}
	var buf [24]byte
	d := append(buf[:0], "0."...)
	if len(whole) == 1 {
		d = append(d, '0')
	}
	d = append(append(d, whole...), frac...)
	q, err := strconv.ParseFloat(wire.Alias(d), 64)
	if err != nil || q <= 0 || q >= 1 {
		return 0, false
	}
	return q, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// scanner reads JSON from b[i:]; b ends where the line ends.
type scanner struct {
	b             []byte
	i             int
	line, lineOff int
}

func (s *scanner) errorf(at int, format string, args ...any) *wire.Error {
	return &wire.Error{Format: wire.JSON, Unit: "line", Index: s.line, UnitOffset: s.lineOff, Offset: at, Reason: fmt.Sprintf(format, args...)}
}

// errEnd is the cause when a line ends inside a value.
var errEnd = errors.New("unexpected end of line")

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) expect(c byte) error {
	if s.i >= len(s.b) {
		e := s.errorf(s.i, "want %q: %v", c, errEnd)
		e.Err = errEnd
		return e
	}
	if s.b[s.i] != c {
		return s.errorf(s.i, "want %q, found %q", c, s.b[s.i])
	}
	s.i++
	return nil
}

// key reads a member name and the colon after it.
func (s *scanner) key() (string, error) {
	k, err := s.str()
	if err != nil {
		return "", err
	}
	s.ws()
	if err := s.expect(':'); err != nil {
		return "", err
	}
	s.ws()
	return k, nil
}

// members reads an object, calling fn at each member's value with its name
// and the offset of the name.
func (s *scanner) members(fn func(name string, at int) error) error {
	return s.seq('{', '}', func() error {
		at := s.i
		name, err := s.key()
		if err != nil {
			return err
		}
		return fn(name, at)
	})
}

// seq reads an object or an array: open, items separated by commas, close.
func (s *scanner) seq(open, close byte, item func() error) error {
	if err := s.expect(open); err != nil {
		return err
	}
	for first := true; ; first = false {
		s.ws()
		if s.peek() == close {
			s.i++
			return nil
		}
		if !first {
			if err := s.expect(','); err != nil {
				return err
			}
			s.ws()
		}
		if err := item(); err != nil {
			return err
		}
	}
}

// str reads a string. Without escapes it aliases the input.
func (s *scanner) str() (string, error) {
	start := s.i
	if err := s.expect('"'); err != nil {
		return "", err
	}
	// One pass over the printable ASCII that CloudWatch's names and values
	// almost always are; the first other byte decides.
	j := s.i
	for j < len(s.b) && plain[s.b[j]] {
		j++
	}
	if j < len(s.b) && s.b[j] == '"' {
		v := s.b[s.i:j]
		s.i = j + 1
		return wire.Alias(v), nil
	}
	end := bytes.IndexByte(s.b[j:], '"')
	if end < 0 || bytes.IndexByte(s.b[s.i:j+end], '\\') >= 0 {
		return s.escaped(start) // also reports a string cut short
	}
	v := s.b[s.i : j+end]
	for k, c := range v {
		if c < 0x20 {
			return "", s.errorf(s.i+k, "control character %#x in a string", c)
		}
	}
	if !utf8.Valid(v) {
		return "", s.errorf(start, "string is not valid UTF-8")
	}
	s.i = j + end + 1
	return wire.Alias(v), nil
}

// plain marks the bytes a string holds without a second look: printable
// ASCII other than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escaped reads a string that holds escapes into a new buffer: rare in
// CloudWatch data, so it may allocate.
func (s *scanner) escaped(start int) (string, error) {
	var out []byte
	for j := s.i; j < len(s.b); {
		c := s.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", s.errorf(start, "string is not valid UTF-8")
			}
			s.i = j + 1
			return string(out), nil
		case c < 0x20:
			return "", s.errorf(j, "control character %#x in a string", c)
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(s.b) {
			break
		}
		switch e := s.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := s.unicode(j)
			if n == 0 {
				return "", s.errorf(j, "bad \\u escape")
			}
			out = utf8.AppendRune(out, r)
			j += n
			continue
		default:
			return "", s.errorf(j, "bad escape \\%c", e)
		}
		j += 2
	}
	e := s.errorf(start, "string: %v", errEnd)
	e.Err = errEnd
	return "", e
}

// unicode decodes \uXXXX at b[j:], with a following low surrogate when the
// first is a high one; n is the bytes read, 0 when malformed.
func (s *scanner) unicode(j int) (rune, int) {
	hex := func(at int) (rune, bool) {
		if at+6 > len(s.b) || s.b[at] != '\\' || s.b[at+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(wire.Alias(s.b[at+2:at+6]), 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex(j)
	if !ok {
		return 0, 0
	}
	if r >= 0xd800 && r < 0xdc00 {
		if lo, ok := hex(j + 6); ok && lo >= 0xdc00 && lo < 0xe000 {
			return (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000, 12
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

// number reads a JSON number.
func (s *scanner) number() (float64, error) {
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		if s.i >= len(s.b) {
			e := s.errorf(start, "want a number: %v", errEnd)
			e.Err = errEnd
			return 0, e
		}
		return 0, s.errorf(start, "want a number, found %q", s.b[start])
	}
	if v, ok := exactDecimal(s.b[start:s.i]); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(wire.Alias(s.b[start:s.i]), 64)
	if err != nil {
		return 0, s.errorf(start, "bad number %q", s.b[start:s.i])
	}
	return v, nil
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactDecimal reads the plain decimals CloudWatch writes (-12, 3.0,
// 11.221057) when their digits fit 2^53 and at most 22 of them follow the
// point: then digits / 10^k, both exact, is the correctly rounded value,
// which is strconv's own fast case without its general parsing. Anything
// else (exponents, long mantissas) is left to strconv.ParseFloat.
func exactDecimal(b []byte) (float64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var mant uint64
	frac, digits, dot := 0, 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 || frac >= len(pow10) || (dot && frac == 0) {
		return 0, false
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.errorf(s.i, "want %s", word)
	}
	s.i += len(word)
	return nil
}

// skip reads past any value: members the format may add later.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errorf(s.i, "values nested deeper than %d", maxDepth)
	}
	switch c := s.peek(); c {
	case '"':
		_, err := s.str()
		return err
	case '{':
		return s.members(func(string, int) error { return s.skip(depth + 1) })
	case '[':
		return s.seq('[', ']', func() error { return s.skip(depth + 1) })
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, err := s.number()
		return err
	}
}
