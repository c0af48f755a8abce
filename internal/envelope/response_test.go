package envelope

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cwstream/cwstream/internal/testutil"
)

var responseAnswers = []Answer{
	{RecordID: "49546986683135544286507457936321625675700192471156785154", Result: Dropped},
	{RecordID: `q"b\s/` + "\n\t\x00\x1f", Result: ProcessingFailed},
	{RecordID: "zürich-東京-🚀 <&>", Result: ProcessingFailed},
	{RecordID: "a", Result: Dropped}, // a duplicate id below
	{RecordID: "a", Result: Dropped},
}

func TestAppendResponseRoundTrip(t *testing.T) {
	prefix := []byte("keep:")
	out := AppendResponse(prefix, responseAnswers)
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("dst prefix lost: %q", out)
	}
	body := out[len(prefix):]
	if !json.Valid(body) {
		t.Fatalf("not valid JSON: %s", body)
	}
	var resp events.KinesisFirehoseResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Records) != len(responseAnswers) {
		t.Fatalf("%d records, want %d", len(resp.Records), len(responseAnswers))
	}
	for i, a := range responseAnswers {
		r := resp.Records[i]
		if r.RecordID != a.RecordID || r.Result != string(a.Result) || len(r.Data) != 0 {
			t.Errorf("record %d: got %q %q %q, want %q %q and no data", i, r.RecordID, r.Result, r.Data, a.RecordID, a.Result)
		}
	}
	// Firehose wants "data" present even though it is empty.
	var raw struct{ Records []map[string]json.RawMessage }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if got := string(raw.Records[3]["data"]); got != `""` {
		t.Errorf(`empty data encoded as %s, want ""`, got)
	}
}

func TestAppendResponseEmpty(t *testing.T) {
	if got := string(AppendResponse(nil, nil)); got != `{"records":[]}` {
		t.Errorf("got %s", got)
	}
}

func TestAppendResponseGolden(t *testing.T) {
	got := AppendResponse(nil, responseAnswers)
	testutil.Golden(t, filepath.Join("testdata", "response.golden.json"), got)
}

// Parse reads back what AppendResponse wrote: both sides of the Lambda
// agree on escaping.
func TestParseReadsResponseIDs(t *testing.T) {
	resp := AppendResponse(nil, responseAnswers)
	var p Parser
	ev, err := p.Parse(resp)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ev.Records {
		if r.Err != nil || r.ID != responseAnswers[i].RecordID || len(r.Data) != 0 {
			t.Errorf("record %d: %q %q %v, want %q and no data", i, r.ID, r.Data, r.Err, responseAnswers[i].RecordID)
		}
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	answers := make([]Answer, 3000)
	for i := range answers {
		answers[i] = Answer{RecordID: "49546986683135544286507457936321625675700192471156785154000001", Result: Dropped}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponse(buf[:0], answers)
	}
	b.SetBytes(int64(len(buf)))
}
