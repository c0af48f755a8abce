package main

import (
	"time"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cwstream/cwstream/internal/rules"
	"github.com/cwstream/cwstream/internal/streamsel"
	"github.com/cwstream/cwstream/internal/wire"
)

// ContextKeyEnvironments is the cdk.json context key that holds one object per
// environment; ContextKeyEnv is the context key (`-c env=dev`) that selects one.
const (
	ContextKeyEnvironments = "environments"
	ContextKeyEnv          = "env"
)

// EnvConfig is one environment's settings, read from cdk.json context. JSON
// names are the keys users write; every field has a default (see
// defaultEnvConfig) except the ones marked required in Validate.
type EnvConfig struct {
	// Name is the environment's key in cdk.json; it is not read from JSON.
	Name string `json:"-"`
	// Account is the AWS account; empty means CDK_DEFAULT_ACCOUNT, and if that
	// is empty too the stacks are account-agnostic (synth still works offline).
	Account string `json:"account"`
	// Region holds the workspace stack (AMP, AMG); empty means CDK_DEFAULT_REGION.
	Region string `json:"region"`
	// IngestRegions get one ingest stack each (metric streams are regional);
	// empty means [Region].
	IngestRegions []string `json:"ingestRegions"`
	// ConfigFile is the cwstream YAML file bundled with the function, relative
	// to the repository root.
	ConfigFile string `json:"configFile"`
	// RulesFile optionally replaces the default Prometheus rule file (relative
	// to the repository root).
	RulesFile string `json:"rulesFile"`
	// Retain keeps buckets, keys and the AMP workspace when a stack is deleted.
	Retain bool              `json:"retain"`
	Tags   map[string]string `json:"tags"`

	Prometheus PrometheusConfig `json:"prometheus"`
	Grafana    GrafanaConfig    `json:"grafana"`
	Alerts     AlertsConfig     `json:"alerts"`
	Stream     StreamConfig     `json:"stream"`
	Firehose   FirehoseConfig   `json:"firehose"`
	Lambda     LambdaConfig     `json:"lambda"`
	Bucket     BucketConfig     `json:"bucket"`
	EcsDemo    EcsDemoConfig    `json:"ecsDemo"`
	// Network, when set, runs the ingest function of the workspace's region
	// in private subnets behind an AMP interface endpoint.
	Network *NetworkConfig `json:"network"`
}

// NetworkConfig places the ingest function in a VPC. Either VpcID and
// SubnetIDs name an existing VPC and its private subnets, or both are empty
// and the stack creates a VPC of VpcCidr with two isolated subnets.
type NetworkConfig struct {
	VpcID     string   `json:"vpcId"`
	SubnetIDs []string `json:"subnetIds"`
	VpcCidr   string   `json:"vpcCidr"`
}

// PrometheusConfig configures the AMP workspace.
type PrometheusConfig struct {
	Alias         string `json:"alias"`
	RetentionDays int    `json:"retentionDays"`
	// OutOfOrderWindowSeconds lets AMP accept samples that arrive late and out
	// of order: metric streams deliver in per-minute batches that Firehose can
	// buffer, retry and reorder for several minutes.
	OutOfOrderWindowSeconds int `json:"outOfOrderWindowSeconds"`
	// RuleQueryOffsetSeconds is how far in the past AMP evaluates rules:
	// the workspace's ruleQueryOffsetInSeconds, for rule groups without a
	// query_offset of their own, and the query_offset of cwstream's groups
	// on CloudWatch data (internal/rules.DefaultQueryOffset says why 240).
	RuleQueryOffsetSeconds int  `json:"ruleQueryOffsetSeconds"`
	CustomerManagedKey     bool `json:"customerManagedKey"`
	LogRetentionDays       int  `json:"logRetentionDays"`
}

// GrafanaConfig configures the AMG workspace.
type GrafanaConfig struct {
	// Authentication is AWS_SSO (IAM Identity Center) or SAML.
	Authentication string `json:"authentication"`
	// PermissionType is CUSTOMER_MANAGED (a role this app scopes) or
	// SERVICE_MANAGED (AMG manages its own role).
	PermissionType string `json:"permissionType"`
	// SAMLMetadataURL and SAMLAdminRoleValues are used with SAML only.
	SAMLMetadataURL     string   `json:"samlMetadataUrl"`
	SAMLAdminRoleValues []string `json:"samlAdminRoleValues"`
	GrafanaVersion      string   `json:"grafanaVersion"`
}

