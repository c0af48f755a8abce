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
//   - timestamp is one instant, where the OpenTelemetry formats give the
//     period as startTimeUnixNano and timeUnixNano, CloudWatch's startTime and
//     endTime (user guide page
//     CloudWatch-metric-streams-formats-opentelemetry-translation). The json
//     page says only that timestamp is in epoch milliseconds. The decoder
//     takes it for CloudWatch's datapoint timestamp, which is the start of
//     its period (GetMetricData: StartTime is inclusive of a data point
//     stamped with it), sets StartUnixNano to it and EndUnixNano to it plus
//     one minute, so that a sample carries the period's end in every format.
//     One minute because the format names no period, PutMetricStream takes
//     none, and every data point of three recorded OpenTelemetry deliveries
//     (2,647, five-minute EC2 statistic sets included) spans exactly 60 s.
//     Start rather than end is inferred, not verified: no public recording
//     holds one data point in both formats. Were timestamp the period's end,
//     json samples would stand one minute late against the other formats;
//     README.md (Output formats) lists the evidence.
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
