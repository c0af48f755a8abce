package decode

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
	"google.golang.org/protobuf/encoding/protowire"
)

func collect(t testing.TB, data []byte) ([]cw.Update, error) {
	var d Decoder
	return streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(data, fn) })
}

// formats returns one record of each format holding the same updates.
func formats(t testing.TB) (ups []cw.Update, v07, v10, js []byte) {
	v07 = testutil.RealPayload(t, testutil.RealPayloadNames[1])
	ups, err := collect(t, v07)
	if err != nil {
		t.Fatal(err)
	}
	return ups, v07, streamtest.OTel10(ups, 40, streamtest.Nested), streamtest.JSON(ups)
}

func TestDetect(t *testing.T) {
	_, v07, v10, js := formats(t)
	for _, tt := range []struct {
		name string
		data []byte
		want wire.Format
		err  string // substring of the error when want is 0
	}{
		{"0.7", v07, wire.OTel07, ""},
		{"1.0", v10, wire.OTel10, ""},
		{"1.0 flat dimensions", streamtest.OTel10([]cw.Update{{Namespace: "N", MetricName: "M", EndUnixNano: 1}}, 0, streamtest.Flat), wire.OTel10, ""},
		{"json", js, wire.JSON, ""},
		{"json pretty", []byte("\n  {\n  \"metric_stream_name\": \"s\"}"), wire.JSON, ""},
		{"empty", nil, wire.OTel07, ""},
		{"firehose event", []byte(`{"invocationId":"x","records":[]}`), 0, `found a Firehose transformation event (JSON whose first key is "invocationId")`},
		{"processing-failed line", []byte(`{"attemptsMade":1,"rawData":"eA=="}`), 0, "processing-failed line"},
		{"other JSON", []byte(`{"hello":"world"}`), 0, `JSON object whose first key is "hello"`},
		{"JSON array", []byte(`[{"metric_stream_name":"s"}]`), 0, "not an object a line"},
		{"gzip", testutil.Gzip(t, v07), 0, "found gzip data"},
		{"text", []byte("hello world, this is not a payload\n"), 0, `found text starting with "hello world`},
		{"binary", []byte{0x05, 0x01, 0x02}, 0, "frame 0 at offset 0: frame length 5 runs past"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.data)
			if tt.want != 0 {
				if err != nil || got != tt.want {
					t.Fatalf("Detect = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			var we *wire.Error
			if err == nil || !errors.As(err, &we) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Detect = %v, %v; want an error with %q", got, err, tt.err)
			}
		})
	}
}

// A frame of exactly 123 bytes starts with '{' (0x7b) then the tag 0x0a,
// a newline: it is OpenTelemetry, not JSON.
func TestFrameOf123BytesIsNotJSON(t *testing.T) {
	msg := func(pad int) []byte {
		b := func(num protowire.Number, v []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
		}
		attr := b(7, append(b(1, []byte("K")), b(2, b(1, bytes.Repeat([]byte("v"), pad)))...))
		point := append(protowire.AppendFixed64(protowire.AppendTag(nil, 3, protowire.Fixed64Type), 1), attr...)
		metric := append(b(1, []byte("amazonaws.com/N/M")), b(11, b(1, point))...)
		return b(1, b(2, b(2, metric)))
	}
	pad := 1
	for len(msg(pad)) < 123 {
		pad++
	}
	data := append(protowire.AppendVarint(nil, 123), msg(pad)...)
	if data[0] != '{' || data[1] != '\n' || len(data) != 124 {
		t.Fatalf("could not build a 123-byte frame: starts % x, %d bytes", data[:2], len(data))
	}
	if got, err := Detect(data); got != wire.OTel10 || err != nil {
		t.Fatalf("Detect = %v, %v", got, err)
	}
	if ups, err := collect(t, data); err != nil || len(ups) != 1 {
		t.Fatalf("%d updates, err %v", len(ups), err)
	}
}

