package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cwstream/cwstream/internal/testutil"
)

// realPayloads returns the recorded OTel 0.7 objects from shared/.
func realPayloads(tb testing.TB) [][]byte { return testutil.RealPayloads(tb) }

// buildEvent makes a Firehose event of about size bytes from the real
// payloads, cut into records of 1–4 KB, and returns it with the records'
// data in order.
func buildEvent(tb testing.TB, size int, seed uint64) ([]byte, [][]byte) {
	tb.Helper()
	payloads := realPayloads(tb)
	rng := rand.New(rand.NewPCG(seed, 1))
	var buf bytes.Buffer
	var datas [][]byte
	buf.WriteString(`{"invocationId":"inv-1","deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/cw","region":"us-east-1","records":[`)
	p, pos := 0, 0
	for i := 0; buf.Len() < size; i++ {
		n := 1024 + rng.IntN(3*1024)
		src := payloads[p]
		if pos+n > len(src) {
			n = len(src) - pos
		}
		d := src[pos : pos+n]
		pos += n
		if pos == len(src) {
			p, pos = (p+1)%len(payloads), 0
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"recordId":"49546986683135544286507457936321625675700192471156785154%06d","approximateArrivalTimestamp":%d,"data":"%s",`+
			`"kinesisRecordMetadata":{"shardId":"shardId-000000000000","partitionKey":"4d1ad2b9-24f8-4b9d-a088-76e9947c317a","approximateArrivalTimestamp":1700000000000,"sequenceNumber":"4954","subsequenceNumber":0}}`,
			i, 1700000000000+int64(i), base64.StdEncoding.EncodeToString(d))
		datas = append(datas, d)
	}
	buf.WriteString("]}")
	return buf.Bytes(), datas
}

// checkAgainstStd decodes in with encoding/json into the aws-lambda-go type
// and requires the same invocation id, records, ids and data as ev. It is
// meant for inputs that encoding/json accepts.
func checkAgainstStd(t *testing.T, in []byte, ev *Event) {
	t.Helper()
	var std events.KinesisFirehoseEvent
	if err := json.Unmarshal(in, &std); err != nil {
		t.Fatalf("encoding/json rejects the input: %v", err)
	}
	if ev.InvocationID != std.InvocationID {
		t.Errorf("invocationId: got %q, encoding/json %q", ev.InvocationID, std.InvocationID)
	}
	if len(ev.Records) != len(std.Records) {
		t.Fatalf("got %d records, encoding/json %d", len(ev.Records), len(std.Records))
	}
	for i, r := range ev.Records {
		s := std.Records[i]
		if r.Err != nil {
			// encoding/json has no notion of an unanswerable record: the
			// only record faults it accepts are a missing id and a null.
			if !errors.Is(r.Err, ErrNoID) && !errors.Is(r.Err, ErrNotObject) || s.RecordID != "" {
				t.Errorf("record %d: error %v, but encoding/json accepted id %q", i, r.Err, s.RecordID)
			}
			continue
		}
		if r.ID != s.RecordID {
			t.Errorf("record %d: id %q, encoding/json %q", i, r.ID, s.RecordID)
		}
		if !bytes.Equal(r.Data, s.Data) || (r.Data == nil) != (s.Data == nil) {
			t.Errorf("record %d: data %q, encoding/json %q", i, r.Data, s.Data)
		}
	}
}
