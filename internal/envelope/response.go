package envelope

import (
	"encoding/base64"

	"github.com/go-json-experiment/json/jsontext"
)

// Result is what the transformation did with a record.
type Result string

// The results Firehose accepts.
const (
	// Ok: Data replaces the record and Firehose delivers it.
	Ok Result = "Ok"
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
	Data     []byte // base64-encoded into the response; "" when empty
}

// AppendResponse appends the response JSON for answers to dst:
// {"records":[{"recordId":…,"result":…,"data":…},…]}.
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
		dst = append(dst, `,"data":"`...)
		// The base64 alphabet needs no JSON escaping.
		dst = base64.StdEncoding.AppendEncode(dst, a.Data)
		dst = append(dst, `"}`...)
	}
	return append(dst, "]}"...)
}
