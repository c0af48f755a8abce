package adot

// What the awsecscontainermetrics receiver really writes, through the
// prometheusremotewrite exporter. The receiver names its metrics with dots
// and non-UCUM units ("Bytes", "Nanoseconds", "None"), and reports its
// cumulative counters as non-monotonic sums; the exporter turns dots into
// underscores and appends the unit as it is, and adds no _total. So the
// names carry the unit with its capital letter, and none ends in _total
// (TestCollectorEndToEnd reads every one of these back from Prometheus).
//
// Each exists twice: container_* per container (label container_name) and
// ecs_task_* for the whole task. In awsvpc mode (Fargate) the containers
// share the task's network namespace, so network counters are the task's;
// read them from ecs_task_*.
//
// The design's list, and what stands for it:
//
//	container_cpu_usage_seconds_total       container_cpu_usage_total_Nanoseconds (cumulative ns: rate(…)/1e9 is CPU seconds per second)
//	                                        container_cpu_usage_vcpu_vCPU (gauge: vCPUs in use at collection)
//	container_memory_usage_bytes            container_memory_usage_Bytes (gauge, includes page cache)
//	                                        container_memory_utilized_MiB (gauge, usage minus cache, MiB)
//	container_network_receive_bytes_total   ecs_task_network_io_usage_rx_bytes_Bytes (cumulative; container_… repeats it per container)
//	container_network_transmit_bytes_total  ecs_task_network_io_usage_tx_bytes_Bytes (cumulative)
//
// The receiver also writes reserved and limit values (…_memory_reserved_MiB,
// …_memory_usage_limit_Bytes, …_cpu_reserved_None), rates it computes
// itself (…_network_rate_rx_Bytes_per_Second), packets, errors, drops,
// storage bytes and, per task, ephemeral storage: about 26 series per
// container and 28 per task at every collection.
const (
	MetricContainerCPU        = "container_cpu_usage_total_Nanoseconds"
	MetricContainerCPUvCPU    = "container_cpu_usage_vcpu_vCPU"
	MetricContainerMemory     = "container_memory_usage_Bytes"
	MetricContainerMemoryUsed = "container_memory_utilized_MiB"
	MetricTaskNetworkRx       = "ecs_task_network_io_usage_rx_bytes_Bytes"
	MetricTaskNetworkTx       = "ecs_task_network_io_usage_tx_bytes_Bytes"
)

// ContainerMetricNames are the container metrics the dashboards read.
func ContainerMetricNames() []string {
	return []string{MetricContainerCPU, MetricContainerCPUvCPU, MetricContainerMemory, MetricContainerMemoryUsed, MetricTaskNetworkRx, MetricTaskNetworkTx}
}

// WrittenSeriesFile (relative to this package) holds the label sets of the
// series the collector wrote in TestCollectorEndToEnd, those the ECS
// dashboard reads, one JSON object a line: internal/dashboards proves the
// sidecar panels against them.
const WrittenSeriesFile = "testdata/written-series.jsonl"