// AlertsConfig configures the SNS topics alarms and Alertmanager publish to,
// and the thresholds of the AMP alerting rules that depend on the
// installation (internal/rules.Options).
type AlertsConfig struct {
	Email string `json:"email"`
	// RDSMaxConnections is the databases' max_connections (CloudWatch does
	// not publish it): RDSConnectionsNearMax fires above 80 % of it.
	RDSMaxConnections float64 `json:"rdsMaxConnections"`
	// RDSFreeMemoryMiB and RDSFreeStorageGiB: less freeable memory or free
	// storage than this alerts.
	RDSFreeMemoryMiB  float64 `json:"rdsFreeMemoryMiB"`
	RDSFreeStorageGiB float64 `json:"rdsFreeStorageGiB"`
	// ALBP99Seconds: a target response time p99 above this alerts.
	ALBP99Seconds float64 `json:"albP99Seconds"`
	// ALB5xxRatio: a share (0–1) of 5xx responses above this alerts.
	ALB5xxRatio float64 `json:"alb5xxRatio"`
}

// StreamConfig configures the CloudWatch metric stream.
type StreamConfig struct {
	// OutputFormat is the stream's PutMetricStream OutputFormat:
	// opentelemetry0.7 (default), opentelemetry1.0 or json. The function
	// needs no setting: it detects the format of every record.
	OutputFormat                 string                `json:"outputFormat"`
	IncludeFilters               []NamespaceFilter     `json:"includeFilters"`
	AdditionalStatistics         []StatisticsSelection `json:"additionalStatistics"`
	IncludeLinkedAccountsMetrics bool                  `json:"includeLinkedAccountsMetrics"`
}

// The stream's selection types are shared with `cwstream cost --suggest`,
// which writes these settings.
type (
	NamespaceFilter     = streamsel.NamespaceFilter
	StatisticsSelection = streamsel.StatisticsSelection
	MetricRef           = streamsel.MetricRef
)

// FirehoseConfig configures the delivery stream.
type FirehoseConfig struct {
	// ProcessorBufferSizeMiB and ProcessorBufferIntervalSeconds bound each
	// Lambda invocation's input.
	// ProcessorBufferSizeMiB may be fractional: Firehose accepts 0.2–3.
	ProcessorBufferSizeMiB         float64 `json:"processorBufferSizeMiB"`
	ProcessorBufferIntervalSeconds int     `json:"processorBufferIntervalSeconds"`
	// ProcessorRetries is how often Firehose re-invokes the Lambda on failure
	// before the records go to processing-failed/.
	ProcessorRetries int `json:"processorRetries"`
	// S3BufferSizeMiB and S3BufferIntervalSeconds buffer what reaches S3
	// (processing failures and, with BackupAllRecords, every raw record).
	S3BufferSizeMiB         int  `json:"s3BufferSizeMiB"`
	S3BufferIntervalSeconds int  `json:"s3BufferIntervalSeconds"`
	BackupAllRecords        bool `json:"backupAllRecords"`
	LogRetentionDays        int  `json:"logRetentionDays"`
}

// LambdaConfig configures the transformation function.
type LambdaConfig struct {
	MemoryMiB      int `json:"memoryMiB"`
	TimeoutSeconds int `json:"timeoutSeconds"`
	// ReservedConcurrency caps the function; 0 means unreserved.
	ReservedConcurrency  int    `json:"reservedConcurrency"`
	LogRetentionDays     int    `json:"logRetentionDays"`
	LogLevel             string `json:"logLevel"`
	Concurrency          int    `json:"concurrency"`
	MaxSamplesPerRequest int    `json:"maxSamplesPerRequest"`
	MaxBytesPerRequest   int    `json:"maxBytesPerRequest"`
}

// BucketConfig configures the failure/backup bucket's lifecycle.
type BucketConfig struct {
	ProcessingFailedExpirationDays int `json:"processingFailedExpirationDays"`
	BackupExpirationDays           int `json:"backupExpirationDays"`
}

