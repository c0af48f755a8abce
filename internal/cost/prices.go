package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v2"
)

// DefaultRegion is the region the built-in prices are for.
const DefaultRegion = "us-east-1"

// The price keys. A prices file overrides any of them by these names.
const (
	MetricStreamPer1000Updates   = "metric_stream_per_1000_updates"
	FirehosePerGB                = "firehose_per_gb"
	LambdaPerMillionRequests     = "lambda_per_million_requests"
	LambdaArmPerGBSecond         = "lambda_arm_per_gb_second"
	S3PerGBMonth                 = "s3_per_gb_month"
	S3Per1000Puts                = "s3_per_1000_puts"
	KMSPerKeyMonth               = "kms_per_key_month"
	KMSPer10000Requests          = "kms_per_10000_requests"
	AMPTier1Per10MSamples        = "amp_tier1_per_10m_samples"
	AMPTier1Samples              = "amp_tier1_samples"
	AMPTier2Per10MSamples        = "amp_tier2_per_10m_samples"
	AMPTier2Samples              = "amp_tier2_samples"
	AMPTier3Per10MSamples        = "amp_tier3_per_10m_samples"
	AMPStoragePerGBMonth         = "amp_storage_per_gb_month"
	AMPQueryPerBillionSamples    = "amp_query_per_billion_samples"
	AMGEditorPerMonth            = "amg_editor_per_month"
	AMGViewerPerMonth            = "amg_viewer_per_month"
	GetMetricDataPer1000Requests = "getmetricdata_per_1000_metrics"
	InterfaceEndpointPerAZHour   = "interface_endpoint_per_az_hour"
	InterfaceEndpointPerGB       = "interface_endpoint_per_gb"
)

// priceEntry is one line of the price table.
type priceEntry struct {
	key    string
	value  float64
	unit   string // what one unit of value buys
	source string // the page the price was read from
	read   string // the date it was read
	note   string // where the stored page did not show the figure itself
}

