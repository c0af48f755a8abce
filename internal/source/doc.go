// Package source finds the CLI's input and splits it into records.
//
// An input is a file, standard input or every object under an s3:// prefix
// (Opener.Walk). What it holds is told from its content, not its name
// (Detect), after unwrapping gzip by its magic bytes, up to twice:
//
//   - Raw: an object as Firehose writes it to S3, the records' data
//     concatenated: varint-length-delimited OpenTelemetry frames (0.7 or
//     1.0), or JSON lines of the json output format. It keeps no record
//     boundaries, so Each cuts it into records of whole frames or lines of
//     at most MaxRecordBytes, a bad frame or line in a record of its own
//     (decode.Split): replay, dryrun and cost all read these same records.
//   - FirehoseEvent: a data-transformation event (JSON with "records"), one
//     record per event record, read by package envelope as the Lambda does.
//   - ProcessingFailed: the JSON lines Firehose writes under its
//     processing-failed prefix, one record per line with its rawData and the
//     errorCode and errorMessage that explain why it failed.
//
// JSON lines of the json output format (metric_stream_name, namespace, ...)
// are told from events and processing-failed lines by package decode, the
// one detector of the record formats.
//
// The package does not look inside the records: that is package decode's
// job. Errors (*Error) name the source, the record of an event or
// processing-failed lines, the 1-based line of a text source and the byte
// offset in the (decompressed) source; Record.Locate places a decoder's or
// writer's error about a record the same way.
package source
