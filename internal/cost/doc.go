// Package cost estimates what a metric stream pipeline costs a month, and
// suggests the stream and cwstream configuration that carry only what the
// dashboards and rules read.
//
// Traffic is measured from recorded payloads (Meter): CloudWatch metric
// updates (with the extra updates additional statistics are billed as),
// samples after the cwstream configuration, Firehose records and their
// bytes, counted over the distinct minutes of CloudWatch timestamps the
// payloads hold. Estimate extrapolates that to a month of 730 hours and
// prices it with a Prices table: the built-in one (Default, one table with
// the source page and the date each price was read) or one overridden from
// a file (LoadPrices). What payloads cannot tell (Grafana users, query
// volume, retention, failure rate, interface endpoints) comes from
// Assumptions, whose defaults are documented on DefaultAssumptions.
//
// Suggest reads PromQL (dashboard queries, variable queries, rule
// expressions) with Prometheus's own parser and maps every series name
// read back to the CloudWatch namespace, metric and statistic that produce
// it, using the names the measured traffic actually produced.
//
// The package makes no AWS calls: everything comes from the payloads, the
// queries and the price table.
package cost
