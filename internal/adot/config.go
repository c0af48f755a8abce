package adot

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v2"
)

// Component ids in the rendered configuration.
const (
	extHealth      = "health_check"
	extSigV4       = "sigv4auth"
	recvPrometheus = "prometheus"
	recvContainers = "awsecscontainermetrics"
	procMemory     = "memory_limiter"
	procDetect     = "resourcedetection/ecs"
	procLabels     = "resource/ecs"
	procBatch      = "batch"
	expRemoteWrite = "prometheusremotewrite"
	// PipelineApp and PipelineContainers are the two metrics pipelines.
	PipelineApp        = "metrics/app"
	PipelineContainers = "metrics/containers"
)

// Config renders the collector configuration for o (validated first).
func Config(o Options) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(build(o))
	if err != nil {
		return "", fmt.Errorf("adot: render: %w", err)
	}
	return string(b), nil
}

// The configuration's shape: only what cwstream sets, in a fixed order.
type (
	collectorConfig struct {
		Extensions extensions `yaml:"extensions"`
		Receivers  receivers  `yaml:"receivers"`
		Processors processors `yaml:"processors"`
		Exporters  exporters  `yaml:"exporters"`
		Service    service    `yaml:"service"`
	}
	extensions struct {
		Health endpoint `yaml:"health_check"`
		SigV4  *sigv4   `yaml:"sigv4auth,omitempty"`
	}
	endpoint struct {
		Endpoint string `yaml:"endpoint"`
	}
	sigv4 struct {
		Service string `yaml:"service"`
		Region  string `yaml:"region"`
	}
	receivers struct {
		Prometheus *promReceiver       `yaml:"prometheus,omitempty"`
		Containers *containersReceiver `yaml:"awsecscontainermetrics,omitempty"`
	}
	promReceiver struct {
		Config promConfig `yaml:"config"`
	}
	promConfig struct {
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
	}
	scrapeConfig struct {
		JobName              string            `yaml:"job_name"`
		ScrapeInterval       model.Duration    `yaml:"scrape_interval"`
		ScrapeTimeout        model.Duration    `yaml:"scrape_timeout"`
		MetricsPath          string            `yaml:"metrics_path"`
		StaticConfigs        []staticConfig    `yaml:"static_configs"`
		MetricRelabelConfigs []*relabel.Config `yaml:"metric_relabel_configs,omitempty"`
	}
	staticConfig struct {
		Targets []string `yaml:"targets"`
	}
	containersReceiver struct {
		CollectionInterval model.Duration `yaml:"collection_interval"`
	}
	processors struct {
		Memory memoryLimiter   `yaml:"memory_limiter"`
		Detect *detect         `yaml:"resourcedetection/ecs,omitempty"`
		Labels *resourceLabels `yaml:"resource/ecs,omitempty"`
		Batch  batch           `yaml:"batch"`
	}
	memoryLimiter struct {
		CheckInterval        model.Duration `yaml:"check_interval"`
		LimitPercentage      int            `yaml:"limit_percentage"`
		SpikeLimitPercentage int            `yaml:"spike_limit_percentage"`
	}
	detect struct {
		Detectors []string       `yaml:"detectors"`
		Timeout   model.Duration `yaml:"timeout"`
		Override  bool           `yaml:"override"`
	}
	resourceLabels struct {
		Attributes []attrAction `yaml:"attributes"`
	}
	attrAction struct {
		Key           string `yaml:"key,omitempty"`
		Action        string `yaml:"action"`
		Value         string `yaml:"value,omitempty"`
		FromAttribute string `yaml:"from_attribute,omitempty"`
		Pattern       string `yaml:"pattern,omitempty"`
	}
	batch struct {
		Timeout model.Duration `yaml:"timeout"`
	}
	exporters struct {
		RemoteWrite remoteWrite `yaml:"prometheusremotewrite"`
	}
	remoteWrite struct {
		Endpoint         string              `yaml:"endpoint"`
		Auth             *auth               `yaml:"auth,omitempty"`
		ExternalLabels   map[string]string   `yaml:"external_labels,omitempty"`
		Resource         telemetryConversion `yaml:"resource_to_telemetry_conversion"`
		TargetInfo       enabled             `yaml:"target_info"`
		DisableScopeInfo bool                `yaml:"disable_scope_info"`
	}
	telemetryConversion struct {
		Enabled bool `yaml:"enabled"`
		// service.name and service.instance.id are already job and
		// instance.
		ExcludeServiceAttributes bool `yaml:"exclude_service_attributes"`
	}
	auth struct {
		Authenticator string `yaml:"authenticator"`
	}
	enabled struct {
		Enabled bool `yaml:"enabled"`
	}
	service struct {
		Telemetry  telemetry           `yaml:"telemetry"`
		Extensions []string            `yaml:"extensions"`
		Pipelines  map[string]pipeline `yaml:"pipelines"`
	}
	telemetry struct {
		Metrics level `yaml:"metrics"`
	}
	level struct {
		Level string `yaml:"level"`
	}
	pipeline struct {
		Receivers  []string `yaml:"receivers"`
		Processors []string `yaml:"processors"`
		Exporters  []string `yaml:"exporters"`
	}
)

