package source

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// A raw object larger than the window is streamed: its records tile it,
// name their place in the file, and decode to what the records of the
// whole object (Each) decode to, bad frames and lines failing alike.
func TestRecordsStreamed(t *testing.T) {
	read := func(elem ...string) []byte {
		b, err := os.ReadFile(testutil.Testdata(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var frames, lines []byte
	for i := range 3 {
		for _, f := range []string{"ecs.bin", "rds.bin", "alb.bin", "multi.bin"} {
			frames = append(frames, read("payloads", f)...)
		}
		for range 40 {
			lines = append(lines, read("payloads", "json-format.jsonl")...)
		}
		if i == 1 {
			frames = append(frames, read("payloads", "bad", "bad-protobuf.bin")...)
			lines = append(lines, read("payloads", "bad", "missing-timestamp.jsonl")...)
		}
	}
	framesCut := append(bytes.Clone(frames), read("payloads", "bad", "length-past-end.bin")...)
	// A length prefix that is no varint, with frames after it.
	framesBroken := append(append(read("payloads", "multi.bin"), read("payloads", "ecs.bin")...), bytes.Repeat([]byte{0xff}, 11)...)
	framesBroken = append(framesBroken, frames...)
	for _, tc := range []struct {
		name   string
		data   []byte
		text   bool
		window int
	}{
		{"frames with a bad one", frames, false, 16 << 10},
		{"frames ending in a frame cut short", framesCut, false, 16 << 10},
		{"frames broken in the middle", framesBroken, false, 16 << 10},
		{"frames longer than the window", append(read("payloads", "single.bin"), frames...), false, 2 << 10},
		{"JSON lines with a bad one", lines, true, 16 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "object")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			o := &Opener{window: tc.window, peek: tc.window * 3 / 4}
			var streamed []Record
			tally, err := o.Records(context.Background(), []string{path}, func(r Record) error {
				r.Data = bytes.Clone(r.Data)
				streamed = append(streamed, r)
				return nil
			})
			if err != nil || len(tally.Unreadable) != 0 {
				t.Fatalf("Records: %v, %+v", err, tally)
			}
			whole, err := collect(t, path, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			// (After a framing break the rest is one window, as it is one
			// record unstreamed.)
			if len(streamed) <= len(tc.data)/(16<<10) && tc.window == 16<<10 && !bytes.Equal(tc.data, framesBroken) {
				t.Fatalf("%d records of %d bytes: not cut by window", len(streamed), len(tc.data))
			}
			off := 0
			for i, r := range streamed {
				if r.Offset != off || !bytes.Equal(r.Data, tc.data[off:off+len(r.Data)]) || r.Index != i || r.Form != Raw {
					t.Fatalf("record %d (offset %d, %d bytes, index %d) does not follow the one before, ending at %d", i, r.Offset, len(r.Data), r.Index, off)
				}
				if want := 1 + bytes.Count(tc.data[:off], []byte{'\n'}); tc.text && r.Line != want {
					t.Fatalf("record %d at byte %d: line %d, want %d", i, off, r.Line, want)
				}
				off += len(r.Data)
			}
			if off != len(tc.data) {
				t.Fatalf("records end at %d of %d bytes", off, len(tc.data))
			}
			gotDPs, gotBad := decodeAll(streamed)
			wantDPs, wantBad := decodeAll(whole)
			if gotDPs != wantDPs || gotBad != wantBad || wantBad == 0 {
				t.Fatalf("streamed: %d datapoints, %d bad records; whole: %d, %d", gotDPs, gotBad, wantDPs, wantBad)
			}
		})
	}
}

// decodeAll decodes each record as the commands do and counts the
// datapoints of the good ones and the records that fail.
func decodeAll(recs []Record) (datapoints, bad int) {
	for _, r := range recs {
		var d decode.Decoder
		n := 0
		if err := d.Decode(r.Data, func(*cw.Update) error { n++; return nil }); err != nil {
			bad++
			continue
		}
		datapoints += n
	}
	return datapoints, bad
}

// A bad frame that starts a window is cut as in the whole object: alone,
// with the good frames after it in records of their own. (Each window was
// detected again, and one starting with the bad frame went out whole as one
// bad record, its good frames unwritten.) The windows are sized so that the
// first ends just before the bad frame, which then starts the second.
func TestRecordsStreamedBadFrameAtWindowStart(t *testing.T) {
	read := func(elem ...string) []byte {
		b, err := os.ReadFile(testutil.Testdata(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var good []byte
	for range 6 {
		for _, f := range []string{"ecs.bin", "rds.bin", "alb.bin", "multi.bin"} {
			good = append(good, read("payloads", f)...)
		}
	}
	bad := read("payloads", "bad", "bad-protobuf.bin") // a good frame, the bad one, a good one
	_, first, ferr := wire.NextFrame(bad, 0)
	if ferr != nil {
		t.Fatal(ferr)
	}
	at := len(good) + first // where the bad frame starts
	data := append(append(bytes.Clone(good), bad...), good...)
	path := filepath.Join(t.TempDir(), "object")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	whole, err := collect(t, path, data)
	if err != nil {
		t.Fatal(err)
	}
	wantDPs, wantBad := decodeAll(whole)
	for _, w := range []int{at + 1, at + 2, at + 16} {
		o := &Opener{window: w, peek: w * 3 / 4}
		var streamed []Record
		if _, err := o.Records(context.Background(), []string{path}, func(r Record) error {
			r.Data = bytes.Clone(r.Data)
			streamed = append(streamed, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(streamed) < 2 || streamed[1].Offset != at {
			t.Fatalf("window %d: the second window does not start at the bad frame (byte %d)", w, at)
		}
		if gotDPs, gotBad := decodeAll(streamed); gotDPs != wantDPs || gotBad != wantBad {
			t.Fatalf("window %d: streamed %d datapoints, %d bad records; whole: %d, %d", w, gotDPs, gotBad, wantDPs, wantBad)
		}
	}
}