// EcsDemoConfig configures the optional ECS demo service: a small Fargate
// service (cmd/demoapp) with the ADOT collector sidecar writing into the
// environment's workspace, the second ingestion path beside the metric
// stream.
type EcsDemoConfig struct {
	Enabled bool `json:"enabled"`
	// DesiredCount is the number of tasks.
	DesiredCount int `json:"desiredCount"`
	// Image, when set, is a prebuilt demoapp image (for a deployment
	// without Docker); empty builds cmd/demoapp as a container image asset.
	Image            string `json:"image"`
	LogRetentionDays int    `json:"logRetentionDays"`
}

// Limits that the services impose; Validate checks against them so a bad value
// fails at synth rather than minutes into a deployment.
const (
	// firehoseMaxLambdaSeconds is the longest Firehose waits for its processor.
	firehoseMaxLambdaSeconds = 300
	maxOutOfOrderSeconds     = 600
	// maxRuleQueryOffsetSeconds keeps the rule query offset below PromQL's
	// 5-minute lookback (internal/rules.MaxQueryOffset says why); AMP itself
	// takes up to 86400.
	maxRuleQueryOffsetSeconds = int(rules.MaxQueryOffset / time.Second)
)

// defaultVpcCidr is the VPC a network setting without vpcId gets: small,
// and away from the 10.0.0.0/16 most VPCs start with, should it be peered.
const defaultVpcCidr = "10.80.0.0/20"

// DefaultStreamNamespaces are streamed unless an environment lists its own.
var defaultStreamNamespaces = []string{"AWS/ECS", "ECS/ContainerInsights", "AWS/RDS", "AWS/ApplicationELB"}

// minGrafanaVersion is the first AMG Grafana version with service accounts,
// which the dashboard provisioning authenticates with.
var minGrafanaVersion = [2]int{9, 4}

// defaultEnvConfig returns the defaults that cdk.json values are decoded over.
func defaultEnvConfig() EnvConfig {
	ruleDefaults := rules.DefaultOptions()
	filters := make([]NamespaceFilter, 0, len(defaultStreamNamespaces))
	for _, ns := range defaultStreamNamespaces {
		filters = append(filters, NamespaceFilter{Namespace: ns})
	}
	return EnvConfig{
		Prometheus: PrometheusConfig{
			RetentionDays: 150,
			// Ten minutes, the AMP maximum: a Firehose buffer (≤15 min) plus
			// processor retries can hold a minute's data back that long.
			OutOfOrderWindowSeconds: maxOutOfOrderSeconds,
			RuleQueryOffsetSeconds:  int(ruleDefaults.QueryOffset / time.Second),
			LogRetentionDays:        30,
		},
		Grafana: GrafanaConfig{
			Authentication: "AWS_SSO",
			PermissionType: "CUSTOMER_MANAGED",
			GrafanaVersion: "10.4",
		},
		Alerts: AlertsConfig{
			RDSMaxConnections: ruleDefaults.RDSMaxConnections,
			RDSFreeMemoryMiB:  ruleDefaults.RDSFreeMemoryBytes / (1 << 20),
			RDSFreeStorageGiB: ruleDefaults.RDSFreeStorageBytes / (1 << 30),
			ALBP99Seconds:     ruleDefaults.ALBP99Seconds,
			ALB5xxRatio:       ruleDefaults.ALB5xxRatio,
		},
		Stream: StreamConfig{
			OutputFormat:   wire.OTel07.OutputFormat(),
			IncludeFilters: filters,
			AdditionalStatistics: []StatisticsSelection{{
				Statistics: []string{"p50", "p90", "p99"},
				Metrics: []MetricRef{
					{Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime"},
					{Namespace: "AWS/RDS", MetricName: "ReadLatency"},
					{Namespace: "AWS/RDS", MetricName: "WriteLatency"},
				},
			}},
		},
		Firehose: FirehoseConfig{
			// 1 MiB or 60 s, whichever first: one-minute metrics reach AMP about a
			// minute after CloudWatch emits them, and an event stays far below the
			// 6 MB Lambda payload limit.
			ProcessorBufferSizeMiB:         1,
			ProcessorBufferIntervalSeconds: 60,
			ProcessorRetries:               3,
			S3BufferSizeMiB:                64,
			S3BufferIntervalSeconds:        300,
			LogRetentionDays:               30,
		},
		Lambda: LambdaConfig{
			// 1024 MB: a 6 MB event decodes to tens of MB of series; memory also
			// buys CPU for protobuf and snappy work.
			MemoryMiB: 1024,
			// 180 s: writes and their retries fit with room to spare, and it stays
			// below Firehose's 300 s processor limit so a slow invocation times out
			// in Lambda (and is retried) rather than being abandoned by Firehose.
			TimeoutSeconds:   180,
			LogRetentionDays: 30,
			LogLevel:         "info",
		},
		Bucket: BucketConfig{
			ProcessingFailedExpirationDays: 30,
			BackupExpirationDays:           14,
		},
		EcsDemo: EcsDemoConfig{DesiredCount: 1, LogRetentionDays: 30},
	}
}

// ConfigError says which environment and key are wrong and why.
type ConfigError struct {
	Env    string
	Key    string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("environment %q: %s: %s", e.Env, e.Key, e.Reason)
}

// UnknownEnvError is returned for an environment name that cdk.json lacks.
type UnknownEnvError struct {
	Name  string
	Known []string
}

func (e *UnknownEnvError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("no environment selected: pass -c %s=<name>; known environments: %s",
			ContextKeyEnv, strings.Join(e.Known, ", "))
	}
	return fmt.Sprintf("unknown environment %q; known environments: %s", e.Name, strings.Join(e.Known, ", "))
}

