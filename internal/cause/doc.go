// Package cause is the one vocabulary of why a record was not written.
//
// Every failure on the record path carries a [Cause]: an error type says
// its own with a Cause method ([Of] finds it through any wrapping), and a
// bare context error means the deadline. The cause's String is its stable
// metric label and log value; internal/firehose maps a cause to a Firehose
// result in one place. The package is a leaf: the decoders, the remote-write
// client and the handler all depend on it, and it on none of them.
package cause
