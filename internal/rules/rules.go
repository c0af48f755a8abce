// Package rules is cwstream's Prometheus rule file as code: recording rules
// for the dashboards' expensive expressions and alerts on ALB, RDS, ECS,
// the stream itself and the ADOT collector sidecars. The same file is loaded
// and unit-tested by the Prometheus rule engine of the pinned module
// (engine_test.go), run over a lagged delivery timeline against a real
// Prometheus (lag_test.go), and uploaded to the AMP rule groups namespace.
//
// AlertManagerDefinition gives the matching AMP alert manager definition,
// which sends every alert to one SNS topic, grouped by environment and
// severity.
//
// Every expression aggregates by the labels alerts are routed and read by:
// env (an external label), account_id, region and the resource's dimension.
//
// Every group carries a query_offset: the groups on CloudWatch data
// evaluate Options.QueryOffset in the past, where every piece of a minute
// has arrived (see DefaultQueryOffset); the sidecar group, whose data the
// ADOT collectors write as they scrape, evaluates at the present.
package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/cwstream/cwstream/internal/adot"
)

// Recorded series, used by the dashboards as well as the alerts.
const (
	// ALBRequestsPerSecond: requests per second per load balancer.
	ALBRequestsPerSecond = "loadbalancer:aws_applicationelb_requests:per_second"
	// ALB5xxRatio: 5xx responses (from targets and from the load balancer)
	// per request, per load balancer, 0–1.
	ALB5xxRatio = "loadbalancer:aws_applicationelb_5xx:ratio"
	// Region5xxRatio: the same over all load balancers of an account and region.
	Region5xxRatio = "region:aws_applicationelb_5xx:ratio"
	// ClusterCPUPercent: ECS cluster CPU used per CPU reserved, 0–100.
	ClusterCPUPercent = "cluster:aws_ecs_containerinsights_cpu:utilization_percent"
	// ClusterMemoryPercent: ECS cluster memory used per memory reserved, 0–100.
	ClusterMemoryPercent = "cluster:aws_ecs_containerinsights_memory:utilization_percent"
)

// Selector fragments shared with the dashboards. A CloudWatch metric comes
// in several dimension sets (an ALB's RequestCount per load balancer, per
// target group, per zone); an empty-label matcher picks exactly one set, so
// sums never count a request twice.
const (
	// ALBLoadBalancerLevel selects the series per load balancer only.
	ALBLoadBalancerLevel = `dimension_TargetGroup="",dimension_AvailabilityZone=""`
	// ALBTargetGroupLevel selects the series per target group (all zones).
	ALBTargetGroupLevel = `dimension_TargetGroup!="",dimension_AvailabilityZone=""`
	// ECSClusterLevel selects Container Insights' per-cluster series.
	ECSClusterLevel = `dimension_ServiceName="",dimension_TaskDefinitionFamily="",dimension_ContainerInstanceId="",dimension_EC2InstanceId=""`
	// ECSServiceLevel selects the per-service series (AWS/ECS and Container Insights).
	ECSServiceLevel = `dimension_ServiceName!="",dimension_TaskDefinitionFamily="",dimension_TaskId="",dimension_ContainerName=""`
	// RDSInstanceLevel selects the per-DB-instance series.
	RDSInstanceLevel = `dimension_DBInstanceIdentifier!=""`
)

// keep are the labels every aggregation keeps: Alertmanager groups by env,
// and the alert text names the account and region.
const keep = "env, account_id, region"

// DefaultQueryOffset is how far in the past the groups on CloudWatch data
// evaluate. With Firehose's minimum buffering (60 s, the processor buffer
// interval cwstream sets by default) AWS expects a metric stream's data at
// its destination within 3 minutes
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-metric-streams-setup.html);
// one minute more covers the Lambda, its retries and the write, so DataLag,
// the age of the newest sample when it is written, stays within 4 minutes. With 4 minutes the newest minute a rule reads at
// T (the one stamped at or before T-4m) has all its pieces: a 5xx share
// never divides one minute's requests by another's errors, and a `for:`
// counts minutes that have all their data. Alerts fire up to that much
// later than on data read at the present; the lag simulation (lag_test.go)
// checks both. It cannot be larger without a cost: see MaxQueryOffset.
const DefaultQueryOffset = 4 * time.Minute