// EnvNames returns the environment names in the context value, sorted.
func EnvNames(environments any) ([]string, error) {
	m, ok := environments.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context %q: want an object of environments, got %T", ContextKeyEnvironments, environments)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

// LoadEnvConfig reads environment name from the cdk.json context value
// (`environments`): defaults first, then the JSON on top (unknown keys are
// errors), then Validate. defaultAccount and defaultRegion are the standard
// CDK_DEFAULT_* values used where the environment leaves them out.
func LoadEnvConfig(environments any, name, defaultAccount, defaultRegion string) (*EnvConfig, error) {
	names, err := EnvNames(environments)
	if err != nil {
		return nil, err
	}
	raw, ok := environments.(map[string]any)[name]
	if !ok || name == "" {
		return nil, &UnknownEnvError{Name: name, Known: names}
	}
	// The context arrives as generic JSON; a round trip through encoding/json
	// gives strict decoding (unknown keys, wrong types) with the key named.
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("environment %q: %w", name, err)
	}
	// Unknown keys are found first so the error names the full path
	// (encoding/json names only the last key).
	if key := unknownKey(raw, reflect.TypeFor[EnvConfig](), ""); key != "" {
		return nil, &ConfigError{Env: name, Key: key, Reason: "unknown key"}
	}
	cfg := defaultEnvConfig()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, decodeError(name, err)
	}
	cfg.Name = name
	if cfg.Account == "" {
		cfg.Account = defaultAccount
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if len(cfg.IngestRegions) == 0 && cfg.Region != "" {
		cfg.IngestRegions = []string{cfg.Region}
	}
	if n := cfg.Network; n != nil && n.VpcID == "" && n.VpcCidr == "" {
		n.VpcCidr = defaultVpcCidr
	}
	if cfg.Prometheus.Alias == "" {
		cfg.Prometheus.Alias = "cwstream-" + name
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// unknownKey returns the dotted path of the first key in v (sorted) that
// type t has no JSON field for, or "".
func unknownKey(v any, t reflect.Type, path string) string {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Pointer: // an optional section such as network
		return unknownKey(v, t.Elem(), path)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return "" // a type error; the decoder names it
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return join(k)
			}
			if bad := unknownKey(m[k], ft, join(k)); bad != "" {
				return bad
			}
		}
	case reflect.Slice:
		if items, ok := v.([]any); ok {
			for i, item := range items {
				if bad := unknownKey(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); bad != "" {
					return bad
				}
			}
		}
	}
	return ""
}

