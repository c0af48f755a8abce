package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// ecsSvc selects the per-service series of the chosen cluster and services,
// in AWS/ECS and in ECS/ContainerInsights alike.
const ecsSvc = `dimension_ClusterName=~"$cluster",dimension_ServiceName=~"$service",dimension_TaskDefinitionFamily="",dimension_TaskId="",dimension_ContainerName=""`

func ecsDashboard() *dashboard.DashboardBuilder {
	b := newDashboard(UIDECS, "ECS service",
		"ECS services: CPU and memory (utilization, reserved vs used), task counts, deployments, network, storage I/O and restarts. Needs Container Insights for everything but utilization. The last row is the ADOT collector sidecar's: application and per-container metrics.",
		"ecs", "aws")
	for _, v := range variables("aws_ecs_cpuutilization_average") {
		b.WithVariable(v)
	}
	b.WithVariable(labelVariable("cluster", "Cluster",
		`aws_ecs_containerinsights_running_task_count_average{`+scope+`}`, "dimension_ClusterName", true))
	b.WithVariable(labelVariable("service", "Service",
		`aws_ecs_containerinsights_running_task_count_average{`+scope+`,dimension_ClusterName=~"$cluster"}`, "dimension_ServiceName", true))

	m := func(name string) string { return ecs.sel(name, ecsSvc) }
	const legend = "{{dimension_ServiceName}}"
	row(b, "CPU and memory",
		graph(panel{
			title: "CPU utilization", unit: unitPercent, steps: upBad(70, 85),
			desc: "CPU used by the service's tasks as a share of the CPU they reserve (AWS/ECS CPUUtilization).",
			targets: []target{
				q(m("aws_ecs_cpuutilization_average"), "avg "+legend),
				q(m("aws_ecs_cpuutilization_maximum"), "max "+legend),
			},
		}),
		graph(panel{
			title: "Memory utilization", unit: unitPercent, steps: upBad(75, 90),
			desc: "Memory used by the service's tasks as a share of the memory they reserve; at 100 % of a hard limit tasks are killed.",
			targets: []target{
				q(m("aws_ecs_memory_utilization_average"), "avg "+legend),
				q(m("aws_ecs_memory_utilization_maximum"), "max "+legend),
			},
		}),
		graph(panel{
			title: "CPU reserved vs used", unit: unitShort,
			desc: "CPU units (1024 = 1 vCPU) reserved by the tasks and actually used (Container Insights CpuReserved, CpuUtilized).",
			targets: []target{
				q(m("aws_ecs_containerinsights_cpu_reserved_average"), "reserved "+legend),
				q(m("aws_ecs_containerinsights_cpu_utilized_average"), "used "+legend),
			},
		}),
		graph(panel{
			title: "Memory reserved vs used", unit: unitMiB,
			desc: "Memory reserved by the tasks and actually used (Container Insights MemoryReserved, MemoryUtilized).",
			targets: []target{
				q(m("aws_ecs_containerinsights_memory_reserved_average"), "reserved "+legend),
				q(m("aws_ecs_containerinsights_memory_utilized_average"), "used "+legend),
			},
		}),
	)
	row(b, "Tasks and deployments",
		graph(panel{
			title: "Tasks: running, desired, pending", unit: unitShort, width: 8,
			desc: "Running below desired for long means tasks fail to start or keep stopping (the ECSServiceRunningBelowDesired alert).",
			targets: []target{
				q(m("aws_ecs_containerinsights_running_task_count_average"), "running "+legend),
				q(m("aws_ecs_containerinsights_desired_task_count_average"), "desired "+legend),
				q(m("aws_ecs_containerinsights_pending_task_count_average"), "pending "+legend),
			},
		}),
		graph(panel{
			title: "Deployments", unit: unitShort, width: 8,
			desc: "Deployments of the service in progress; more than one for long means a rollout is stuck.",
			targets: []target{
				q(m("aws_ecs_containerinsights_deployment_count_average"), legend),
			},
		}),
		graph(panel{
			title: "Container restarts", unit: unitShort, width: 8, steps: upBad(1, 5),
			desc: "Container restarts per minute (Container Insights with enhanced observability, RestartCount).",
			targets: []target{
				q(m("aws_ecs_containerinsights_restart_count_sum"), legend),
			},
		}),
	)
	row(b, "Network and storage",
		graph(panel{
			title: "Network traffic", unit: unitBytesPerSec,
			desc: "Bytes per second received and transmitted by the service's tasks.",
			targets: []target{
				q(m("aws_ecs_containerinsights_network_rx_bytes_average"), "rx "+legend),
				q(m("aws_ecs_containerinsights_network_tx_bytes_average"), "tx "+legend),
			},
		}),
		graph(panel{
			title: "Storage I/O", unit: unitBytesPerSec,
			desc: "Bytes per second read from and written to storage by the service's tasks (Sum / 60).",
			targets: []target{
				q(m("aws_ecs_containerinsights_storage_read_bytes_sum")+" / 60", "read "+legend),
				q(m("aws_ecs_containerinsights_storage_write_bytes_sum")+" / 60", "write "+legend),
			},
		}),
	)
	sidecarRow(b)
	return b
}