// MaxQueryOffset bounds the offset below PromQL's 5-minute lookback. A
// recording rule evaluated at T stamps its sample T-offset; a query at the
// present sees only samples within the lookback, (now-5m, now], so with an
// offset of 5 minutes or more every recorded series the dashboards read
// would show "No data" for its newest minutes. AMP itself takes up to
// 86400 s (ruleQueryOffsetInSeconds).
const MaxQueryOffset = 5*time.Minute - time.Second

// Options are the thresholds that depend on the installation.
type Options struct {
	// QueryOffset is the query_offset of the groups on CloudWatch data
	// (DefaultQueryOffset).
	QueryOffset time.Duration
	// RDSMaxConnections is the max_connections of the databases; CloudWatch
	// does not publish it, so the alert compares against 80 % of this.
	RDSMaxConnections float64
	// RDSFreeMemoryBytes: freeable memory below this alerts.
	RDSFreeMemoryBytes float64
	// RDSFreeStorageBytes: free storage below this alerts.
	RDSFreeStorageBytes float64
	// ALBP99Seconds: target response time p99 above this alerts.
	ALBP99Seconds float64
	// ALB5xxRatio: a 5xx share above this (0–1) alerts.
	ALB5xxRatio float64
	// Env, when set, labels the pipeline alerts that carry no series labels
	// (absent() has none), so Alertmanager still groups them by env.
	Env string
	// RunbookBase is the URL of the operations guide; each alert's runbook
	// is an anchor in it.
	RunbookBase string
}

// DefaultOptions returns thresholds suited to small production databases and
// web services.
func DefaultOptions() Options {
	return Options{
		RDSMaxConnections:   1000,
		RDSFreeMemoryBytes:  256 << 20,
		RDSFreeStorageBytes: 10 << 30,
		ALBP99Seconds:       2,
		ALB5xxRatio:         0.05,
		QueryOffset:         DefaultQueryOffset,
		RunbookBase:         "https://github.com/cwstream/cwstream/blob/main/docs/operations.md",
	}
}

// Validate reports the first option that cannot give a sensible rule.
func (o Options) Validate() error {
	for _, c := range []struct {
		name string
		v    float64
	}{
		{"RDSMaxConnections", o.RDSMaxConnections},
		{"RDSFreeMemoryBytes", o.RDSFreeMemoryBytes},
		{"RDSFreeStorageBytes", o.RDSFreeStorageBytes},
		{"ALBP99Seconds", o.ALBP99Seconds},
		{"ALB5xxRatio", o.ALB5xxRatio},
	} {
		if !(c.v > 0) {
			return fmt.Errorf("rules options: %s must be > 0, got %v", c.name, c.v)
		}
	}
	if o.ALB5xxRatio >= 1 {
		return fmt.Errorf("rules options: ALB5xxRatio is a share (0–1), got %v", o.ALB5xxRatio)
	}
	if o.RunbookBase == "" {
		return fmt.Errorf("rules options: RunbookBase is empty")
	}
	if o.QueryOffset < 0 || o.QueryOffset > MaxQueryOffset || o.QueryOffset%time.Second != 0 {
		return fmt.Errorf("rules options: QueryOffset %v is not whole seconds within 0..%v (below the 5-minute lookback, so that recorded series stay visible at the present)", o.QueryOffset, MaxQueryOffset)
	}
	return nil
}

// File is a Prometheus rule file.
type File struct {
	Groups []Group `yaml:"groups"`
}

// Group is one rule group.
type Group struct {
	Name string `yaml:"name"`
	// QueryOffset is how far in the past the group evaluates (a Prometheus
	// duration, "6m"). Every cwstream group sets it, "0s" included: a group
	// without one takes the workspace's rule query offset instead.
	// Prometheus knows it since 2.53; Debian's 2.42 rejects the file.
	QueryOffset string `yaml:"query_offset,omitempty"`
	Rules       []Rule `yaml:"rules"`
}

// Rule is a recording rule (Record set) or an alert (Alert set).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
	// Probe is a query that returns data whenever the stream delivers the
	// series the rule reads, even when the alert is not firing: the alert's
	// measured value without the threshold. Tests run it against real
	// Prometheus to prove the rule reads series that exist. Not written to
	// the file.
	Probe string `yaml:"-"`
}

// Name returns the rule's record or alert name.
func (r Rule) Name() string {
	if r.Record != "" {
		return r.Record
	}
	return r.Alert
}