// decodeError turns encoding/json's errors into ConfigErrors naming the key.
func decodeError(env string, err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return &ConfigError{Env: env, Key: typeErr.Field, Reason: fmt.Sprintf("want %s, got JSON %s", typeErr.Type, typeErr.Value)}
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &ConfigError{Env: env, Key: strings.Trim(msg, `"`), Reason: "unknown key"}
	}
	return fmt.Errorf("environment %q: %w", env, err)
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	// envNameRE keeps names usable in stack names, aliases and bucket-free ids.
	envNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	aliasRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
	// statisticRE accepts percentiles, p0 to p100 with up to ten decimals:
	// with the OpenTelemetry output formats a metric stream streams only
	// percentiles as additional statistics (CloudWatch user guide, "Statistics
	// that can be streamed"); tm90, TM(..), PR(..) and the like are rejected
	// by CloudWatch when the stream is created.
	statisticRE = regexp.MustCompile(`^p(100(\.0{1,10})?|[0-9]{1,2}(\.[0-9]{1,10})?)$`)
	vpcIDRE     = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDRE  = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	logLevels   = []string{"debug", "info", "warn", "error"}
	// logRetentionDays are the values CloudWatch Logs accepts.
	logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// Validate reports the first bad value as a *ConfigError naming its key.