// Each record is detected on its own: one Decoder reads records of all
// three formats in any order, and each gives the same updates.
func TestDecodeMixed(t *testing.T) {
	ups, v07, v10, js := formats(t)
	var d Decoder
	for _, rec := range [][]byte{js, v07, v10, js, v10, v07} {
		n := 0
		if err := d.Decode(rec, func(u *cw.Update) error {
			w := ups[n]
			if u.Namespace != w.Namespace || u.MetricName != w.MetricName || u.EndUnixNano != w.EndUnixNano || u.Sum != w.Sum || len(u.Dimensions) != len(w.Dimensions) {
				t.Fatalf("update %d: %+v, want %+v", n, u, w)
			}
			n++
			return nil
		}); err != nil || n != len(ups) {
			t.Fatalf("%d updates of %d, err %v", n, len(ups), err)
		}
	}
}

func TestSplit(t *testing.T) {
	ups, v07, v10, js := formats(t)
	for name, data := range map[string][]byte{"0.7": v07, "1.0": v10, "json": js} {
		for _, max := range []int{1, 1000, 70_000, 1 << 30} {
			var joined []byte
			got, chunks := 0, 0
			err := Split(data, max, func(chunk []byte, off int) error {
				chunks++
				if off != len(joined) {
					t.Fatalf("%s max %d: chunk at %d, want %d", name, max, off, len(joined))
				}
				joined = append(joined, chunk...)
				u, err := collect(t, chunk) // every chunk is whole frames or lines
				if err != nil {
					t.Fatalf("%s max %d: chunk at %d: %v", name, max, off, err)
				}
				got += len(u)
				return nil
			})
			if err != nil || !bytes.Equal(joined, data) || got != len(ups) {
				t.Fatalf("%s max %d: err %v, rejoined %v, %d updates of %d", name, max, err, bytes.Equal(joined, data), got, len(ups))
			}
			if max == 1<<30 && chunks != 1 {
				t.Errorf("%s: one chunk expected when everything fits, got %d", name, chunks)
			}
		}
	}
	// A bad length prefix: the good frames come first, the rest as one chunk.
	bad := append(append([]byte{}, v07...), protowire.AppendVarint(nil, 1000)...)
	var last []byte
	lastAt := -1
	_ = Split(bad, 100_000, func(chunk []byte, off int) error {
		if last != nil {
			if _, err := collect(t, last); err != nil {
				t.Errorf("chunk at %d, before the break: %v", lastAt, err)
			}
		}
		last, lastAt = chunk, off
		return nil
	})
	if _, err := collect(t, last); err == nil {
		t.Fatal("the malformed tail should still fail to decode")
	}
	// Good frames must not share a chunk with the break: a replay would fail
	// them with it.
	if lastAt != len(v07) {
		t.Errorf("the malformed chunk starts at %d, want %d (where the framing breaks)", lastAt, len(v07))
	}
}

// A frame or line that does not decode is a chunk of its own: a replay
// fails it alone and writes every good one around it.
func TestSplitIsolatesABadFrameOrLine(t *testing.T) {
	ups, v07, v10, js := formats(t)
	// insert puts bad after half of data's frames or lines.
	insert := func(data []byte, units func([]byte) [][]byte, bad []byte) ([]byte, int) {
		u := units(data)
		var out []byte
		for _, x := range u[:len(u)/2] {
			out = append(out, x...)
		}
		at := len(out)
		out = append(out, bad...)
		for _, x := range u[len(u)/2:] {
			out = append(out, x...)
		}
		return out, at
	}
	frames := func(b []byte) (u [][]byte) {
		for off := 0; off < len(b); {
			_, end, err := wire.NextFrame(b, off)
			if err != nil {
				t.Fatal(err)
			}
			u, off = append(u, b[off:end]), end
		}
		return u
	}
	lines := func(b []byte) [][]byte { return bytes.SplitAfter(b, []byte("\n")) }
	// A frame whose length prefix is right and whose message is cut: field
	// 1 says 5 bytes and 1 follows.
	badFrame := protowire.AppendBytes(nil, []byte{0x0a, 0x05, 0x01})
	badLine := []byte(`{"metric_stream_name":"s","namespace":"AWS/RDS","value":{"sum":oops}}` + "\n")
	for _, tt := range []struct {
		name   string
		data   []byte
		units  func([]byte) [][]byte
		bad    []byte
		reason string
	}{
		{"0.7", v07, frames, badFrame, "frame"},
		{"1.0", v10, frames, badFrame, "frame"},
		{"json", js, lines, badLine, "line"},
	} {
		data, at := insert(tt.data, tt.units, tt.bad)
		for _, max := range []int{1, 70_000, 1 << 30} {
			var joined []byte
			got, failed := 0, 0
			err := Split(data, max, func(chunk []byte, off int) error {
				joined = append(joined, chunk...)
				u, err := collect(t, chunk)
				if err != nil {
					failed++
					if off != at || !bytes.Equal(chunk, tt.bad) {
						t.Errorf("%s max %d: the chunk at %d (%d bytes) fails (%v); want only the bad %s, at %d (%d bytes)",
							tt.name, max, off, len(chunk), err, tt.reason, at, len(tt.bad))
					}
				}
				got += len(u)
				return nil
			})
			if err != nil || !bytes.Equal(joined, data) || got != len(ups) || failed != 1 {
				t.Errorf("%s max %d: err %v, rejoined %v, %d updates of %d, %d failing chunks, want 1",
					tt.name, max, err, bytes.Equal(joined, data), got, len(ups), failed)
			}
		}
	}
}

