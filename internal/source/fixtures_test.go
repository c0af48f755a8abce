package source

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

// fixture reads a file of the repository's testdata/payloads (committed:
// a missing one is a broken checkout).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "payloads", name))
	if err != nil {
		t.Fatal(err)
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
		// Frame-level faults are the frame decoder's to report, with offsets.
		{file: "bad/truncated-varint.bin", form: Raw, records: 1},
		{file: "bad/length-past-end.bin", form: Raw, records: 1},
		{file: "bad/bad-protobuf.bin", form: Raw, records: 1},
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
