// Package otlp decodes the two OpenTelemetry output formats of CloudWatch
// Metric Streams, 0.7 and 1.0, into cw.Update values.
//
// A Firehose record holds one or more frames, each an unsigned varint length
// followed by that many bytes of an ExportMetricsServiceRequest. Every frame
// is decoded, and every length is checked against what is left.
//
// The two versions share every message CloudWatch fills except one: a data
// point's dimensions are `labels` (field 1, StringKeyValue) in 0.7 and
// `attributes` (field 7, KeyValue with an AnyValue) in 1.0; 1.0 renames
// instrumentation_library_metrics to scope_metrics under the same field
// number. So one walker serves both, told the version, and it refuses a data
// point that carries the other version's field instead of skipping it: a
// 1.0 record read as 0.7 would otherwise lose every dimension silently.
// Version tells the two apart by walking a record to its first data point
// that has either field.
//
// The decoder walks the protobuf with protowire instead of generated types:
// it allocates nothing per data point, and the strings it hands out alias the
// input. The Go types of OTLP v0.7.0 cannot live in this module (Prometheus
// requires OTLP v1), so tests check the 0.7 path against payloads encoded by
// those official types in the separate module tools/otlp07gen, and the 1.0
// path against payloads encoded by the official OTLP v1 types.
package otlp
