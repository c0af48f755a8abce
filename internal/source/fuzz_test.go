package source

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
)

// FuzzEach: Each never panics, and every error, of the input or of a
// record, is an *Error that names the source and a byte offset; the
// records of a raw input are the input cut at increasing offsets, and
// Locate places a decoder's error inside the source.
func FuzzEach(f *testing.F) {
	dir := filepath.Join("..", "..", "testdata", "payloads")
	for _, pattern := range []string{"*", filepath.Join("bad", "*")} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, path := range files {
			if strings.HasSuffix(path, ".expected.json") || strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".txt") {
				continue
			}
			if b, err := os.ReadFile(path); err == nil && len(b) > 0 && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"",
		"{}",
		`{"records":[{"recordId":"a","data":"aGVsbG8="},{"recordId":"b","data":"*"}]}`,
		`{"errorCode":"E","rawData":"aGVsbG8="}` + "\n" + `{"rawData":1}` + "\n{\n",
		jsonFormatLines,
		"\x03abc\x02de",
		"\x1f\x8b\x08",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		next, rawEnd := 0, 0
		var d decode.Decoder
		err := Each("fuzz.in", in, func(r Record) error {
			if r.Form == Raw {
				if r.Offset != rawEnd || len(r.Data) == 0 || r.Line < 0 {
					t.Fatalf("raw record %d at %d (%d bytes, line %d); the previous one ended at %d", r.Index, r.Offset, len(r.Data), r.Line, rawEnd)
				}
				rawEnd += len(r.Data)
			}
			if r.Err == nil {
				if derr := d.Decode(r.Data, func(*cw.Update) error { return nil }); derr != nil {
					var le *Error
					if !errors.As(r.Locate(derr), &le) || le.Offset < r.Offset || !strings.HasPrefix(le.Error(), "fuzz.in: ") {
						t.Fatalf("record %d: Locate(%v) = %v", r.Index, derr, r.Locate(derr))
					}
				}
			}
			if r.Index != next || r.Source != "fuzz.in" || r.Offset < 0 || r.Form == 0 {
				t.Fatalf("record %d: index %d source %q offset %d form %v", next, r.Index, r.Source, r.Offset, r.Form)
			}
			next++
			if r.Err != nil {
				var se *Error
				if !errors.As(r.Err, &se) || se.Index != r.Index || se.Offset < r.Offset || !strings.HasPrefix(r.Err.Error(), "fuzz.in: record ") {
					t.Fatalf("record %d: error %v does not locate itself", r.Index, r.Err)
				}
				if len(r.Data) != 0 {
					t.Fatalf("record %d: data alongside error %v", r.Index, r.Err)
				}
			}
			return nil
		})
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Offset < 0 || !strings.Contains(err.Error(), "at byte ") || se.Source != "fuzz.in" {
				t.Fatalf("error %v (%T) does not name the source and offset", err, err)
			}
			if form, derr := Detect(in); derr == nil && next == 0 && form != FirehoseEvent {
				t.Fatalf("Detect says %v, but Each failed before any record: %v", form, err)
			}
		}
	})
}