// priceTable is THE price table: us-east-1, on-demand, no free tier, read
// with the team's search tool (a store of public pages) on the date given.
// Where the official page's price table was not part of the stored text,
// the note says so and names the page the figure was read from instead;
// no price here is a guess. Tier boundaries are counts, not prices, but
// live here because they come from the same page.
var priceTable = []priceEntry{
	{MetricStreamPer1000Updates, 0.003, "USD per 1,000 metric updates",
		"https://aws.amazon.com/cloudwatch/pricing/", "2026-11-28",
		"the stored copy of the pricing page ends before its Metric Streams table; the figure ($0.003 per 1,000 metric updates, US East) is quoted by several public cost notes found with the search tool. " +
			"That 1-5 additional statistics add one billed update, each further 5 another: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-metric-streams-statistics.html"},
	{FirehosePerGB, 0.029, "USD per GB ingested (records rounded up to 5 KB)",
		"https://aws.amazon.com/firehose/pricing/", "2026-11-28",
		"the rounding rule (each record rounded up to the next 5 KB = 5,120 bytes) is on the stored pricing pages (e.g. https://aws.amazon.com/de/kinesis/data-firehose/pricing/); the Direct PUT price of the first 500 TB/month, $0.029 per GB, is quoted by public cost notes found with the search tool"},
	{LambdaPerMillionRequests, 0.20, "USD per million requests",
		"https://aws.amazon.com/lambda/pricing/", "2026-11-28",
		"read from https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md (the stored official page ends before its table)"},
	{LambdaArmPerGBSecond, 0.0000133334, "USD per GB-second (arm64, first 7.5 billion GB-s)",
		"https://aws.amazon.com/lambda/pricing/", "2026-11-28",
		"read from https://cloudchipr.com/blog/aws-lambda-pricing (US East, Arm, first 7.5 billion GB-seconds); the stored official page ends before its table"},
	{S3PerGBMonth, 0.023, "USD per GB-month (S3 Standard, first 50 TB)",
		"https://aws.amazon.com/s3/pricing/", "2026-11-28",
		"quoted from the AWS price list (pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonS3) in public notes found with the search tool"},
	{S3Per1000Puts, 0.005, "USD per 1,000 PUT requests",
		"https://aws.amazon.com/s3/pricing/", "2026-11-28",
		"Requests-Tier1 of the AWS price list (pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonS3), quoted in public notes found with the search tool"},
	{KMSPerKeyMonth, 1.00, "USD per customer managed key per month",
		"https://aws.amazon.com/kms/pricing/", "2026-11-28",
		"the official page was not in the store; $1/key-month is quoted by many public cost notes found with the search tool"},
	{KMSPer10000Requests, 0.03, "USD per 10,000 requests",
		"https://aws.amazon.com/kms/pricing/", "2026-11-28",
		"the official page was not in the store; $0.03 per 10,000 requests is quoted by many public cost notes found with the search tool"},
	{AMPTier1Per10MSamples, 0.90, "USD per 10 million samples (first tier)",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28",
		"the stored copy of the pricing page ends before its table; tiers read from https://victoriametrics.com/blog/managed-prometheus-pricing/ which quotes it: first 2 billion samples $0.90/10M, next 250 billion $0.35/10M, over 252 billion $0.16/10M"},
	{AMPTier1Samples, 2e9, "samples a month in the first tier",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28", "see amp_tier1_per_10m_samples"},
	{AMPTier2Per10MSamples, 0.35, "USD per 10 million samples (second tier)",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28", "see amp_tier1_per_10m_samples"},
	{AMPTier2Samples, 250e9, "samples a month in the second tier",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28", "see amp_tier1_per_10m_samples"},
	{AMPTier3Per10MSamples, 0.16, "USD per 10 million samples (beyond the second tier)",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28", "see amp_tier1_per_10m_samples"},
	{AMPStoragePerGBMonth, 0.03, "USD per GB-month (1 GB = 2^30 bytes)",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28",
		"GB = 2^30 bytes and samples of typically 1-2 bytes are on the stored page; $0.03/GB-Mo read from https://victoriametrics.com/blog/managed-prometheus-pricing/"},
	{AMPQueryPerBillionSamples, 0.10, "USD per billion query samples processed",
		"https://aws.amazon.com/prometheus/pricing/", "2026-11-28",
		"the stored page defines QSP but ends before its price; $0.10 per billion samples processed is quoted by public cost notes found with the search tool"},
	{AMGEditorPerMonth, 9, "USD per active editor per workspace per month",
		"https://aws.amazon.com/tr/grafana/pricing/", "2026-11-28", "the stored (Turkish) copy of the official page: 9 USD per active editor or admin user per workspace; at least one editor licence per workspace"},
	{AMGViewerPerMonth, 5, "USD per active viewer per workspace per month",
		"https://aws.amazon.com/tr/grafana/pricing/", "2026-11-28", "the stored (Turkish) copy of the official page: 5 USD per active viewer per workspace"},
	{GetMetricDataPer1000Requests, 0.01, "USD per 1,000 metrics requested (GetMetricData)",
		"https://aws.amazon.com/cloudwatch/pricing/", "2026-11-28",
		"read from https://support.site24x7.com/portal/en/kb/articles/aws-cloudwatch-metrics-cost-calculation; the stored official page ends before its API table"},
	{InterfaceEndpointPerAZHour, 0.01, "USD per interface endpoint per Availability Zone per hour",
		"https://aws.amazon.com/privatelink/pricing/", "2026-11-28",
		"the stored page says an endpoint is billed for each hour it is provisioned in each Availability Zone but ends before its price; $0.01 per endpoint per AZ per hour is quoted by https://awsnegotiations.com/privatelink-cost-analysis.html (and as ~$0.01 an hour per endpoint in public CDK code found with the search tool)"},
	{InterfaceEndpointPerGB, 0.01, "USD per GB processed by interface endpoints (first 1 PB a month in the region)",
		"https://aws.amazon.com/jp/privatelink/pricing/", "2026-11-28",
		"the stored (Japanese) copy of the official page: first 1 PB a month $0.01 per GB, next 4 PB $0.006, over 5 PB $0.004, over all interface endpoints of a region; the stored English page ends before its table"},
}

// Prices maps each price key to its value for one region.
type Prices struct {
	Region string
	values map[string]float64
}

// Default returns the built-in prices (us-east-1).
func Default() Prices {
	p := Prices{Region: DefaultRegion, values: make(map[string]float64, len(priceTable))}
	for _, e := range priceTable {
		p.values[e.key] = e.value
	}
	return p
}

// Get returns the price under key; keys are the constants above.
func (p Prices) Get(key string) float64 {
	v, ok := p.values[key]
	if !ok {
		panic("cost: unknown price key " + key) // a programming error: keys are constants
	}
	return v
}

// Unit describes what the price under key is per.
func Unit(key string) string {
	for _, e := range priceTable {
		if e.key == key {
			return e.unit
		}
	}
	return ""
}

// PriceKeys lists every price key in table order.
func PriceKeys() []string {
	keys := make([]string, len(priceTable))
	for i, e := range priceTable {
		keys[i] = e.key
	}
	return keys
}

// WriteTable writes the price table with sources, for `cost --list-prices`.
func (p Prices) WriteTable(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "prices for %s\n", p.Region); err != nil {
		return err
	}
	for _, e := range priceTable {
		fmt.Fprintf(w, "%-32s %14s  %s\n    source: %s (read %s)\n", e.key, formatFloat(p.values[e.key]), e.unit, e.source, e.read)
		if e.note != "" {
			fmt.Fprintf(w, "    note: %s\n", e.note)
		}
	}
	return nil
}

// pricesFile is what a prices file holds.
type pricesFile struct {
	Region string             `yaml:"region" json:"region"`
	Prices map[string]float64 `yaml:"prices" json:"prices"`
}

// ErrRegion: the built-in prices do not cover the requested region.
var ErrRegion = errors.New("the built-in prices are for " + DefaultRegion)

// LoadPrices returns the built-in prices for region with the overrides of
// the file at path (YAML or JSON: {region: R, prices: {key: value}}).
// With no file, region must be DefaultRegion; with a file for another
// region, the file must say which region its prices are for, so that a
// us-east-1 price is never presented as another region's by accident.
func LoadPrices(path, region string) (Prices, error) {
	p := Default()
	if path == "" {
		if region != DefaultRegion {
			return Prices{}, fmt.Errorf("%w, not %s: give --prices FILE with \"region: %s\" and the prices that differ (see --list-prices for the keys)", ErrRegion, region, region)
		}
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Prices{}, fmt.Errorf("prices: %w", err)
	}
	var f pricesFile
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		err = dec.Decode(&f)
	} else {
		err = yaml.UnmarshalStrict(b, &f)
	}
	if err != nil {
		return Prices{}, fmt.Errorf("prices %s: %v (known top-level keys: region, prices)", path, err)
	}
	if len(bytes.TrimSpace(b)) == 0 || len(f.Prices) == 0 {
		return Prices{}, fmt.Errorf("prices %s: no prices: (give {key: USD} for the keys to override)", path)
	}
	if f.Region == "" {
		f.Region = DefaultRegion
	}
	if f.Region != region {
		return Prices{}, fmt.Errorf("prices %s: the file is for region %q but --region is %q", path, f.Region, region)
	}
	p.Region = f.Region
	for _, k := range slices.Sorted(maps.Keys(f.Prices)) {
		if _, ok := p.values[k]; !ok {
			return Prices{}, fmt.Errorf("prices %s: unknown price %q; known: %s", path, k, strings.Join(PriceKeys(), ", "))
		}
		if v := f.Prices[k]; v < 0 {
			return Prices{}, fmt.Errorf("prices %s: %s is negative (%v)", path, k, v)
		}
		p.values[k] = f.Prices[k]
	}
	return p, nil
}