// A chunk is detected again on its own, so Split cuts only before a line
// or frame that alone reads as the object's format, and only after a chunk
// that holds one: a json line whose first key is not the format's (found
// by FuzzDetect), a blank line, or an OpenTelemetry frame whose data points
// tell no version stays with the chunk before it, a bad chunk included.
func TestSplitCutsWhereTheFormatIsTold(t *testing.T) {
	line := func(first string) string {
		return `{"` + first + `":"s","namespace":"AWS/RDS","metric_name":"M","dimensions":{},"timestamp":1710238500000,"value":{"count":1,"sum":2,"max":2,"min":2},"unit":"None"}` + "\n"
	}
	bad := `{"metric_stream_name":"s","value":{"sum":oops}}` + "\n"
	// An OpenTelemetry frame whose data point has neither labels (0.7) nor
	// attributes (1.0): it decodes in either version and tells neither.
	msg := func(field protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, field, protowire.BytesType), b)
	}
	point := protowire.AppendFixed64(protowire.AppendTag(nil, 3, protowire.Fixed64Type), 1_710_238_560_000_000_000)
	point = protowire.AppendFixed64(protowire.AppendTag(point, 4, protowire.Fixed64Type), 1)
	untold := protowire.AppendBytes(nil, msg(1, msg(2, msg(2, append(msg(1, []byte("m")), msg(11, msg(1, point))...)))))
	v10 := streamtest.OTel10([]cw.Update{{Namespace: "AWS/RDS", MetricName: "M", EndUnixNano: 1_710_238_560_000_000_000, Count: 1, Sum: 2}}, 0, streamtest.Nested)

	for _, tt := range []struct {
		name       string
		units      []string
		chunks     int // every one of them decodes but the one at failAt
		failAt     int // index of the unit the failing chunk starts with; -1 none
		failUnits  int // units in the failing chunk
		dataPoints int // of the chunks that decode
	}{
		{"json, a line starting with another key", []string{line("metric_stream_name"), line("other_key"), line("metric_stream_name")}, 2, -1, 0, 3},
		{"json, after a bad line: another key, a blank line", []string{line("metric_stream_name"), bad, line("other_key"), "\n", line("metric_stream_name")}, 3, 1, 3, 2},
		{"json, a blank line before a bad one", []string{"\n", bad, line("metric_stream_name")}, 2, 0, 2, 1},
		{"1.0, a first frame that tells no version", []string{string(untold), string(v10), string(v10)}, 2, -1, 0, 3},
	} {
		var data []byte
		var offs []int
		for _, u := range tt.units {
			offs = append(offs, len(data))
			data = append(data, u...)
		}
		chunks, points := 0, 0
		err := Split(data, 1, func(chunk []byte, off int) error {
			chunks++
			u, err := collect(t, chunk)
			switch {
			case err == nil:
				points += len(u)
			case tt.failAt < 0 || off != offs[tt.failAt] || len(chunk) != offs[tt.failAt+tt.failUnits-1]+len(tt.units[tt.failAt+tt.failUnits-1])-off:
				t.Errorf("%s: the chunk at byte %d (%d bytes) fails alone: %v", tt.name, off, len(chunk), err)
			}
			return nil
		})
		if err != nil || chunks != tt.chunks || points != tt.dataPoints {
			t.Errorf("%s: %v, %d chunks decoding to %d data points; want %d chunks, %d data points", tt.name, err, chunks, points, tt.chunks, tt.dataPoints)
		}
	}
}

