// Package wire holds what every metric-stream decoder shares: the output
// formats a CloudWatch metric stream can have, the one walker over
// varint-length-delimited frames (the OpenTelemetry formats, a raw S3 object,
// and the CLI's chunking all use it), a bounds-checked protobuf field reader,
// and Error, the malformed-input error that names the format, the frame or
// line, and the byte offset.
//
// It is a leaf: the decoders (packages otlp and cwjson) and the detector
// (package decode) build on it, and the record path maps a *Error to the
// "malformed" cause without knowing which decoder produced it.
package wire