// It fills in nothing: defaults come before decoding.
func (c *EnvConfig) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &ConfigError{Env: c.Name, Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	checks := []struct {
		ok     bool
		key    string
		reason string
	}{
		{envNameRE.MatchString(c.Name), "name", "must be lower-case letters, digits and dashes, starting with a letter, at most 20 characters"},
		{c.Account == "" || accountRE.MatchString(c.Account), "account", fmt.Sprintf("%q is not a 12-digit account id", c.Account)},
		{c.Region != "", "region", "required (set it here or export CDK_DEFAULT_REGION)"},
		{c.Region == "" || regionRE.MatchString(c.Region), "region", fmt.Sprintf("%q is not a region name", c.Region)},
		{c.ConfigFile != "", "configFile", "required: the cwstream YAML bundled with the function, e.g. config/" + c.Name + ".yaml"},
		{aliasRE.MatchString(c.Prometheus.Alias), "prometheus.alias", "1-100 characters of letters, digits, '_' and '-'"},
		{c.Prometheus.RetentionDays >= 1 && c.Prometheus.RetentionDays <= 1095, "prometheus.retentionDays", fmt.Sprintf("%d is outside 1..1095", c.Prometheus.RetentionDays)},
		{c.Prometheus.OutOfOrderWindowSeconds >= 0 && c.Prometheus.OutOfOrderWindowSeconds <= maxOutOfOrderSeconds, "prometheus.outOfOrderWindowSeconds", fmt.Sprintf("%d is outside 0..%d (AMP's limit)", c.Prometheus.OutOfOrderWindowSeconds, maxOutOfOrderSeconds)},
		{c.Prometheus.RuleQueryOffsetSeconds >= 0 && c.Prometheus.RuleQueryOffsetSeconds <= maxRuleQueryOffsetSeconds, "prometheus.ruleQueryOffsetSeconds", fmt.Sprintf("%d is outside 0..%d (below the 5-minute lookback, so that recorded series stay visible at the present)", c.Prometheus.RuleQueryOffsetSeconds, maxRuleQueryOffsetSeconds)},
		{slices.Contains(logRetentionDays, c.Prometheus.LogRetentionDays), "prometheus.logRetentionDays", retentionReason(c.Prometheus.LogRetentionDays)},
		{c.Grafana.Authentication == "AWS_SSO" || c.Grafana.Authentication == "SAML", "grafana.authentication", fmt.Sprintf("%q: want AWS_SSO or SAML", c.Grafana.Authentication)},
		{c.Grafana.PermissionType == "CUSTOMER_MANAGED" || c.Grafana.PermissionType == "SERVICE_MANAGED", "grafana.permissionType", fmt.Sprintf("%q: want CUSTOMER_MANAGED or SERVICE_MANAGED", c.Grafana.PermissionType)},
		{c.Grafana.Authentication == "SAML" || (c.Grafana.SAMLMetadataURL == "" && len(c.Grafana.SAMLAdminRoleValues) == 0), "grafana.samlMetadataUrl", "only used with authentication SAML"},
		{c.Grafana.SAMLMetadataURL == "" || strings.HasPrefix(c.Grafana.SAMLMetadataURL, "https://"), "grafana.samlMetadataUrl", "must be an https:// URL"},
		{grafanaVersionAtLeast(c.Grafana.GrafanaVersion, minGrafanaVersion), "grafana.grafanaVersion", fmt.Sprintf("%q: want %d.%d or later (the dashboards are provisioned through service accounts)", c.Grafana.GrafanaVersion, minGrafanaVersion[0], minGrafanaVersion[1])},
		{c.Alerts.RDSMaxConnections > 0, "alerts.rdsMaxConnections", fmt.Sprintf("%v: must be > 0", c.Alerts.RDSMaxConnections)},
		{c.Alerts.RDSFreeMemoryMiB > 0, "alerts.rdsFreeMemoryMiB", fmt.Sprintf("%v: must be > 0", c.Alerts.RDSFreeMemoryMiB)},
		{c.Alerts.RDSFreeStorageGiB > 0, "alerts.rdsFreeStorageGiB", fmt.Sprintf("%v: must be > 0", c.Alerts.RDSFreeStorageGiB)},
		{c.Alerts.ALBP99Seconds > 0, "alerts.albP99Seconds", fmt.Sprintf("%v: must be > 0", c.Alerts.ALBP99Seconds)},
		{c.Alerts.ALB5xxRatio > 0 && c.Alerts.ALB5xxRatio < 1, "alerts.alb5xxRatio", fmt.Sprintf("%v: a share, want 0 < x < 1 (0.05 is 5 %%)", c.Alerts.ALB5xxRatio)},
		{len(c.Stream.IncludeFilters) > 0, "stream.includeFilters", "at least one namespace is required"},
		{c.Firehose.ProcessorBufferSizeMiB >= 0.2 && c.Firehose.ProcessorBufferSizeMiB <= 3, "firehose.processorBufferSizeMiB", fmt.Sprintf("%v is outside 0.2..3 (Firehose's range; base64 of more than 3 MiB would not fit the 6 MB Lambda payload)", c.Firehose.ProcessorBufferSizeMiB)},
		{c.Firehose.ProcessorBufferIntervalSeconds >= 60 && c.Firehose.ProcessorBufferIntervalSeconds <= 900, "firehose.processorBufferIntervalSeconds", fmt.Sprintf("%d is outside 60..900", c.Firehose.ProcessorBufferIntervalSeconds)},
		{c.Firehose.ProcessorRetries >= 0 && c.Firehose.ProcessorRetries <= 300, "firehose.processorRetries", fmt.Sprintf("%d is outside 0..300", c.Firehose.ProcessorRetries)},
		{c.Firehose.S3BufferSizeMiB >= 1 && c.Firehose.S3BufferSizeMiB <= 128, "firehose.s3BufferSizeMiB", fmt.Sprintf("%d is outside 1..128", c.Firehose.S3BufferSizeMiB)},
		{c.Firehose.S3BufferIntervalSeconds >= 0 && c.Firehose.S3BufferIntervalSeconds <= 900, "firehose.s3BufferIntervalSeconds", fmt.Sprintf("%d is outside 0..900", c.Firehose.S3BufferIntervalSeconds)},
		{slices.Contains(logRetentionDays, c.Firehose.LogRetentionDays), "firehose.logRetentionDays", retentionReason(c.Firehose.LogRetentionDays)},
		{c.Lambda.MemoryMiB >= 128 && c.Lambda.MemoryMiB <= 10240, "lambda.memoryMiB", fmt.Sprintf("%d is outside 128..10240", c.Lambda.MemoryMiB)},
		{c.Lambda.TimeoutSeconds >= 30 && c.Lambda.TimeoutSeconds <= firehoseMaxLambdaSeconds, "lambda.timeoutSeconds", fmt.Sprintf("%d is outside 30..%d (Firehose waits at most %d s for its processor)", c.Lambda.TimeoutSeconds, firehoseMaxLambdaSeconds, firehoseMaxLambdaSeconds)},
		{c.Lambda.ReservedConcurrency >= 0, "lambda.reservedConcurrency", "must not be negative (0 means unreserved)"},
		{slices.Contains(logRetentionDays, c.Lambda.LogRetentionDays), "lambda.logRetentionDays", retentionReason(c.Lambda.LogRetentionDays)},
		{slices.Contains(logLevels, c.Lambda.LogLevel), "lambda.logLevel", fmt.Sprintf("%q: want one of %s", c.Lambda.LogLevel, strings.Join(logLevels, ", "))},
		{c.Lambda.Concurrency >= 0 && c.Lambda.MaxSamplesPerRequest >= 0 && c.Lambda.MaxBytesPerRequest >= 0, "lambda.concurrency/maxSamplesPerRequest/maxBytesPerRequest", "must not be negative (0 means the function's default)"},
		{c.Bucket.ProcessingFailedExpirationDays >= 1, "bucket.processingFailedExpirationDays", "must be at least 1"},
		{c.Bucket.BackupExpirationDays >= 1, "bucket.backupExpirationDays", "must be at least 1"},
		{c.EcsDemo.DesiredCount >= 0 && c.EcsDemo.DesiredCount <= 10, "ecsDemo.desiredCount", fmt.Sprintf("%d is outside 0..10", c.EcsDemo.DesiredCount)},
		{slices.Contains(logRetentionDays, c.EcsDemo.LogRetentionDays), "ecsDemo.logRetentionDays", retentionReason(c.EcsDemo.LogRetentionDays)},
	}
	for _, ch := range checks {
		if !ch.ok {
			return bad(ch.key, "%s", ch.reason)
		}
	}
	if c.Alerts.Email != "" {
		if _, err := mail.ParseAddress(c.Alerts.Email); err != nil {
			return bad("alerts.email", "%q: %v", c.Alerts.Email, err)
		}
	}
	seen := map[string]bool{}
	for i, r := range c.IngestRegions {
		key := fmt.Sprintf("ingestRegions[%d]", i)
		if !regionRE.MatchString(r) {
			return bad(key, "%q is not a region name", r)
		}
		if seen[r] {
			return bad(key, "%q is listed twice", r)
		}
		seen[r] = true
	}
	for i, f := range c.Stream.IncludeFilters {
		if f.Namespace == "" {
			return bad(fmt.Sprintf("stream.includeFilters[%d].namespace", i), "required")
		}
	}
	if err := c.validateOutputFormat(); err != nil {
		return err
	}
	for i, s := range c.Stream.AdditionalStatistics {
		key := fmt.Sprintf("stream.additionalStatistics[%d]", i)
		if len(s.Statistics) == 0 || len(s.Metrics) == 0 {
			return bad(key, "needs at least one statistic and one metric")
		}
		for j, st := range s.Statistics {
			if reason := c.statisticRule(st); reason != "" {
				return bad(fmt.Sprintf("%s.statistics[%d]", key, j), "%s", reason)
			}
		}
		for j, m := range s.Metrics {
			if m.Namespace == "" || m.MetricName == "" {
				return bad(fmt.Sprintf("%s.metrics[%d]", key, j), "namespace and metricName are required")
			}
		}
	}
	if err := c.Network.validate(bad); err != nil {
		return err
	}
	for k := range c.Tags {
		if k == "" || strings.HasPrefix(k, "aws:") {
			return bad("tags", "key %q is empty or uses the reserved aws: prefix", k)
		}
	}
	return nil
}

