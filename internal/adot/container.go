package adot

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Sidecar sizing. The collector scraping one application and reading the
// task metadata every 30 s uses a few percent of a vCPU and well under 100
// MiB; the limits leave room for a scrape of some thousand series and the
// remote-write queue while AMP is slow, and memory_limiter (80 % of the
// limit) refuses data before the kernel would kill the container.
const (
	// CPUUnits is the container's CPU share (1024 = 1 vCPU).
	CPUUnits = 128
	// MemoryLimitMiB is the container's hard memory limit.
	MemoryLimitMiB = 256
	// MemoryReservationMiB is its soft reservation (EC2 placement).
	MemoryReservationMiB = 128
)

// ContainerUser is the image's own non-root user (its Dockerfile's USER
// aoc); the task definition names it so a check of the task definition
// alone can see the container does not run as root.
const ContainerUser = "aoc"

// ReadonlyRootFilesystem: the configuration uses nothing that writes to
// disk (no file storage, no write-ahead log), so the container's root file
// system can be read-only.
const ReadonlyRootFilesystem = true

// Health check timing: the collector is up in a few seconds; three failed
// checks 30 s apart mark it unhealthy.
const (
	HealthCheckIntervalSeconds = 30
	HealthCheckTimeoutSeconds  = 5
	HealthCheckRetries         = 3
	HealthCheckStartSeconds    = 15
)

// Essential is false on purpose: the collector is observability, not the
// service. A non-essential container that stops does not stop the task, so
// a collector crash or a misconfiguration loses metrics, never traffic.
// Its failure shows as the application's series going stale (the up series
// and the dashboards' sidecar panels), its log group says why, and ECS
// restarts the whole task only when an essential container exits.
const Essential = false

// LogOptions place the sidecar's logs (awslogs driver).
type LogOptions struct {
	Group        string
	Region       string
	StreamPrefix string
}

// ContainerDefinition renders the sidecar's ECS container definition (one
// element of a task definition's containerDefinitions) with the
// configuration of o in AOT_CONFIG_CONTENT.
func ContainerDefinition(o Options, logs LogOptions) ([]byte, error) {
	cfg, err := Config(o)
	if err != nil {
		return nil, err
	}
	if logs.Group == "" || logs.Region == "" {
		return nil, &OptionError{Option: "LogOptions", Reason: "log group and region are required"}
	}
	if logs.StreamPrefix == "" {
		logs.StreamPrefix = ContainerName
	}
	def := containerDefinition{
		Name:              ContainerName,
		Image:             Image,
		Essential:         Essential,
		CPU:               CPUUnits,
		Memory:            MemoryLimitMiB,
		MemoryReservation: MemoryReservationMiB,
		User:              ContainerUser,
		ReadonlyRootFS:    ReadonlyRootFilesystem,
		Environment:       []keyValue{{Name: ConfigEnv, Value: cfg}},
		HealthCheck:       HealthCheck(),
		LogConfiguration: logConfiguration{LogDriver: "awslogs", Options: map[string]string{
			"awslogs-group":         logs.Group,
			"awslogs-region":        logs.Region,
			"awslogs-stream-prefix": logs.StreamPrefix,
		}},
	}
	// Not HTML-escaped: the YAML's regex groups (?P<name>) stay readable.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(def); err != nil {
		return nil, fmt.Errorf("adot: container definition: %w", err)
	}
	return b.Bytes(), nil
}

// HealthCheckSpec is an ECS container health check.
type HealthCheckSpec struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval"`
	Timeout     int      `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod int      `json:"startPeriod"`
}

// HealthCheck is the sidecar's health check: the image's own /healthcheck
// binary, which asks the health_check extension.
func HealthCheck() HealthCheckSpec {
	return HealthCheckSpec{
		Command:     []string{"CMD", HealthCheckBinary},
		Interval:    HealthCheckIntervalSeconds,
		Timeout:     HealthCheckTimeoutSeconds,
		Retries:     HealthCheckRetries,
		StartPeriod: HealthCheckStartSeconds,
	}
}

type containerDefinition struct {
	Name              string           `json:"name"`
	Image             string           `json:"image"`
	Essential         bool             `json:"essential"`
	CPU               int              `json:"cpu"`
	Memory            int              `json:"memory"`
	MemoryReservation int              `json:"memoryReservation"`
	User              string           `json:"user"`
	ReadonlyRootFS    bool             `json:"readonlyRootFilesystem"`
	Environment       []keyValue       `json:"environment"`
	HealthCheck       HealthCheckSpec  `json:"healthCheck"`
	LogConfiguration  logConfiguration `json:"logConfiguration"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}
