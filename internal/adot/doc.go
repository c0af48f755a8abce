// Package adot generates the configuration of the AWS Distro for
// OpenTelemetry (ADOT) collector that runs as a sidecar in an ECS task: the
// second way metrics reach the AMP workspace, beside the CloudWatch metric
// stream. The collector scrapes the application's Prometheus endpoint
// (prometheus receiver), reads the task's per-container CPU, memory,
// network and storage counters from the ECS task metadata endpoint
// (awsecscontainermetrics receiver), labels both with the task's cluster,
// service and task id, and remote-writes them to AMP signed with SigV4
// (prometheusremotewrite exporter, sigv4auth extension).
//
// Config renders the collector YAML the sidecar reads from
// AOT_CONFIG_CONTENT; ContainerDefinition renders the ECS container
// definition JSON for task definitions managed without the CDK. The CDK
// construct (infra/adot) and `cwstream adot-config` both use them, so the
// two cannot drift. tools/adotcheck loads every rendered configuration with
// the collector's own code and the component factories ADOT ships.
package adot