// Build returns the rule groups for o.
func Build(o Options) (File, error) {
	if err := o.Validate(); err != nil {
		return File{}, err
	}
	stream := duration(o.QueryOffset)
	return File{Groups: []Group{
		{Name: "cwstream-recording", QueryOffset: stream, Rules: recording()},
		{Name: "cwstream-alb", QueryOffset: stream, Rules: albAlerts(o)},
		{Name: "cwstream-rds", QueryOffset: stream, Rules: rdsAlerts(o)},
		{Name: "cwstream-ecs", QueryOffset: stream, Rules: ecsAlerts(o)},
		{Name: "cwstream-pipeline", QueryOffset: stream, Rules: pipelineAlerts(o)},
		// The ADOT collectors write what they scrape within seconds; an
		// offset would only delay these alerts.
		{Name: "cwstream-sidecar", QueryOffset: duration(0), Rules: sidecarAlerts(o)},
	}}, nil
}

// duration formats d as Prometheus writes durations ("6m", "0s").
func duration(d time.Duration) string { return model.Duration(d).String() }

// StripQueryOffsets returns f without the groups' query offsets, for a
// Prometheus older than 2.53 (the tests' Debian 2.42), which rejects the
// field. Its rules then evaluate at the present.
func (f File) StripQueryOffsets() File {
	groups := make([]Group, len(f.Groups))
	for i, g := range f.Groups {
		g.QueryOffset = ""
		groups[i] = g
	}
	return File{Groups: groups}
}

// Marshal encodes f as a rule file.
func (f File) Marshal() ([]byte, error) {
	b, err := yaml.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("rules: encode rule file: %w", err)
	}
	return append([]byte("# Generated by cwstream (internal/rules); do not edit.\n"), b...), nil
}

// Text returns the rule file with the default options, for the CLI and the
// CDK app (AMP's rule groups namespace takes this text as its data).
func Text() (string, error) {
	f, err := Build(DefaultOptions())
	if err != nil {
		return "", err
	}
	b, err := f.Marshal()
	return string(b), err
}

// SparseCounts are the count metrics the rules and dashboards read that
// CloudWatch publishes only for minutes in which they are non-zero: the ALB
// user guide gives them "Reporting criteria: There is a nonzero value"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html),
// and a metric stream streams what CloudWatch has. A missing minute of
// these is a zero, not a gap. (The gauges read here, host counts, CPU,
// memory, storage, connections, replica lag, task counts, are published
// every minute while the resource exists; a missing minute of those is
// missing data.)
var SparseCounts = []string{
	"aws_applicationelb_request_count_sum",
	"aws_applicationelb_httpcode_target_5_xx_count_sum",
	"aws_applicationelb_httpcode_elb_5_xx_count_sum",
	"aws_applicationelb_rejected_connection_count_sum",
}

// minute is the value of the newest minute of a count: the one sample
// stamped within the last minute, and nothing when CloudWatch left that
// minute out. A plain selector would instead repeat the last non-zero
// minute for the 5 minutes of PromQL's lookback: one minute of errors
// would count five times, and an alert on it could not resolve before the
// lookback ran out.
func minute(selector string) string { return "sum_over_time(" + selector + "[1m])" }

func recording() []Rule {
	lb := "sum by (" + keep + ", dimension_LoadBalancer) "
	region := "sum by (" + keep + ") "
	requestsSel := "aws_applicationelb_request_count_sum{" + ALBLoadBalancerLevel + "}"
	requests := "(" + minute(requestsSel) + ")"
	// The 5xx from the targets plus those from the load balancer, where
	// either may be missing: sum_over_time drops the metric name, so the
	// two cannot go through one sum without colliding.
	errors5xx := func(by string) string {
		target := by + "(" + minute("aws_applicationelb_httpcode_target_5_xx_count_sum{"+ALBLoadBalancerLevel+"}") + ")"
		elb := by + "(" + minute("aws_applicationelb_httpcode_elb_5_xx_count_sum{"+ALBLoadBalancerLevel+"}") + ")"
		return "(" + target + " + " + elb + " or " + target + " or " + elb + ")"
	}
	// A minute without 5xx has no 5xx sample (see SparseCounts): the share
	// is then 0, not "no data". Without requests there is no share.
	share := func(by string) string {
		return "clamp_max(" + errors5xx(by) + " / " + by + requests + ", 1)\nor\n" + by + requests + " * 0"
	}
	// Nor is a minute without requests a gap: a load balancer seen within
	// the hour served 0 requests per second.
	perSecond := lb + requests + " / 60\nor\n" + lb + "(last_over_time(" + requestsSel + "[1h])) * 0"
	ratio := func(used, reserved string) string {
		return "100 * aws_ecs_containerinsights_" + used + "_average{" + ECSClusterLevel + "}\n/\naws_ecs_containerinsights_" + reserved + "_average{" + ECSClusterLevel + "}"
	}
	return []Rule{
		{Record: ALBRequestsPerSecond, Expr: perSecond},
		{Record: ALB5xxRatio, Expr: share(lb)},
		{Record: Region5xxRatio, Expr: share(region)},
		{Record: ClusterCPUPercent, Expr: ratio("cpu_utilized", "cpu_reserved")},
		{Record: ClusterMemoryPercent, Expr: ratio("memory_utilized", "memory_reserved")},
	}
}

