// Package envelope reads the Kinesis Data Firehose data-transformation event
// and writes its response.
//
// The event is the JSON that Firehose sends to a transformation Lambda
// (field names of aws-lambda-go events.KinesisFirehoseEvent); it can hold
// up to 6 MB of base64 record data. Decoding it with encoding/json into the
// aws-lambda-go types allocates every record's data separately and costs
// about as much as decoding the OTel frames inside, so the Parser walks the
// event with a streaming tokenizer (go-json-experiment/json/jsontext, the
// prototype and mirror of encoding/json/v2) and base64-decodes every record
// into one buffer that it reuses across events.
//
// Only the envelope itself can make Parse fail (not JSON, not an object, no
// records array). A record whose data cannot be decoded is still listed,
// with Record.Err set, so that the caller can answer it ProcessingFailed
// instead of failing the whole invocation.
//
// AppendResponse writes the answer Firehose expects, one entry per record.
package envelope
