// Package decode is the one place that tells a metric stream's output
// format from a record's content and decodes the record with the decoder
// for it: OpenTelemetry 0.7 and 1.0 (package otlp) and JSON (package
// cwjson). The Lambda and every CLI input form go through it, record by
// record, so a Firehose event or an S3 prefix may mix formats (a stream
// whose format was changed) and each record is still read right.
//
// Detection (Detect):
//
//   - JSON: the record's first non-blank byte opens an object whose first
//     member is one of the json format's keys (metric_stream_name first, as
//     CloudWatch writes it). A Firehose event or processing-failed line is
//     JSON too, but its first key is not one of those.
//   - OpenTelemetry: the record is varint-length-delimited frames whose
//     messages have the shape of an ExportMetricsServiceRequest, and the
//     first data point with dimensions says the version: labels (field 1)
//     are 0.7, attributes (field 7) are 1.0 (see otlp.Version).
//   - anything else is refused with a *wire.Error saying what was found.
//
// A frame of 123 bytes starts with '{' (its length) followed by a newline
// (the tag of field 1); no JSON key can follow that, so it is not taken for
// JSON.
package decode
