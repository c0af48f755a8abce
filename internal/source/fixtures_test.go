package source

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/testutil"
)

// fixture reads a file of the repository's testdata/payloads (committed:
// a missing one is a broken checkout).
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(tb), "testdata", "payloads", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file    string
		form    Form
		records int
		bad     []int // records with Err
		cause   error // Each fails with this cause
	}{
		{file: "single.bin", form: Raw, records: 1},
		{file: "ecs.bin", form: Raw, records: 1},
		{file: "rds.bin", form: Raw, records: 1},
		{file: "alb.bin", form: Raw, records: 1},
		{file: "multi.bin", form: Raw, records: 1},
		{file: "odd.bin", form: Raw, records: 1},
		{file: "raw-multi.bin.gz", form: Raw, records: 1},
		{file: "event.json", form: FirehoseEvent, records: 9},
		{file: "event.json.gz", form: FirehoseEvent, records: 9},
		{file: "processing-failed.jsonl", form: ProcessingFailed, records: 4},
		{file: "bad/mixed-event.json", form: FirehoseEvent, records: 6, bad: []int{1}},
		// Frame-level faults are the frame decoder's to report, with
		// offsets; the cut puts the bad frame or line in a record of its
		// own (TestEachCutsAroundTheBadOne).
		{file: "bad/truncated-varint.bin", form: Raw, records: 2},
		{file: "bad/length-past-end.bin", form: Raw, records: 2},
		{file: "bad/bad-protobuf.bin", form: Raw, records: 3},
		{file: "bad/missing-timestamp.jsonl", form: Raw, records: 3},
		{file: "json-format.jsonl", form: Raw, records: 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := fixture(t, tc.file)
			recs, err := collect(t, tc.file, b)
			if tc.cause != nil {
				if !errors.Is(err, tc.cause) || !strings.HasPrefix(err.Error(), tc.file+": ") {
					t.Fatalf("err %v, want %v naming the file", err, tc.cause)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.records {
				t.Fatalf("%d records, want %d", len(recs), tc.records)
			}
			for i, r := range recs {
				wantBad := slices.Contains(tc.bad, i)
				if r.Form != tc.form || r.Index != i || (r.Err != nil) != wantBad {
					t.Errorf("record %d: form %v index %d err %v; want form %v, bad %v", i, r.Form, r.Index, r.Err, tc.form, wantBad)
				}
				if !wantBad && len(r.Data) == 0 {
					t.Errorf("record %d: no data", i)
				}
			}
		})
	}
}

// The same records reach the CLI whichever way Firehose handed them over:
// the event's records are the raw object's parts, and each processing-failed
// line is the event record it names.
func TestFixturesAgree(t *testing.T) {
	event, _ := collect(t, "event.json", fixture(t, "event.json"))
	eventGz, _ := collect(t, "event.json.gz", fixture(t, "event.json.gz"))
	raw, _ := collect(t, "raw-multi.bin.gz", fixture(t, "raw-multi.bin.gz"))
	failed, _ := collect(t, "processing-failed.jsonl", fixture(t, "processing-failed.jsonl"))
	if len(event) != 9 || len(eventGz) != 9 || len(raw) != 1 || len(failed) != 4 {
		t.Fatalf("records: event %d, event.gz %d, raw %d, failed %d", len(event), len(eventGz), len(raw), len(failed))
	}
	var joined []byte
	for i, r := range event {
		if r.ID != eventGz[i].ID || !bytes.Equal(r.Data, eventGz[i].Data) {
			t.Errorf("record %d differs between event.json and event.json.gz", i)
		}
		joined = append(joined, r.Data...)
	}
	if !bytes.Equal(joined, raw[0].Data) {
		t.Errorf("the event's records joined (%d bytes) are not raw-multi (%d bytes)", len(joined), len(raw[0].Data))
	}
	if single := fixture(t, "single.bin"); !bytes.Equal(event[0].Data, single) {
		t.Errorf("event record 0 is not single.bin")
	}
	for i, eventIndex := range []int{1, 5, 7, 8} { // from the fixtures' README
		if !bytes.Equal(failed[i].Data, event[eventIndex].Data) {
			t.Errorf("processing-failed line %d is not event record %d", i, eventIndex)
		}
		if failed[i].ErrorCode == "" || failed[i].ErrorMessage == "" {
			t.Errorf("processing-failed line %d: errorCode %q errorMessage %q", i, failed[i].ErrorCode, failed[i].ErrorMessage)
		}
	}
}

// A raw object with a bad frame or line in the middle is cut so that the
// bad one is a record of its own, starting where the fixture's README says
// it is bad, and the records after it decode; Locate names the byte (and
// line) in the file, not in the record.
func TestEachCutsAroundTheBadOne(t *testing.T) {
	tests := []struct {
		file  string
		badAt int    // offset of the record holding the bad frame or line
		where string // what Locate says
	}{
		{"bad/bad-protobuf.bin", 6492, "bad/bad-protobuf.bin: at byte 6493: in the frame at byte 6492: field 1: unexpected EOF"},
		{"bad/length-past-end.bin", 11342, "bad/length-past-end.bin: at byte 11342: frame length 6048 runs past the end"},
		{"bad/truncated-varint.bin", 14706, "bad/truncated-varint.bin: at byte 14706: frame: length prefix: unexpected EOF"},
		{"bad/missing-timestamp.jsonl", 613, "bad/missing-timestamp.jsonl: at line 3, byte 613: JSON: no timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var d decode.Decoder
			bad := 0
			err := Each(tc.file, fixture(t, tc.file), func(r Record) error {
				err := d.Decode(r.Data, func(*cw.Update) error { return nil })
				if r.Offset != tc.badAt {
					if err != nil {
						t.Errorf("record at byte %d: %v; only the one at %d may fail", r.Offset, err, tc.badAt)
					}
					return nil
				}
				bad++
				if err == nil {
					t.Fatalf("the record at byte %d decodes", r.Offset)
				}
				if got := r.Locate(err).Error(); !strings.HasPrefix(got, tc.where) {
					t.Errorf("Locate = %q, want it to start %q", got, tc.where)
				}
				return nil
			})
			if err != nil || bad != 1 {
				t.Fatalf("Each: %v; %d records at byte %d, want 1", err, bad, tc.badAt)
			}
		})
	}
}

// A record of an event is located where it stands in the event, with the
// offset inside its decoded data.
func TestLocateEventRecord(t *testing.T) {
	const file = "bad/mixed-event.json"
	var d decode.Decoder
	var got []string
	err := Each(file, fixture(t, file), func(r Record) error {
		if r.Err != nil {
			got = append(got, r.Err.Error())
			return nil
		}
		if err := d.Decode(r.Data, func(*cw.Update) error { return nil }); err != nil {
			got = append(got, r.Locate(err).Error())
		}
		return nil
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("Each: %v; failures %q, want 2", err, got)
	}
	for i, want := range []*regexp.Regexp{
		regexp.MustCompile(`^bad/mixed-event\.json: record 1 \(id \d+\) at line 14, byte 1065: data: .*base64`),
		regexp.MustCompile(`^bad/mixed-event\.json: record 2 \(id \d+\) at line 16, byte 1093: its data, byte 0: frame length 1567 runs past the end`),
	} {
		if !want.MatchString(got[i]) {
			t.Errorf("failure %d: %q, want %s", i, got[i], want)
		}
	}
}
