package source

import (
	"bytes"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/testutil"
)

// realPayloads are the recorded raw objects from shared/ (never copied into
// the repository).
func realPayloads(tb testing.TB) [][]byte { return testutil.RealPayloads(tb) }

// splitRecords cuts a raw object at frame boundaries into records of about
// size bytes each, as Firehose records of a metric stream are.
func splitRecords(tb testing.TB, raw []byte, size int) [][]byte {
	tb.Helper()
	var recs [][]byte
	start := 0
	for off := 0; off < len(raw); {
		n, l := protowire.ConsumeVarint(raw[off:])
		if l < 0 || int(n) > len(raw)-off-l {
			tb.Fatalf("payload framing broken at byte %d", off)
		}
		off += l + int(n)
		if off-start >= size || off == len(raw) {
			recs = append(recs, raw[start:off])
			start = off
		}
	}
	return recs
}

func eventJSON(ids []string, recs [][]byte) []byte { return testutil.FirehoseEvent(recs, ids) }

func failedJSONL(recs [][]byte) []byte { return testutil.ProcessingFailedLines(recs) }

// jsonFormatLines is what a metric stream with the JSON output format writes.
const jsonFormatLines = `{"metric_stream_name":"cw","account_id":"123456789012","region":"us-east-1","namespace":"AWS/EC2","metric_name":"CPUUtilization","dimensions":{"InstanceId":"i-1"},"timestamp":1700000000000,"value":{"max":1,"min":0,"sum":1,"count":2},"unit":"Percent"}
{"metric_stream_name":"cw","account_id":"123456789012","region":"us-east-1","namespace":"AWS/EC2","metric_name":"NetworkIn","dimensions":{"InstanceId":"i-1"},"timestamp":1700000000000,"value":{"max":1,"min":0,"sum":1,"count":2},"unit":"Bytes"}
`

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("4954698668313554428650745793632162567570019247115678%04d", i)
	}
	return out
}

// collect runs Each and copies out every record (Data is only valid during
// the callback).
func collect(t *testing.T, name string, b []byte) ([]Record, error) {
	t.Helper()
	var recs []Record
	err := Each(name, b, func(r Record) error {
		r.Data = bytes.Clone(r.Data)
		recs = append(recs, r)
		return nil
	})
	return recs, err
}
