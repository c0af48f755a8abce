// Package cw models one CloudWatch metric update as a metric stream delivers
// it: the metric's identity (account, region, namespace, name, dimensions),
// its period and its statistics.
//
// It knows no encoding. Decoders fill an Update; series building reads it.
// The strings of an Update usually alias the decoder's input buffer, so an
// Update is only valid while that buffer is left unchanged.
package cw

// Dimension is one CloudWatch dimension, kept exactly as received.
type Dimension struct {
	Name, Value string
}

// Quantile is one percentile the stream was asked for: Q in (0, 1), e.g. 0.99
// for p99, with its value.
type Quantile struct {
	Q, Value float64
}

// Update is one CloudWatch metric datapoint for one period.
type Update struct {
	// Resource of the update.
	AccountID, Region, StreamARN string

	Namespace  string // e.g. AWS/RDS
	MetricName string // e.g. CPUUtilization
	Unit       string // UCUM-style unit as streamed, e.g. "%" or "By"

	// Dimensions in the order received.
	Dimensions []Dimension

	// StartUnixNano is the start of the CloudWatch period, EndUnixNano its
	// end; a sample's timestamp is the period end.
	StartUnixNano, EndUnixNano uint64

	Count float64 // SampleCount
	Sum   float64 // Sum

	// Min and Max are the Minimum and Maximum statistics, present when the
	// stream sent quantile 0 and quantile 1 respectively.
	Min, Max       float64
	HasMin, HasMax bool

	// Percentiles are the quantiles other than 0 and 1, in the order received.
	Percentiles []Quantile
}

// TimestampMillis is the sample timestamp of the update: the period end in
// milliseconds since the Unix epoch.
func (u *Update) TimestampMillis() int64 {
	return int64(u.EndUnixNano / 1e6)
}