func FuzzDetect(f *testing.F) {
	_, v07, v10, js := formats(f)
	f.Add(v07[:2048])
	f.Add(v10[:2048])
	f.Add(js[:2048])
	if b, err := os.ReadFile(testutil.Testdata(f, "payloads", "event.json")); err == nil {
		f.Add(b[:min(len(b), 1024)])
	}
	f.Add([]byte("{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		format, derr := Detect(data)
		var d Decoder
		err := d.Decode(data, func(*cw.Update) error { return nil })
		for _, e := range []error{derr, err} {
			var we *wire.Error
			if e != nil && (!errors.As(e, &we) || we.Offset < 0 || we.Offset > len(data)) {
				t.Fatalf("error %v (%T) is not a *wire.Error inside the input", e, e)
			}
		}
		if derr == nil && err != nil {
			var we *wire.Error
			if errors.As(err, &we) && we.Format != format {
				t.Fatalf("detected %v, decoded as %v: %v", format, we.Format, err)
			}
		}
		// Split loses and repeats nothing, a chunk fails only for a frame
		// or line of its own that does not decode, and when data decodes
		// whole, so does every chunk, to the same data points.
		var joined []byte
		whole, parts := 0, 0
		werr := d.Decode(data, func(*cw.Update) error { whole++; return nil })
		if serr := Split(data, 64, func(chunk []byte, off int) error {
			if off != len(joined) || len(chunk) == 0 {
				t.Fatalf("chunk of %d bytes at %d after %d bytes", len(chunk), off, len(joined))
			}
			joined = append(joined, chunk...)
			var c Decoder
			if err := c.Decode(chunk, func(*cw.Update) error { parts++; return nil }); err != nil && derr == nil && allUnitsDecode(chunk, format) {
				t.Fatalf("the chunk at %d fails, every frame or line of it decodes: %v", off, err)
			}
			return nil
		}); serr != nil || !bytes.Equal(joined, data) {
			t.Fatalf("Split: %v; rejoined %v", serr, bytes.Equal(joined, data))
		}
		if werr == nil && parts != whole {
			t.Fatalf("the chunks decode to %d data points, the whole to %d", parts, whole)
		}
	})
}

// allUnitsDecode reports whether every frame or line of chunk decodes as
// format f.
func allUnitsDecode(chunk []byte, f wire.Format) bool {
	var d Decoder
	nop := func(*cw.Update) error { return nil }
	for off := 0; off < len(chunk); {
		var end int
		if f == wire.JSON {
			end = len(chunk)
			if i := bytes.IndexByte(chunk[off:], '\n'); i >= 0 {
				end = off + i + 1
			}
			if d.json.Decode(chunk[off:end], nop) != nil {
				return false
			}
		} else {
			var err *wire.Error
			if _, end, err = wire.NextFrame(chunk, off); err != nil || d.otlp.Decode(chunk[off:end], f, nop) != nil {
				return false
			}
		}
		off = end
	}
	return true
}

// BenchmarkSplit is what cutting a raw object costs a replay: every frame
// or line is decoded once on the way (B/s is of the object).
func BenchmarkSplit(b *testing.B) {
	_, v07, v10, js := formats(b)
	for name, data := range map[string][]byte{"0.7": v07, "1.0": v10, "json": js} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Split(data, 1000<<10, func([]byte, int) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
