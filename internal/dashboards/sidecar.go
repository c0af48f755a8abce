package dashboards

import (
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/cwstream/cwstream/internal/adot"
)

// sidecarSel selects the series the ADOT collector sidecar writes for the
// chosen clusters and services: it labels them with the task's cluster and
// service (internal/adot), where the metric stream has dimension_*.
const sidecarSel = adot.LabelCluster + `=~"$cluster",` + adot.LabelService + `=~"$service"`

// SidecarMetricNames are the series names the ECS dashboard's sidecar row
// reads: written by the ADOT collector sidecar, never by the metric stream,
// so a stream cost suggestion lists them as not in its payloads.
func SidecarMetricNames() []string {
	names := []string{"up", "http_requests_total", "http_request_duration_seconds_bucket",
		adot.MetricContainerCPU, adot.MetricContainerMemory, adot.MetricTaskNetworkRx, adot.MetricTaskNetworkTx}
	slices.Sort(names)
	return names
}

// sidecarRow is the ECS dashboard's row for the second ingestion path: the
// applications' own metrics the sidecar scrapes, and per-container CPU,
// memory and network from the task metadata endpoint. The series names are
// the ones the collector really writes (internal/adot/metrics.go); the
// counters are cumulative, so these panels use rate(), unlike the
// CloudWatch panels above.
func sidecarRow(b *dashboard.DashboardBuilder) {
	m := func(name string) string { return sel(name, sidecarSel) }
	const svc = "{{" + adot.LabelService + "}}"
	const ctr = "{{" + adot.LabelService + "}}/{{container_name}}"
	row(b, "Application and containers (ADOT sidecar)",
		graph(panel{
			title: "Scrape targets up", unit: unitShort, width: 8, steps: downBad(0.5, 1),
			desc: "Targets the sidecar scraped successfully (up), per service: below the task count means the application's /metrics fails (the ADOTScrapeTargetDown alert) or the sidecar is down (ADOTSidecarStopped when no task writes; see the sidecar's log group).",
			targets: []target{
				q(`sum by (`+adot.LabelService+`) (`+m("up")+`)`, svc),
			},
		}),
		graph(panel{
			title: "Application requests per second", unit: unitReqPerSec, width: 8,
			desc: "Requests the application served, by status code, from its http_requests_total counter (the demo application's; an application with other metric names needs its own panel).",
			targets: []target{
				q(`sum by (`+adot.LabelService+`, code) (rate(`+m("http_requests_total")+`[5m]))`, svc+" {{code}}"),
			},
		}),
		graph(panel{
			title: "Application latency p90", unit: unitSeconds, width: 8, steps: upBad(0.25, 1),
			desc: "90th percentile of the application's request duration, from its http_request_duration_seconds histogram.",
			targets: []target{
				q(`histogram_quantile(0.9, sum by (`+adot.LabelService+`, le) (rate(`+m("http_request_duration_seconds_bucket")+`[5m])))`, svc),
			},
		}),
		graph(panel{
			title: "Container CPU (vCPU)", unit: unitShort, width: 8,
			desc: "CPU seconds per second each container used (1 = one vCPU), from the cumulative " + adot.MetricContainerCPU + " (the design's container_cpu_usage_seconds_total, in nanoseconds).",
			targets: []target{
				q(`sum by (`+adot.LabelService+`, container_name) (rate(`+m(adot.MetricContainerCPU)+`[5m])) / 1e9`, ctr),
			},
		}),
		graph(panel{
			title: "Container memory", unit: unitBytes, width: 8,
			desc: "Memory each container uses, page cache included (" + adot.MetricContainerMemory + ", the design's container_memory_usage_bytes).",
			targets: []target{
				q(`sum by (`+adot.LabelService+`, container_name) (`+m(adot.MetricContainerMemory)+`)`, ctr),
			},
		}),
		graph(panel{
			title: "Task network", unit: unitBytesPerSec, width: 8,
			desc: "Bytes per second the service's tasks received and transmitted (task-level: in awsvpc mode containers share the task's interface).",
			targets: []target{
				q(`sum by (`+adot.LabelService+`) (rate(`+m(adot.MetricTaskNetworkRx)+`[5m]))`, "rx "+svc),
				q(`sum by (`+adot.LabelService+`) (rate(`+m(adot.MetricTaskNetworkTx)+`[5m]))`, "tx "+svc),
			},
		}),
	)
}
