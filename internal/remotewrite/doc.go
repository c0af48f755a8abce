// Package remotewrite is cwstream's Prometheus remote-write 1.0 client for
// Amazon Managed Service for Prometheus (AMP) and any other remote-write
// receiver.
//
// It takes labelled samples ([]sample.Sample) and knows nothing of
// CloudWatch or Firehose. One call to [Client.Write] is a request plan sent
// by a transport.
//
// The plan (plan.go, no HTTP):
//
//  1. groups the samples into series by identity (metric name + labels),
//     sorts each series' samples by timestamp (stable) and copies them into
//     series order, so that cutting and encoding read memory in sequence.
//     One sample per series and timestamp is sent: an exact duplicate is
//     not, and of different values the later one is (CloudWatch may revise
//     a minute it streamed; Report.SamplesSuperseded counts the others);
//  2. removes series that AMP would reject (the limit guard, see
//     [LimitError]): AMP rejects a whole request for one bad series, so one
//     bad series must not cost the others;
//  3. shards series by a hash of their identity (Config.Concurrency shards),
//     so a series lives in exactly one shard and its samples go out in order;
//  4. cuts each shard into requests of at most Config.MaxSamplesPerRequest
//     samples and Config.MaxBytesPerRequest uncompressed bytes, and encodes
//     each as a prompb.WriteRequest (hand-encoded with protowire into a
//     reused buffer), compressed with snappy (block format), once its
//     shard's turn comes and only while the context has time.
//
// The transport (transport.go) sends each shard's requests one after
// another, retrying per the spec: network errors, timeouts, 5xx and 429
// (honouring Retry-After) with exponential backoff and jitter; other 4xx
// never. SigV4 signing, when Config.SigV4 is on, is an http.RoundTripper
// (sigv4.go) around the HTTP client's transport, as in Prometheus; the
// caller loads the AWS credentials and passes them with WithCredentials.
//
// The [Report] lists the failures per request (or per series the guard
// removed): the input samples as index ranges and one error, which says its
// own cause (internal/cause): [RejectedError] (rejected, or conflict when
// the store already holds another value or newer samples),
// [RetriesExhaustedError], [DeadlineError], [LimitError], [NotSentError],
// [PanicError], wrapped in a [RequestError] that says which request it was.
// The caller keeps the raw record for anything in Report.Failed: nothing is
// lost silently.
//
// Ordering rule on failure: when a request fails for good, the later samples
// of the series it carried are not sent (they fail with [NotSentError]): a
// later request may hold newer samples of such a series, and sending them
// would make a replay of the older ones arrive out of order, which a store
// without an out-of-order window rejects. Every other series carries on, in
// its shard and in the others, so one bad request costs only its own series.
package remotewrite