// resourceAttrsPattern matches the resource attributes the receivers and
// the ECS detector set that are dropped once the task labels are taken from
// them: with resource_to_telemetry_conversion every one left would become a
// label on every series (task ARNs, image ids, start times: cardinality and
// cost, no use on a dashboard).
const resourceAttrsPattern = `^(aws|cloud|container|server|url|net|http|host|os)\.`

// build turns validated options into the configuration tree.
func build(o Options) collectorConfig {
	interval := model.Duration(o.ScrapeInterval)
	c := collectorConfig{
		// 127.0.0.1, not 0.0.0.0: only the image's /healthcheck, inside the
		// task's network namespace, needs it.
		Extensions: extensions{Health: endpoint{Endpoint: fmt.Sprintf("127.0.0.1:%d", HealthCheckPort)}},
		Processors: processors{
			// Percentages of the container's memory limit: the collector
			// refuses data before the kernel kills it.
			Memory: memoryLimiter{CheckInterval: model.Duration(time.Second), LimitPercentage: 80, SpikeLimitPercentage: 20},
			Batch:  batch{Timeout: model.Duration(10 * time.Second)},
		},
		Exporters: exporters{RemoteWrite: remoteWrite{
			Endpoint:       o.RemoteWriteURL,
			ExternalLabels: o.ExternalLabels,
			Resource:       telemetryConversion{Enabled: o.TaskLabels, ExcludeServiceAttributes: true},
			// The task labels are on every series already; a target_info
			// series per resource would only add samples, and the
			// otel_scope_* labels would name the receiver on every series.
			TargetInfo:       enabled{Enabled: false},
			DisableScopeInfo: true,
		}},
		Service: service{
			// The collector's own metrics would listen on :8888 of the
			// task's shared network namespace, where the application may
			// already be; its health shows in the health check, its logs
			// and the application's up series.
			Telemetry:  telemetry{Metrics: level{Level: "none"}},
			Extensions: []string{extHealth},
			Pipelines:  map[string]pipeline{},
		},
	}
	if o.SigV4 {
		c.Extensions.SigV4 = &sigv4{Service: "aps", Region: o.Region}
		c.Exporters.RemoteWrite.Auth = &auth{Authenticator: extSigV4}
		c.Service.Extensions = append(c.Service.Extensions, extSigV4)
	}
	labels := []string{}
	if o.TaskLabels {
		c.Processors.Labels = &resourceLabels{Attributes: taskLabelActions(o.ServiceName)}
		labels = []string{procLabels}
	}
	out := []string{expRemoteWrite}
	if len(o.ScrapeTargets) > 0 {
		timeout := min(interval, model.Duration(10*time.Second))
		c.Receivers.Prometheus = &promReceiver{Config: promConfig{ScrapeConfigs: []scrapeConfig{{
			JobName:              o.Job,
			ScrapeInterval:       interval,
			ScrapeTimeout:        timeout,
			MetricsPath:          o.MetricsPath,
			StaticConfigs:        []staticConfig{{Targets: slices.Clone(o.ScrapeTargets)}},
			MetricRelabelConfigs: escapeRelabel(o.MetricRelabelConfigs),
		}}}}
		procs := []string{procMemory}
		if o.TaskLabels {
			// The scraped series carry no task metadata: the ECS detector
			// reads it once from the task metadata endpoint.
			c.Processors.Detect = &detect{Detectors: []string{"ecs"}, Timeout: model.Duration(5 * time.Second)}
			procs = append(procs, procDetect)
		}
		procs = append(append(procs, labels...), procBatch)
		c.Service.Pipelines[PipelineApp] = pipeline{Receivers: []string{recvPrometheus}, Processors: procs, Exporters: out}
	}
	if o.ContainerMetrics {
		c.Receivers.Containers = &containersReceiver{CollectionInterval: interval}
		procs := append(append([]string{procMemory}, labels...), procBatch)
		c.Service.Pipelines[PipelineContainers] = pipeline{Receivers: []string{recvContainers}, Processors: procs, Exporters: out}
	}
	return c
}

