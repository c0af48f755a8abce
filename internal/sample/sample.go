// Package sample defines the labelled sample that flows from series building
// (internal/series) to remote write (internal/remotewrite).
//
// It is a leaf: it knows nothing of CloudWatch, protobuf or HTTP. The type is
// shaped for memory: the samples of one CloudWatch datapoint differ only in
// their metric name, so they share one sorted label slice instead of each
// holding a copy.
package sample

// Label is one label pair. Names and values are kept exactly as given.
type Label struct {
	Name, Value string
}

// Sample is one value of one series at one time.
type Sample struct {
	// Name is the metric name, the value of the __name__ label.
	Name string
	// Labels are the series' other labels, sorted by name, without __name__.
	// The slice may be shared with other samples and must not be modified.
	Labels []Label
	// T is the timestamp in milliseconds since the Unix epoch.
	T int64
	// V is the value.
	V float64
}
