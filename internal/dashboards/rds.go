package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

const rdsDB = `dimension_DBInstanceIdentifier=~"$db_instance"`

func rdsDashboard() *dashboard.DashboardBuilder {
	b := newDashboard(UIDRDS, "RDS performance",
		"RDS DB instances: CPU, memory, connections, DB load, latency, I/O, storage and replica lag.",
		"rds", "aws")
	for _, v := range variables("aws_rds_cpuutilization_average") {
		b.WithVariable(v)
	}
	b.WithVariable(labelVariable("db_instance", "DB instance",
		`aws_rds_cpuutilization_average{`+scope+`}`, "dimension_DBInstanceIdentifier", true))

	m := func(name string) string { return rdsInstance.sel(name, rdsDB) }
	const legend = "{{dimension_DBInstanceIdentifier}}"
	row(b, "Compute and connections",
		graph(panel{
			title: "CPU utilization", unit: unitPercent, steps: upBad(70, 80),
			desc: "Share of the instance's CPU in use: average and maximum of each minute.",
			targets: []target{
				q(m("aws_rds_cpuutilization_average"), "avg "+legend),
				q(m("aws_rds_cpuutilization_maximum"), "max "+legend),
			},
		}),
		graph(panel{
			title: "Freeable memory", unit: unitBytes, steps: downBad(256<<20, 512<<20),
			desc: "RAM available to the database engine; when it runs low the instance swaps and slows down.",
			targets: []target{
				q(m("aws_rds_freeable_memory_minimum"), legend),
			},
		}),
		graph(panel{
			title: "Database connections", unit: unitShort,
			desc: "Client connections in use; compare with the engine's max_connections (the RDSConnectionsNearMax alert).",
			targets: []target{
				q(m("aws_rds_database_connections_average"), "avg "+legend),
				q(m("aws_rds_database_connections_maximum"), "max "+legend),
			},
		}),
		graph(panel{
			title: "DB load (CPU / non-CPU)", unit: unitShort, stack: true,
			desc: "Average active sessions (Performance Insights) waiting on CPU and on everything else (I/O, locks). Above the vCPU count, queries queue.",
			targets: []target{
				q(m("aws_rds_dbload_cpu_average"), "CPU "+legend),
				q(m("aws_rds_dbload_non_cpu_average"), "non-CPU "+legend),
			},
		}),
	)
	row(b, "Storage I/O",
		graph(panel{
			title: "Read / write latency", unit: unitSeconds, width: 24, steps: upBad(0.02, 0.1),
			desc: "Average time per disk I/O, and its 99th percentile when the stream is configured to send percentiles.",
			targets: []target{
				q(m("aws_rds_read_latency_average"), "read avg "+legend),
				q(m("aws_rds_write_latency_average"), "write avg "+legend),
				q(m("aws_rds_read_latency_p99"), "read p99 "+legend),
				q(m("aws_rds_write_latency_p99"), "write p99 "+legend),
			},
		}),
		graph(panel{
			title: "IOPS", unit: unitIOPS, width: 8,
			desc: "Disk read and write operations per second.",
			targets: []target{
				q(m("aws_rds_read_iops_average"), "read "+legend),
				q(m("aws_rds_write_iops_average"), "write "+legend),
			},
		}),
		graph(panel{
			title: "Throughput", unit: unitBytesPerSec, width: 8,
			desc: "Bytes read from and written to disk per second.",
			targets: []target{
				q(m("aws_rds_read_throughput_average"), "read "+legend),
				q(m("aws_rds_write_throughput_average"), "write "+legend),
			},
		}),
		graph(panel{
			title: "Disk queue depth", unit: unitShort, width: 8, steps: upBad(10, 30),
			desc: "I/O requests waiting for the disk; a sustained queue means the storage is the bottleneck.",
			targets: []target{
				q(m("aws_rds_disk_queue_depth_average"), legend),
			},
		}),
	)
	row(b, "Capacity and replication",
		graph(panel{
			title: "Free storage", unit: unitBytes, steps: downBad(10<<30, 20<<30),
			desc: "Storage left on the instance (FreeStorageSpace Minimum); alerts fire below 10 GiB or when it would run out within a day.",
			targets: []target{
				q(m("aws_rds_free_storage_space_minimum"), legend),
			},
		}),
		graph(panel{
			title: "Replica lag", unit: unitSeconds, steps: upBad(10, 30),
			desc: "How far a read replica is behind its source (ReplicaLag Maximum); only replicas report it.",
			targets: []target{
				q(m("aws_rds_replica_lag_maximum"), legend),
			},
		}),
	)
	return b
}
