// Package dashboards defines cwstream's Grafana dashboards as code with the
// Grafana Foundation SDK: a system overview and one dashboard each for ECS
// services, RDS instances and Application Load Balancers.
//
// The panels query the series cwstream writes (the YACE-compatible contract of
// package naming): one gauge per CloudWatch statistic, sampled once a minute
// at the period end. CloudWatch has already aggregated each minute, so Count
// metrics become per-second rates with `_sum / 60` and latencies use
// `_average`, `_maximum` or `_pNN`; rate() is never used.
//
// Every dashboard has the same template variables first (data source,
// account_id, region) and then its main dimension, stable UIDs (the UID*
// constants), the "cwstream" tag that links them to each other, and units
// and thresholds on every panel. All returns the built models; JSON returns
// them encoded, one document per UID, for the CLI, the provisioning Lambda
// and the CDK app.
package dashboards
