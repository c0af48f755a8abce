// Package cwjson decodes the json output format of CloudWatch Metric
// Streams into cw.Update values.
//
// A Firehose record holds JSON objects separated by newlines, one data point
// each:
//
//	{"metric_stream_name":"MyMetricStream","account_id":"1234567890","region":"us-east-1",
//	 "namespace":"AWS/EC2","metric_name":"DiskWriteOps","dimensions":{"InstanceId":"i-123456789012"},
//	 "timestamp":1611929698000,"value":{"count":3.0,"sum":20.0,"max":18.0,"min":0.0,"p99":17.56},
//	 "unit":"Seconds"}
//
// (on one line in a record). The objects are read by a small scanner written
// for exactly this shape rather than by encoding/json: it allocates nothing
// per data point, and the strings it hands out alias the input, as the
// OpenTelemetry decoder's do. Only a string with a JSON escape is copied.
// encoding/json's generic decoding costs several allocations per object and
// would be the slowest step of the record path; the well-kept fast JSON
// libraries either allocate per value (jsoniter, goccy) or bring code
// generation (easyjson) for a fixed nine-key object.
//
// What the format says differently from the OpenTelemetry formats:
//
//   - timestamp is CloudWatch's own datapoint timestamp, the start of the
//     one-minute period; the OpenTelemetry formats stamp a data point with
//     the period's end (time_unix_nano). The decoder sets EndUnixNano to
//     timestamp + 1 minute, so that every format yields the same sample
//     timestamp, and StartUnixNano to timestamp.
//   - value may carry statistics the OpenTelemetry formats cannot (trimmed
//     means and the like: TM(25%:75%), wm90, PR(:300), ...). The naming
//     contract names only minimum, maximum, sum, sample count, average and
//     percentiles, so those are skipped. pNN keys become percentiles
//     (p99.9 → quantile 0.999).
//   - the stream is named (metric_stream_name), not given by ARN: StreamARN
//     stays empty.
//
// Errors are *wire.Error values naming the format, the line (0-based, blank
// lines counted) and the byte offset in the record.
package cwjson
