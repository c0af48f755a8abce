// Package firehose is the record path's core and its Kinesis Data Firehose
// adapter.
//
// The core ([Core.Process]) takes records' bytes, decodes and converts
// every one, writes the samples, and returns one [Outcome] per record: its
// Firehose result, its [cause.Cause] and the error. It also keeps the
// deadline (decoding and writing stop a reserve before it) and emits the
// invocation's telemetry. `cwstream replay` calls it directly.
//
// The adapter ([Handler]) implements lambda.Handler over the raw payload:
// it parses the Firehose event with internal/envelope (without building a
// generic JSON tree, which encoding/json would make the most expensive step
// of the invocation), hands the records to the core and writes the answer.
//
// A record is answered Dropped (done, nothing to deliver) only when every
// sample it produced was acknowledged by the store. Anything else, a
// malformed record, a sample the store rejected, retries that ran out, a
// deadline, is answered ProcessingFailed, so Firehose keeps the raw record
// in its processing-failed S3 prefix for `cwstream replay`. Writes are
// idempotent, so a replay never harms.
package firehose
