package envelope

import "github.com/go-json-experiment/json/jsontext"

// Result is what the transformation did with a record.
type Result string

// The results the handler gives. (Firehose also accepts "Ok", with data
// that replaces the record: cwstream never delivers records onwards.)
const (
	// Dropped: the record is done with; Firehose delivers nothing for it.
	Dropped Result = "Dropped"
	// ProcessingFailed: Firehose keeps the original record in its
	// processing-failed S3 prefix.
	ProcessingFailed Result = "ProcessingFailed"
)

// Answer is the response for one record.
type Answer struct {
	RecordID string
	Result   Result
}

// AppendResponse appends the response JSON for answers to dst:
// {"records":[{"recordId":…,"result":…,"data":""},…]}. The data is always
// empty: the handler delivers nothing onwards, but Firehose wants the field.
func AppendResponse(dst []byte, answers []Answer) []byte {
	dst = append(dst, `{"records":[`...)
	for i, a := range answers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"recordId":`...)
		// The only error is invalid UTF-8, already replaced with U+FFFD:
		// the output stays valid JSON, and an id Firehose made is ASCII.
		dst, _ = jsontext.AppendQuote(dst, a.RecordID)
		dst = append(dst, `,"result":`...)
		dst, _ = jsontext.AppendQuote(dst, string(a.Result))
		dst = append(dst, `,"data":""}`...)
	}
	return append(dst, "]}"...)
}
