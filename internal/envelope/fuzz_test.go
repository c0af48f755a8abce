package envelope

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzParse: Parse never panics; errors locate themselves inside the input;
// on input encoding/json accepts, Parse agrees with it on every record.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	// The shared fixtures of the repository, when they are there.
	more, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "payloads", "*.json"))
	bad, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "payloads", "bad", "*.json"))
	more = append(more, bad...)
	for _, path := range append(seeds, more...) {
		if b, err := os.ReadFile(path); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"records":[]}`,
		`{"records":null}`,
		`{"records":[null,{"recordId":"a","data":"eA=="},{"RecordId":"\u00e9","data":"\/\/\/\/"}]}`,
		`{"records":[{"recordId":"a","approximateArrivalTimestamp":-9223372036854775808,"data":"eA"}]}`,
		`{"records":[{"recordId":1}],"records":[{"recordId":"b"}]}`,
		`{"records":[{"recordId":"a","data":"aGV*bG8="}]} x`,
	} {
		f.Add([]byte(s))
	}
	var p Parser
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := p.Parse(in)
		if err != nil {
			var ee *EnvelopeError
			if !errors.As(err, &ee) || ee.Offset < 0 || ee.Offset > len(in) {
				t.Fatalf("error %v (%T) does not locate itself in %d bytes", err, err, len(in))
			}
		} else {
			for i, r := range ev.Records {
				if r.Offset < 0 || r.Offset >= len(in) {
					t.Fatalf("record %d offset %d outside the input", i, r.Offset)
				}
				var re *RecordError
				if r.Err != nil && (!errors.As(r.Err, &re) || re.Index != i || re.Offset < r.Offset || re.Offset >= len(in)) {
					t.Fatalf("record %d: error %v does not locate itself", i, r.Err)
				}
			}
		}
		var std events.KinesisFirehoseEvent
		if json.Unmarshal(in, &std) != nil {
			return
		}
		if err != nil {
			// encoding/json fills nothing for a missing or null records
			// array; we call that an unusable event. Nothing else differs.
			if !errors.Is(err, ErrNoRecords) || std.Records != nil {
				t.Fatalf("encoding/json accepts the input, Parse: %v", err)
			}
			return
		}
		checkAgainstStd(t, in, ev)
	})
}
