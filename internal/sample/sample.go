// Package sample defines the labelled sample that flows from series building
// (internal/series) to remote write (internal/remotewrite).
//
// It is a leaf: it knows nothing of CloudWatch, protobuf or HTTP. The type is
// shaped for memory: the samples of one series share one sorted label slice
// instead of each holding a copy.
package sample

import "github.com/cespare/xxhash/v2"

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
	// Hash is SeriesHash(Name, Labels), computed once per series by whoever
	// built the sample, or 0 when it was not computed. It lets a consumer
	// that groups samples by series skip hashing each one: a sample with
	// Hash 0 gets SeriesHash computed, so equal series always meet under
	// one hash. Equal hashes do not prove equal series (compare them, which
	// is cheap when they share one label slice, as the samples of one
	// series from internal/series do).
	Hash uint64
}

// SeriesHash hashes a series: its name and its sorted labels (xxhash, as
// Prometheus hashes label sets). It is never 0, which Sample.Hash reserves
// for "not computed".
func SeriesHash(name string, labels []Label) uint64 {
	var d xxhash.Digest
	d.Reset()
	sep := []byte{0xff}
	_, _ = d.WriteString(name)
	_, _ = d.Write(sep)
	for _, l := range labels {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(sep)
	}
	if h := d.Sum64(); h != 0 {
		return h
	}
	return 1
}
