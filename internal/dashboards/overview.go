package dashboards

import (
	"github.com/cwstream/cwstream/internal/rules"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func overviewDashboard() *dashboard.DashboardBuilder {
	b := newDashboard(UIDOverview, "System overview",
		"The whole system at a glance: ECS cluster resource use, RDS connections and performance, ALB traffic, response time and error rate. Each section links to its detailed dashboard.",
		"overview", "aws")
	for _, v := range variables("aws_applicationelb_request_count_sum") {
		b.WithVariable(v)
	}
	b.WithVariable(labelVariable("cluster", "ECS cluster",
		`aws_ecs_containerinsights_running_task_count_average{`+scope+`}`, "dimension_ClusterName", true))
	b.WithVariable(labelVariable("db_instance", "DB instance",
		`aws_rds_cpuutilization_average{`+scope+`}`, "dimension_DBInstanceIdentifier", true))
	b.WithVariable(labelVariable("load_balancer", "Load balancer",
		`aws_applicationelb_request_count_sum{`+scope+`}`, "dimension_LoadBalancer", true))

	toALB := &panelLink{"ALB traffic", UIDALB}
	toRDS := &panelLink{"RDS performance", UIDRDS}
	toECS := &panelLink{"ECS service", UIDECS}
	lbSel := `dimension_LoadBalancer=~"$load_balancer"`
	lbRaw := lbSel + "," + rules.ALBLoadBalancerLevel
	clusterSel := `dimension_ClusterName=~"$cluster"`
	dbSel := `dimension_DBInstanceIdentifier=~"$db_instance"`

	row(b, "Now",
		single(panel{
			title: "Requests per second", unit: unitReqPerSec, width: 6, link: toALB,
			desc: "Requests per second over the selected load balancers.",
			targets: []target{
				q(`sum(`+alb.sel(rules.ALBRequestsPerSecond, lbSel)+`)`, "requests/s"),
			},
		}),
		single(panel{
			title: "5xx share", unit: unitPercentUnit, width: 6, steps: upBad(0.01, 0.05), link: toALB,
			desc: "5xx responses (targets and load balancers) per request over the selected load balancers, in the newest minute. 0 when no 5xx was streamed (CloudWatch streams no zero counts).",
			targets: []target{
				q(overviewShare(lbRaw), "5xx share"),
			},
		}),
		single(panel{
			title: "Unhealthy targets", unit: unitShort, width: 6, steps: upBad(0.5, 1), link: toALB,
			desc: "Targets failing health checks over all target groups of the selected load balancers.",
			targets: []target{
				q(`sum(`+alb.sel("aws_applicationelb_un_healthy_host_count_maximum", lbSel, rules.ALBTargetGroupLevel)+`)`, "unhealthy"),
			},
		}),
		single(panel{
			title: "Running ECS tasks", unit: unitShort, width: 6, link: toECS,
			desc: "Tasks running in the selected clusters' services.",
			targets: []target{
				q(`sum(`+ecs.sel("aws_ecs_containerinsights_running_task_count_average", clusterSel, rules.ECSServiceLevel)+`)`, "tasks"),
			},
		}),
	)
	row(b, "ECS clusters",
		graph(panel{
			title: "Cluster CPU use", unit: unitPercent, width: 8, steps: upBad(70, 85), link: toECS,
			desc: "CPU used per CPU reserved by each cluster's tasks (recorded rule " + rules.ClusterCPUPercent + ").",
			targets: []target{
				q(ecs.sel(rules.ClusterCPUPercent, clusterSel), "{{dimension_ClusterName}}"),
			},
		}),
		graph(panel{
			title: "Cluster memory use", unit: unitPercent, width: 8, steps: upBad(75, 90), link: toECS,
			desc: "Memory used per memory reserved by each cluster's tasks (recorded rule " + rules.ClusterMemoryPercent + ").",
			targets: []target{
				q(ecs.sel(rules.ClusterMemoryPercent, clusterSel), "{{dimension_ClusterName}}"),
			},
		}),
		graph(panel{
			title: "Running vs desired tasks", unit: unitShort, width: 8, link: toECS,
			desc: "Tasks running and desired, summed over each cluster's services.",
			targets: []target{
				q(`sum by (dimension_ClusterName) (`+ecs.sel("aws_ecs_containerinsights_running_task_count_average", clusterSel, rules.ECSServiceLevel)+`)`, "running {{dimension_ClusterName}}"),
				q(`sum by (dimension_ClusterName) (`+ecs.sel("aws_ecs_containerinsights_desired_task_count_average", clusterSel, rules.ECSServiceLevel)+`)`, "desired {{dimension_ClusterName}}"),
			},
		}),
	)
	row(b, "RDS",
		graph(panel{
			title: "DB connections", unit: unitShort, width: 8, link: toRDS,
			desc: "Client connections per DB instance.",
			targets: []target{
				q(rdsInstance.sel("aws_rds_database_connections_average", dbSel), "{{dimension_DBInstanceIdentifier}}"),
			},
		}),
		graph(panel{
			title: "DB CPU utilization", unit: unitPercent, width: 8, steps: upBad(70, 80), link: toRDS,
			desc: "CPU utilization per DB instance.",
			targets: []target{
				q(rdsInstance.sel("aws_rds_cpuutilization_average", dbSel), "{{dimension_DBInstanceIdentifier}}"),
			},
		}),
		graph(panel{
			title: "DB read / write latency", unit: unitSeconds, width: 8, steps: upBad(0.02, 0.1), link: toRDS,
			desc: "Average disk read and write latency per DB instance.",
			targets: []target{
				q(rdsInstance.sel("aws_rds_read_latency_average", dbSel), "read {{dimension_DBInstanceIdentifier}}"),
				q(rdsInstance.sel("aws_rds_write_latency_average", dbSel), "write {{dimension_DBInstanceIdentifier}}"),
			},
		}),
	)
	row(b, "Application Load Balancers",
		graph(panel{
			title: "Requests per second", unit: unitReqPerSec, width: 8, link: toALB,
			desc: "Requests per second per load balancer (recorded rule " + rules.ALBRequestsPerSecond + ").",
			targets: []target{
				q(alb.sel(rules.ALBRequestsPerSecond, lbSel), "{{dimension_LoadBalancer}}"),
			},
		}),
		graph(panel{
			title: "Target response time", unit: unitSeconds, width: 8, steps: upBad(1, 2), link: toALB,
			desc: "Average and p99 target response time per load balancer.",
			targets: []target{
				q(alb.sel("aws_applicationelb_target_response_time_average", lbRaw), "avg {{dimension_LoadBalancer}}"),
				q(alb.sel("aws_applicationelb_target_response_time_p99", lbRaw), "p99 {{dimension_LoadBalancer}}"),
			},
		}),
		graph(panel{
			title: "Error rate (5xx share)", unit: unitPercentUnit, width: 8, steps: upBad(0.01, 0.05), link: toALB,
			desc: "5xx responses per request, per load balancer and over the account and region (recorded rules).",
			targets: []target{
				q(alb.sel(rules.ALB5xxRatio, lbSel), "{{dimension_LoadBalancer}}"),
				q(sel(rules.Region5xxRatio), "all {{account_id}} {{region}}"),
			},
		}),
	)
	return b
}

// overviewShare is the 5xx share of the newest minute over the load
// balancers lbRaw selects: each count the minute's own sample (CloudWatch
// leaves out zero minutes, see rules.SparseCounts), either 5xx count
// missing read as 0, and no share without requests.
func overviewShare(lbRaw string) string {
	target := "sum(" + alb.minute("aws_applicationelb_httpcode_target_5_xx_count_sum", lbRaw) + ")"
	elb := "sum(" + alb.minute("aws_applicationelb_httpcode_elb_5_xx_count_sum", lbRaw) + ")"
	requests := "sum(" + alb.minute("aws_applicationelb_request_count_sum", lbRaw) + ")"
	return "clamp_max((" + target + " + " + elb + " or " + target + " or " + elb + " or vector(0)) / " + requests + ", 1)"
}