// alert builds an alert firing when value op threshold holds for dur.
func alert(o Options, name, severity, dur, value, op string, threshold float64, summary, description string) Rule {
	return rule(o, name, severity, dur, value+" "+op+" "+num(threshold), value, summary, description)
}

// rule is an alert on any expression; probe is the query that shows its
// input has data.
func rule(o Options, name, severity, dur, expr, probe, summary, description string) Rule {
	return Rule{
		Alert: name,
		Expr:  expr,
		For:   dur,
		Labels: map[string]string{
			"severity": severity,
		},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": runbook(o, name),
		},
		Probe: probe,
	}
}

func runbook(o Options, name string) string {
	return o.RunbookBase + "#" + strings.ToLower(name)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

const where = "{{ $labels.env }} account {{ $labels.account_id }} {{ $labels.region }}"

func albAlerts(o Options) []Rule {
	lb := "{{ $labels.dimension_LoadBalancer }}"
	tg := "{{ $labels.dimension_TargetGroup }}"
	byLB := "by (" + keep + ", dimension_LoadBalancer) "
	byTG := "by (" + keep + ", dimension_LoadBalancer, dimension_TargetGroup) "
	share := alert(o, "ALBHigh5xxShare", "critical", "5m",
		ALB5xxRatio, ">", o.ALB5xxRatio,
		"ALB "+lb+": {{ $value | humanizePercentage }} of requests end in 5xx",
		"More than "+num(o.ALB5xxRatio*100)+" % of the requests to "+lb+" ("+where+") got a 5xx response for 5 minutes.")
	// Ignore near-idle load balancers: two errors out of three requests is
	// not an outage.
	share.Expr += "\nand on (" + keep + ", dimension_LoadBalancer)\n" + ALBRequestsPerSecond + " > 1"
	return []Rule{
		share,
		alert(o, "ALBTargetResponseTimeP99High", "warning", "10m",
			"max "+byLB+"(aws_applicationelb_target_response_time_p99{"+ALBLoadBalancerLevel+"})", ">", o.ALBP99Seconds,
			"ALB "+lb+": p99 target response time {{ $value | humanizeDuration }}",
			"The 99th percentile of target response time of "+lb+" ("+where+") has been above "+num(o.ALBP99Seconds)+" s for 10 minutes."),
		alert(o, "ALBUnhealthyHosts", "warning", "5m",
			"max "+byTG+"(aws_applicationelb_un_healthy_host_count_maximum{"+ALBTargetGroupLevel+"})", ">", 0,
			"ALB "+lb+": {{ $value }} unhealthy targets in "+tg,
			"Target group "+tg+" of "+lb+" ("+where+") has had unhealthy targets for 5 minutes."),
		alert(o, "ALBNoHealthyHosts", "critical", "2m",
			"min "+byTG+"(aws_applicationelb_healthy_host_count_minimum{"+ALBTargetGroupLevel+"})", "<", 1,
			"ALB "+lb+": no healthy target in "+tg,
			"Target group "+tg+" of "+lb+" ("+where+") has had no healthy target for 2 minutes: its requests fail."),
		alert(o, "ALBRejectedConnections", "warning", "5m",
			"sum "+byLB+"("+minute("aws_applicationelb_rejected_connection_count_sum{"+ALBLoadBalancerLevel+"}")+")", ">", 0,
			"ALB "+lb+": {{ $value }} connections rejected per minute",
			"The load balancer "+lb+" ("+where+") rejected connections because it reached its maximum number of connections."),
	}
}

func rdsAlerts(o Options) []Rule {
	db := "{{ $labels.dimension_DBInstanceIdentifier }}"
	by := "by (" + keep + ", dimension_DBInstanceIdentifier) "
	free := "min " + by + "(aws_rds_free_storage_space_minimum{" + RDSInstanceLevel + "})"
	fillsUp := alert(o, "RDSStorageFullIn24h", "warning", "30m",
		"min "+by+"(predict_linear(aws_rds_free_storage_space_minimum{"+RDSInstanceLevel+"}[6h], 86400))", "<", 0,
		"RDS "+db+": storage will be full within 24 h at the current rate",
		"Free storage of "+db+" ("+where+") falls fast enough to run out within a day.")
	fillsUp.Probe = free
	return []Rule{
		alert(o, "RDSCPUHigh", "warning", "15m",
			"max "+by+"(aws_rds_cpuutilization_average{"+RDSInstanceLevel+"})", ">", 80,
			"RDS "+db+": CPU {{ $value | humanize }} %",
			"CPU utilization of "+db+" ("+where+") has been above 80 % for 15 minutes."),
		alert(o, "RDSFreeableMemoryLow", "warning", "10m",
			"min "+by+"(aws_rds_freeable_memory_minimum{"+RDSInstanceLevel+"})", "<", o.RDSFreeMemoryBytes,
			"RDS "+db+": freeable memory {{ $value | humanize1024 }}B",
			"Freeable memory of "+db+" ("+where+") has been below "+num(o.RDSFreeMemoryBytes/(1<<20))+" MiB for 10 minutes."),
		alert(o, "RDSFreeStorageLow", "critical", "15m",
			free, "<", o.RDSFreeStorageBytes,
			"RDS "+db+": free storage {{ $value | humanize1024 }}B",
			"Free storage of "+db+" ("+where+") has been below "+num(o.RDSFreeStorageBytes/(1<<30))+" GiB for 15 minutes."),
		fillsUp,
		alert(o, "RDSConnectionsNearMax", "warning", "10m",
			"max "+by+"(aws_rds_database_connections_maximum{"+RDSInstanceLevel+"})", ">", 0.8*o.RDSMaxConnections,
			"RDS "+db+": {{ $value }} connections, near max_connections",
			"Connections to "+db+" ("+where+") have been above 80 % of "+num(o.RDSMaxConnections)+" for 10 minutes; new connections will soon be refused."),
		alert(o, "RDSReplicaLagHigh", "warning", "10m",
			"max "+by+"(aws_rds_replica_lag_maximum{"+RDSInstanceLevel+"})", ">", 30,
			"RDS "+db+": replica lag {{ $value | humanizeDuration }}",
			"The read replica "+db+" ("+where+") has been more than 30 s behind its source for 10 minutes."),
	}
}

func ecsAlerts(o Options) []Rule {
	svc := "{{ $labels.dimension_ClusterName }}/{{ $labels.dimension_ServiceName }}"
	by := "by (" + keep + ", dimension_ClusterName, dimension_ServiceName) "
	running := "max " + by + "(aws_ecs_containerinsights_running_task_count_average{" + ECSServiceLevel + "})"
	desired := "max " + by + "(aws_ecs_containerinsights_desired_task_count_average{" + ECSServiceLevel + "})"
	below := alert(o, "ECSServiceRunningBelowDesired", "warning", "15m",
		desired+"\n- "+running, ">", 0,
		"ECS "+svc+": {{ $value }} tasks fewer than desired",
		"Service "+svc+" ("+where+") has run fewer tasks than desired for 15 minutes: tasks fail to start or keep stopping.")
	return []Rule{
		alert(o, "ECSServiceCPUHigh", "warning", "15m",
			"max "+by+"(aws_ecs_cpuutilization_average{"+ECSServiceLevel+"})", ">", 85,
			"ECS "+svc+": CPU {{ $value | humanize }} %",
			"CPU utilization of service "+svc+" ("+where+") has been above 85 % of its reservation for 15 minutes."),
		alert(o, "ECSServiceMemoryHigh", "warning", "15m",
			"max "+by+"(aws_ecs_memory_utilization_average{"+ECSServiceLevel+"})", ">", 90,
			"ECS "+svc+": memory {{ $value | humanize }} %",
			"Memory utilization of service "+svc+" ("+where+") has been above 90 % of its reservation for 15 minutes; tasks risk being killed out of memory."),
		below,
	}
}

func pipelineAlerts(o Options) []Rule {
	// absent_over_time and not absent: CloudWatch data arrives minutes
	// late, so a short gap must not fire.
	noData := rule(o, "CWStreamNoData", "critical", "5m",
		`absent_over_time({__name__=~"aws_.+"}[10m])`, `{__name__=~"aws_.+"}`,
		"No CloudWatch metric stream data for 15 minutes",
		"No aws_* series has received a sample for 15 minutes: the metric stream, Firehose or the ingest Lambda is broken, or remote write to AMP fails.")
	if o.Env != "" {
		noData.Labels["env"] = o.Env
	}
	present := "group by (" + keep + `) ({__name__=~"aws_.+"})`
	// Data an hour ago, none now (a 5-minute lookback): one account or
	// region stopped while others still stream.
	stopped := rule(o, "CWStreamAccountRegionStopped", "warning", "10m",
		"group by ("+keep+`) ({__name__=~"aws_.+"} offset 1h)`+"\nunless\n"+present, present,
		"No stream data from account {{ $labels.account_id }} {{ $labels.region }}",
		"Account {{ $labels.account_id }} in {{ $labels.region }} ({{ $labels.env }}) streamed metrics an hour ago but has sent none for 15 minutes.")
	return []Rule{noData, stopped}
}

// sidecarUp selects the up series the ADOT collector sidecars write: one per
// scrape target and task, written at every scrape (1 scraped, 0 failed),
// whatever the metric relabel rules drop, since Prometheus does not relabel
// its own report series. The task id label tells them from any other
// writer's up.
var sidecarUp = "up{" + adot.LabelTask + `!=""}`

// sidecarJob are the labels of a sidecar job that a deployment keeps: ECS
// replaces every task (new task ids) but not the cluster, the service or
// the scrape job.
var sidecarJob = keep + ", " + adot.LabelCluster + ", " + adot.LabelService + ", job"

func sidecarAlerts(o Options) []Rule {
	svc := "{{ $labels." + adot.LabelCluster + " }}/{{ $labels." + adot.LabelService + " }}"
	job := "{{ $labels.job }}"
	task := "{{ $labels." + adot.LabelTask + " }}"
	present := "group by (" + sidecarJob + ") (" + sidecarUp + ")"
	// Per job, not per task: the old tasks' series end at every
	// deployment and the new tasks' start under the same job, so only a
	// job no task writes any more is missing. The hour is how long a job
	// is remembered: a service scaled to zero or deleted alerts until its
	// last sample is an hour old.
	stopped := rule(o, "ADOTSidecarStopped", "warning", "5m",
		"group by ("+sidecarJob+") (last_over_time("+sidecarUp+"[1h]))\nunless\n"+present, present,
		"ADOT sidecars of "+svc+" stopped writing job "+job,
		"The ADOT collector sidecars of service "+svc+" ("+where+") wrote series of job "+job+
			" within the last hour but no task has written any for about 10 minutes: the collectors stopped, their remote write to AMP fails, or the service runs no task.")
	// Per task and target: at a deployment a new task's application may
	// take a while to answer and an old one's stops before its sidecar;
	// neither lasts 5 minutes. max_over_time, not the instant up: a stopped
	// task's last up, often 0, would count for another 5 minutes of
	// lookback (the collector writes no staleness marker when it is
	// stopped), so a 3-minute shutdown would alert. Over 5 minutes (the
	// lookback, so any scrape interval the instant up works with works)
	// it is below 1 only while every sample in the window is 0, for as
	// long as the failures lasted, 5 minutes after they began.
	down := alert(o, "ADOTScrapeTargetDown", "warning", "5m",
		"max by ("+sidecarJob+", "+adot.LabelTask+", instance) (max_over_time("+sidecarUp+"[5m]))", "<", 1,
		"ADOT sidecar in "+svc+" task "+task+" cannot scrape {{ $labels.instance }}",
		"The ADOT collector sidecar of task "+task+" of "+svc+" ("+where+") has failed to scrape target {{ $labels.instance }} of job "+job+" for 5 minutes: the metrics of the application in that task do not reach AMP.")
	return []Rule{stopped, down}
}
