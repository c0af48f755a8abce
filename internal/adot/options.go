package adot

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// The collector image and how ECS runs it. The version is pinned (never
// :latest): a new ADOT release is a reviewed change of ImageVersion together
// with tools/adotcheck's go.mod, which validates configurations with the
// same component versions (ADOT v0.49.0 is built from collector-contrib
// v0.156.0).
const (
	ImageRepository = "public.ecr.aws/aws-observability/aws-otel-collector"
	ImageVersion    = "v0.49.0"
	Image           = ImageRepository + ":" + ImageVersion
	// ContainerName is the sidecar's name in the task definition.
	ContainerName = "adot-collector"
	// ConfigEnv is the variable the ADOT image reads its configuration from.
	ConfigEnv = "AOT_CONFIG_CONTENT"
	// HealthCheckPort is where the health_check extension listens; the
	// image's /healthcheck binary asks 127.0.0.1 on this port.
	HealthCheckPort = 13133
	// HealthCheckCommand is the container health check. Exec form: the
	// image has no shell, so CMD-SHELL would always fail.
	HealthCheckBinary = "/healthcheck"
)

// The labels the collector puts on every series it writes, from the ECS
// task metadata endpoint (TaskLabels).
const (
	LabelCluster = "ecs_cluster"
	LabelService = "ecs_service"
	LabelTask    = "ecs_task_id"
	LabelAccount = "account_id"
	LabelRegion  = "region"
)

// Options are the collector's typed settings.
type Options struct {
	// RemoteWriteURL is the AMP workspace's remote-write endpoint
	// (…/workspaces/ws-…/api/v1/remote_write). Required.
	RemoteWriteURL string
	// Region is the workspace's region, the SigV4 signing region.
	// Required with SigV4.
	Region string
	// SigV4 signs the writes for AMP (service aps). Off only for a
	// receiver that takes unsigned writes, such as a local Prometheus in a
	// test.
	SigV4 bool

	// Job is the scrape job's name, the series' job label.
	Job string
	// ScrapeTargets are host:port addresses the prometheus receiver
	// scrapes; in awsvpc mode the application is on localhost. Empty:
	// no application metrics (only ContainerMetrics).
	ScrapeTargets []string
	// ScrapeInterval is how often the targets are scraped (and the
	// container metrics collected).
	ScrapeInterval time.Duration
	// MetricsPath is the targets' metrics path.
	MetricsPath string
	// MetricRelabelConfigs are Prometheus metric_relabel_configs applied to
	// every scraped series before it is written: drop what is not charted,
	// rename, add labels.
	MetricRelabelConfigs []*relabel.Config

	// ContainerMetrics adds the awsecscontainermetrics receiver: task- and
	// container-level CPU, memory, network and storage from the task
	// metadata endpoint (Fargate platform 1.4+, ECS agent 1.39+ on EC2).
	ContainerMetrics bool
	// TaskLabels labels every series with LabelCluster, LabelTask (from the
	// task metadata endpoint) and LabelService (from the task metadata where
	// ECS reports it, else ServiceName).
	TaskLabels bool
	// ServiceName, when set, is the LabelService value of the application
	// series (the task metadata of the collector's own detector has no
	// service name).
	ServiceName string
	// ExternalLabels are added to every series (for example env).
	ExternalLabels map[string]string
}

// DefaultOptions are the design's: scrape localhost:8080/metrics every 30 s,
// container metrics, task labels, SigV4. RemoteWriteURL and Region must
// still be set.
func DefaultOptions() Options {
	return Options{
		SigV4:            true,
		Job:              "app",
		ScrapeTargets:    []string{"localhost:8080"},
		ScrapeInterval:   30 * time.Second,
		MetricsPath:      "/metrics",
		ContainerMetrics: true,
		TaskLabels:       true,
	}
}

// OptionError names the option at fault.
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string { return "adot: " + e.Option + ": " + e.Reason }

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	jobRE    = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]*$`)
	// tokenRE matches a CDK token ("${Token[…]}"): the construct passes the
	// workspace URL and names unresolved; CloudFormation resolves them.
	tokenRE = regexp.MustCompile(`\$\{Token\[[^\]]+\]\}`)
)

// Validate reports the first bad option.
func (o Options) Validate() error {
	bad := func(opt, format string, args ...any) error {
		return &OptionError{Option: opt, Reason: fmt.Sprintf(format, args...)}
	}
	if o.RemoteWriteURL == "" {
		return bad("RemoteWriteURL", "required")
	}
	if !tokenRE.MatchString(o.RemoteWriteURL) {
		u, err := url.Parse(o.RemoteWriteURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("RemoteWriteURL", "%q is not an http(s) URL", o.RemoteWriteURL)
		}
		if o.SigV4 && u.Scheme != "https" {
			return bad("RemoteWriteURL", "%q: AMP takes SigV4-signed writes over https only", o.RemoteWriteURL)
		}
	}
	if o.SigV4 && o.Region == "" {
		return bad("Region", "required with SigV4 (the workspace's region)")
	}
	if o.Region != "" && !tokenRE.MatchString(o.Region) && !regionRE.MatchString(o.Region) {
		return bad("Region", "%q is not a region name", o.Region)
	}
	if len(o.ScrapeTargets) == 0 && !o.ContainerMetrics {
		return bad("ScrapeTargets", "nothing to collect: no scrape target and no container metrics")
	}
	for i, t := range o.ScrapeTargets {
		host, port, err := net.SplitHostPort(t)
		if err != nil || host == "" || port == "" {
			return bad(fmt.Sprintf("ScrapeTargets[%d]", i), "%q is not host:port", t)
		}
	}
	if len(o.ScrapeTargets) > 0 {
		if !jobRE.MatchString(o.Job) {
			return bad("Job", "%q is not a job name", o.Job)
		}
		if !strings.HasPrefix(o.MetricsPath, "/") {
			return bad("MetricsPath", "%q must start with /", o.MetricsPath)
		}
	}
	if o.ScrapeInterval < time.Second {
		return bad("ScrapeInterval", "%v: want at least 1s", o.ScrapeInterval)
	}
	for i, rc := range o.MetricRelabelConfigs {
		if rc == nil {
			return bad(fmt.Sprintf("MetricRelabelConfigs[%d]", i), "nil")
		}
		if err := rc.Validate(model.UTF8Validation); err != nil {
			return bad(fmt.Sprintf("MetricRelabelConfigs[%d]", i), "%v", err)
		}
	}
	for k := range o.ExternalLabels {
		if !model.LabelName(k).IsValidLegacy() || strings.HasPrefix(k, "__") {
			return bad("ExternalLabels", "%q is not a label name", k)
		}
	}
	return nil
}