// taskLabelActions copy cluster, service, task id, account, region and
// container name from
// the resource attributes the ECS detector (application series) or the
// container metrics receiver set into the task labels, then drop the rest.
// Actions run in order; insert never replaces, so a value the task metadata
// has wins over service.
func taskLabelActions(service string) []attrAction {
	a := []attrAction{
		{Key: LabelCluster, Action: "insert", FromAttribute: "aws.ecs.cluster.name"},
		// The detector has the cluster's ARN only.
		{Key: "aws.ecs.cluster.arn", Action: "extract", Pattern: escape(`^arn:[^:]+:ecs:[^:]*:[^:]*:cluster/(?P<` + LabelCluster + `>[^/]+)$`)},
		{Key: LabelTask, Action: "insert", FromAttribute: "aws.ecs.task.id"},
		{Key: LabelService, Action: "insert", FromAttribute: "aws.ecs.service.name"},
		// The metric stream's series carry account_id and region; the same
		// labels let the dashboards' account and region variables select
		// the sidecar's series too.
		{Key: LabelAccount, Action: "insert", FromAttribute: "cloud.account.id"},
		{Key: LabelRegion, Action: "insert", FromAttribute: "cloud.region"},
	}
	if service != "" {
		a = append(a, attrAction{Key: LabelService, Action: "insert", Value: service})
	}
	return append(a,
		attrAction{Key: "container_name", Action: "insert", FromAttribute: "container.name"},
		attrAction{Action: "delete", Pattern: resourceAttrsPattern},
	)
}

// escape doubles every $ of s, which the collector's configuration
// resolver turns back into one (a lone $ before a name or brace would be
// taken for a variable).
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// escapeRelabel returns copies of the rules with every $ doubled: the
// collector expands ${…} in its whole configuration, embedded Prometheus
// configuration included, and turns $$ back into $, so a regex anchor or a
// $1 in a replacement reaches Prometheus unchanged.
func escapeRelabel(in []*relabel.Config) []*relabel.Config {
	if len(in) == 0 {
		return nil
	}
	out := make([]*relabel.Config, 0, len(in))
	for _, rc := range in {
		c := *rc
		c.Replacement = escape(c.Replacement)
		c.Separator = escape(c.Separator)
		c.TargetLabel = escape(c.TargetLabel)
		if rc.Regex.Regexp != nil {
			re, err := relabel.NewRegexp(escape(rc.Regex.String()))
			if err == nil { // "$$" compiles wherever "$" did
				c.Regex = re
			}
		}
		out = append(out, &c)
	}
	return out
}