// jsonStatisticRE accepts the statistics beyond percentiles that a stream
// in the json output format may carry: tmNN, wmNN, tcNN, tsNN, the
// bracketed TM(a:b), WM(…), PR(…), TC(…), TS(…), and IQM.
var jsonStatisticRE = regexp.MustCompile(`^((tm|wm|tc|ts)(100|[0-9]{1,2})(\.[0-9]{1,10})?|(TM|WM|PR|TC|TS)\([0-9.%]*:[0-9.%]*\)|IQM)$`)

// validateOutputFormat checks stream.outputFormat against the formats the
// decoders read (package wire names them).
func (c *EnvConfig) validateOutputFormat() error {
	var names []string
	for _, f := range wire.Formats {
		if f.OutputFormat() == c.Stream.OutputFormat {
			return nil
		}
		names = append(names, f.OutputFormat())
	}
	return &ConfigError{Env: c.Name, Key: "stream.outputFormat", Reason: fmt.Sprintf("%q: want one of %s", c.Stream.OutputFormat, strings.Join(names, ", "))}
}

// statisticRule says why st cannot be streamed in the environment's output
// format, or "" when it can. MetricStreamStatisticsConfiguration (CloudWatch
// API reference): "If the OutputFormat for the stream is opentelemetry1.0 or
// opentelemetry0.7, the only valid values are p?? percentile statistics
// such as p90, p99 and so on. If the OutputFormat for the stream is json,
// the valid values include the abbreviations for all of the statistics
// listed in CloudWatch statistics definitions" (tm98, wm90, PR(:300), …).
func (c *EnvConfig) statisticRule(st string) string {
	switch {
	case statisticRE.MatchString(st):
		return ""
	case c.Stream.OutputFormat != wire.JSON.OutputFormat():
		return fmt.Sprintf("%q is not a percentile (p0..p100, e.g. p99 or p99.9): streams in the OpenTelemetry formats accept only percentiles; other statistics need stream.outputFormat json", st)
	case jsonStatisticRE.MatchString(st):
		return ""
	}
	return fmt.Sprintf("%q is not a metric-stream statistic (p99, tm90, wm90, TM(10%%:90%%), PR(:300), IQM, …)", st)
}

