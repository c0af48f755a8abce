// Package source finds the CLI's input and splits it into records.
//
// An input is a file, standard input or every object under an s3:// prefix
// (Opener.Walk). What it holds is told from its content, not its name
// (Detect), after unwrapping gzip by its magic bytes, up to twice:
//
//   - Raw: an object as Firehose writes it to S3, concatenated
//     varint-length-delimited OTel 0.7 frames; the whole object is one record.
//   - FirehoseEvent: a data-transformation event (JSON with "records"), one
//     record per event record, read by package envelope as the Lambda does.
//   - ProcessingFailed: the JSON lines Firehose writes under its
//     processing-failed prefix, one record per line with its rawData and the
//     errorCode and errorMessage that explain why it failed.
//
// A metric stream set to the JSON output format writes JSON lines with
// metric_stream_name, namespace, metric_name and value; those hold no OTel
// frames, so they are refused with ErrJSONOutputFormat, which tells how to
// fix the stream.
//
// The package does not look inside the frames: that is package otlp07's
// job. Errors name the source, the record index and the byte offset in the
// (decompressed) source.
package source
