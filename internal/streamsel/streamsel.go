// Package streamsel is what a CloudWatch metric stream selects, in the
// shape of an environment's `stream` settings in cdk.json: include filters
// (namespaces, optionally some of their metrics) and additional statistics
// per metric. The CDK app reads these settings; `cwstream cost --suggest`
// writes them; one set of types keeps the two in agreement.
package streamsel

// NamespaceFilter selects a namespace, optionally only some of its metrics
// (PutMetricStream's MetricStreamFilter).
type NamespaceFilter struct {
	Namespace   string   `json:"namespace"`
	MetricNames []string `json:"metricNames,omitempty"`
}

// StatisticsSelection streams extra statistics (percentiles; with the json
// output format also trimmed means and the like) for the listed metrics
// (PutMetricStream's MetricStreamStatisticsConfiguration).
type StatisticsSelection struct {
	Statistics []string    `json:"statistics"`
	Metrics    []MetricRef `json:"metrics"`
}

// MetricRef names one CloudWatch metric.
type MetricRef struct {
	Namespace  string `json:"namespace"`
	MetricName string `json:"metricName"`
}
