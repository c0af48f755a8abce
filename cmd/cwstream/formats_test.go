package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// formFiles writes the records of one fixture, re-encoded in format f, in
// every input form a file can have, and returns the paths: a raw object,
// the same gzipped, a Firehose event (gzipped too) and processing-failed
// lines. Records are cut as Firehose would, into chunks of whole frames or
// lines.
func formFiles(t *testing.T, fixture string, f wire.Format) (raw []byte, paths []string) {
	t.Helper()
	v07, err := os.ReadFile(testutil.Testdata(t, "payloads", fixture+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	var d decode.Decoder
	ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(v07, fn) })
	if err != nil {
		t.Fatal(err)
	}
	switch f {
	case wire.OTel07:
		raw = v07
	case wire.OTel10:
		raw = streamtest.OTel10(ups, 5, streamtest.Nested)
	case wire.JSON:
		raw = streamtest.JSON(ups)
	}
	var recs [][]byte
	if err := decode.Split(raw, 4096, func(chunk []byte, _ int) error { recs = append(recs, chunk); return nil }); err != nil {
		t.Fatal(err)
	}
	event := testutil.FirehoseEvent(recs, nil)
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"raw": raw, "raw.gz": testutil.Gzip(t, raw), "event.json": event, "event.json.gz": testutil.Gzip(t, event), "processing-failed.jsonl": testutil.ProcessingFailedLines(recs),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return raw, paths
}

// dryrun prints the same samples for the same data in every output format
// and every input form: those of the reviewed golden file of the 0.7
// fixture.
func TestDryrunEveryFormat(t *testing.T) {
	for _, fixture := range []string{"rds", "odd", "multi"} {
		for _, f := range wire.Formats {
			raw, paths := formFiles(t, fixture, f)
			for _, p := range paths {
				t.Run(fixture+"/"+f.OutputFormat()+"/"+filepath.Base(p), func(t *testing.T) {
					code, out, errs := runCLI(t, "", "dryrun", p)
					if code != 0 {
						t.Fatalf("exit %d: %s", code, errs)
					}
					golden(t, fixture+".prom", out)
				})
			}
			t.Run(fixture+"/"+f.OutputFormat()+"/stdin", func(t *testing.T) {
				code, out, errs := runCLI(t, string(raw), "dryrun", "-")
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				golden(t, fixture+".prom", out)
			})
		}
	}
}

// replay writes every output format in every input form: the store ends up
// holding exactly the golden samples of the 0.7 fixture.
func TestReplayEveryFormat(t *testing.T) {
	golden, err := os.ReadFile(testutil.Testdata(t, "golden", "rds.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []wire.Format{wire.OTel10, wire.JSON} {
		t.Run(f.OutputFormat(), func(t *testing.T) {
			_, paths := formFiles(t, "rds", f)
			prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
			code, out, errs := runCLI(t, "", append([]string{"replay", "--to", prom.WriteURL()}, paths...)...)
			if code != 0 || !strings.Contains(out, "0 failed") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
			}
			storeHolds(t, prom, string(golden))
		})
	}
}

// storeHolds checks that prom holds exactly the samples of the golden text
// in the hour of the fixtures (2024-03-12 10:00 UTC).
func storeHolds(t *testing.T, prom *promtest.Server, golden string) {
	t.Helper()
	from, to := time.Date(2024, 3, 12, 10, 0, 0, 0, time.UTC), time.Date(2024, 3, 12, 11, 0, 0, 0, time.UTC)
	dump, err := prom.Dump(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	got, want := lineSet(dump), lineSet(golden)
	if len(got) != len(want) {
		t.Fatalf("store holds %d samples, the golden file %d", len(got), len(want))
	}
	for l := range want {
		if !got[l] {
			t.Fatalf("missing from the store: %s", l)
		}
	}
}

func lineSet(s string) map[string]bool {
	out := map[string]bool{}
	for l := range strings.Lines(s) {
		out[strings.TrimSuffix(l, "\n")] = true
	}
	return out
}

// A raw json-format object with a bad line in the middle: the replay names
// that line alone and writes every other one.
func TestReplayRawJSONWithABadLine(t *testing.T) {
	golden, err := os.ReadFile(testutil.Testdata(t, "golden", "rds.prom"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := formFiles(t, "rds", wire.JSON)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	half := len(lines) / 2
	bad := `{"metric_stream_name":"s","namespace":"AWS/RDS","value":{"sum":oops}}` + "\n"
	var obj []byte
	for _, l := range lines[:half] {
		obj = append(obj, l...)
	}
	at := len(obj)
	obj = append(obj, bad...)
	for _, l := range lines[half:] {
		obj = append(obj, l...)
	}
	p := filepath.Join(t.TempDir(), "raw-with-a-bad-line")
	if err := os.WriteFile(p, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
	code, out, errs := runCLI(t, "", "replay", "--to", prom.WriteURL(), p)
	if code != 1 || !strings.Contains(out, "1 failed") {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errs)
	}
	// The line and byte in the file, not in the record replay cut out.
	want := fmt.Sprintf("FAILED %s: at line %d, byte %d: malformed: JSON: want a number, found 'o'", p, half+1, at+63)
	if !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs)
	}
	storeHolds(t, prom, string(golden))
}
