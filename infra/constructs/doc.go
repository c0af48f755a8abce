// Package constructs holds the reusable CDK constructs of the cwstream
// infrastructure: the encrypted alert topic, the AMP and AMG workspaces, the
// custom resource that provisions the dashboards into AMG, the ingest
// function with its bundled configuration, the Firehose delivery stream and
// the CloudWatch metric stream. Each construct grants exactly what
// its wiring needs, so the stacks in package main only compose them.
package constructs