// RuleOptions are the alerting rules' options for this environment; env is
// the value of the series' env label (the cwstream config's external label),
// which labels the alerts that carry no series labels.
func (c *EnvConfig) RuleOptions(env string) rules.Options {
	o := rules.DefaultOptions()
	o.RDSMaxConnections = c.Alerts.RDSMaxConnections
	o.RDSFreeMemoryBytes = c.Alerts.RDSFreeMemoryMiB * (1 << 20)
	o.RDSFreeStorageBytes = c.Alerts.RDSFreeStorageGiB * (1 << 30)
	o.ALBP99Seconds = c.Alerts.ALBP99Seconds
	o.ALB5xxRatio = c.Alerts.ALB5xxRatio
	o.QueryOffset = time.Duration(c.Prometheus.RuleQueryOffsetSeconds) * time.Second
	o.Env = env
	return o
}

// grafanaVersionAtLeast reports whether v ("MAJOR.MINOR") is min or later.
func grafanaVersionAtLeast(v string, min [2]int) bool {
	major, minor, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	maj, err1 := strconv.Atoi(major)
	mnr, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > min[0] || (maj == min[0] && mnr >= min[1])
}

func retentionReason(days int) string {
	return fmt.Sprintf("%d is not a CloudWatch Logs retention; want one of %v", days, logRetentionDays)
}

// validate checks the network setting (nil: none).
func (n *NetworkConfig) validate(bad func(key, format string, args ...any) error) error {
	if n == nil {
		return nil
	}
	if n.VpcID == "" {
		if len(n.SubnetIDs) > 0 {
			return bad("network.subnetIds", "given without network.vpcId")
		}
		p, err := netip.ParsePrefix(n.VpcCidr)
		if err != nil || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 22 || p.Masked() != p {
			return bad("network.vpcCidr", "%q: want an IPv4 network from /16 to /22 (two /24 subnets are cut from it), e.g. 10.80.0.0/20", n.VpcCidr)
		}
		return nil
	}
	if !vpcIDRE.MatchString(n.VpcID) {
		return bad("network.vpcId", "%q is not a VPC id (vpc-…)", n.VpcID)
	}
	if n.VpcCidr != "" {
		return bad("network.vpcCidr", "only used when the stack creates the VPC (no vpcId)")
	}
	if len(n.SubnetIDs) == 0 {
		return bad("network.subnetIds", "required with network.vpcId: the private subnets the function and the AMP endpoint use (two or more, in different Availability Zones)")
	}
	for i, s := range n.SubnetIDs {
		if !subnetIDRE.MatchString(s) {
			return bad(fmt.Sprintf("network.subnetIds[%d]", i), "%q is not a subnet id (subnet-…)", s)
		}
	}
	return nil
}
