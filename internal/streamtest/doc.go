// Package streamtest encodes CloudWatch metric updates in the output formats
// of a metric stream, for tests and benchmarks: OpenTelemetry 1.0 with the
// official OTLP v1 Go types, and JSON lines as the CloudWatch user guide
// shows them. (OpenTelemetry 0.7 needs the official v0.7.0 types, which
// cannot live in this module: tools/otlp07gen writes those fixtures.)
//
// The encoders follow what CloudWatch sends: resource attributes
// cloud.provider, cloud.account.id, cloud.region and aws.exporter.arn; one
// metric per update named amazonaws.com/<Namespace>/<MetricName>; summary
// data points with quantile 0 (minimum), the percentiles and quantile 1
// (maximum); Namespace, MetricName and the dimensions as attributes.
package streamtest
