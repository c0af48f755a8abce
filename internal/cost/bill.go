package cost

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/cwstream/cwstream/internal/tags"
)

// MinutesPerMonth is the month the estimate extrapolates to: 730 hours,
// the month AWS pricing pages and the AWS Pricing Calculator use.
const MinutesPerMonth = 730 * 60

// gib is the GB of AWS bills (AMP states 1 GB = 2^30 bytes; the same is
// used for Firehose and S3).
const gib = 1 << 30

// Assumptions are what payloads cannot tell.
type Assumptions struct {
	// Lambda: MemoryMiB as configured (infra default 1024);
	// ConvertBytesPerSecond is the decode-and-name throughput of one full
	// vCPU; WriteRoundTrip one remote-write request's latency, with
	// SamplesPerRequest samples a request and Concurrency requests in
	// flight (the Lambda's defaults).
	MemoryMiB             int
	ConvertBytesPerSecond float64
	WriteRoundTrip        time.Duration
	SamplesPerRequest     int
	Concurrency           int
	// Firehose processor buffering (infra defaults: 1 MiB or 60 s).
	ProcessorBufferBytes   int
	ProcessorBufferSeconds int
	// S3: FailedShare of the bytes end in processing-failed/ (0: none);
	// BackupAll writes every raw record there too; objects expire after
	// S3RetentionDays; S3 buffering (infra defaults: 64 MiB or 300 s).
	FailedShare     float64
	BackupAll       bool
	S3RetentionDays float64
	S3BufferBytes   int
	S3BufferSecs    int
	// KMSKeys: customer managed keys (the ingest and workspace stacks' keys).
	KMSKeys int
	// AMP: RetentionDays of the workspace (AMP default 150); BytesPerSample
	// stored (the pricing page: "typically 1 or 2 bytes"); QueryReads: how
	// many times rules and dashboards read each stored sample.
	RetentionDays  float64
	BytesPerSample float64
	QueryReads     float64
	// AMG: active Editors and Viewers a month (at least one editor
	// licence per workspace is always billed).
	Editors, Viewers int
	// InterfaceEndpoints: the PrivateLink interface endpoints of the ingest
	// region (0: no `network` option). The CDK app's `network` creates 1-3:
	// aps-workspaces always, the Tagging API with tags.enabled, STS with
	// tags.role_arn. The estimate does not derive the count from the
	// configuration: whether `network` is on is the CDK app's, not the
	// configuration's. EndpointAZs: the Availability Zones each endpoint
	// has a network interface in (the app's VPC spans 2).
	InterfaceEndpoints int
	EndpointAZs        int
}

// DefaultConvertBytesPerSecond is the documented conversion throughput
// used unless --measure asks for this machine's: package convert's
// decode-name-relabel path measured 167-190 MiB/s in-process over the
// fixture payloads (`cwstream cost --measure` on multi.bin, raw-multi.bin.gz,
// event.json, ecs.bin, rds.bin and alb.bin; development machine with 2
// shared cores; 2026-11-28). It is rounded down to 100 MiB/s because a
// Lambda vCPU (Graviton) is not that machine's core and the Lambda also
// parses the event JSON and base64, which the measurement leaves out.
// A figure rather than a measurement by default keeps estimates
// reproducible: the same payloads always give the same bill.
const DefaultConvertBytesPerSecond = 100 << 20

// DefaultAssumptions returns the documented defaults.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		MemoryMiB:              1024,
		ConvertBytesPerSecond:  DefaultConvertBytesPerSecond,
		WriteRoundTrip:         50 * time.Millisecond,
		SamplesPerRequest:      2000,
		Concurrency:            4,
		ProcessorBufferBytes:   1 << 20,
		ProcessorBufferSeconds: 60,
		FailedShare:            0,
		S3RetentionDays:        14,
		S3BufferBytes:          64 << 20,
		S3BufferSecs:           300,
		KMSKeys:                2,
		RetentionDays:          150,
		BytesPerSample:         2,
		QueryReads:             10,
		Editors:                1,
		Viewers:                0,
		InterfaceEndpoints:     0,
		EndpointAZs:            2,
	}
}

// Validate reports the first assumption that cannot give an estimate.
func (a Assumptions) Validate() error {
	switch {
	case a.MemoryMiB < 128 || a.MemoryMiB > 10240:
		return fmt.Errorf("lambda memory %d MiB is outside 128..10240", a.MemoryMiB)
	case !(a.ConvertBytesPerSecond > 0):
		return fmt.Errorf("conversion throughput must be > 0, got %v", a.ConvertBytesPerSecond)
	case a.WriteRoundTrip < 0 || a.SamplesPerRequest < 1 || a.Concurrency < 1:
		return fmt.Errorf("remote write: round trip %v, %d samples a request, concurrency %d: want ≥ 0, ≥ 1, ≥ 1", a.WriteRoundTrip, a.SamplesPerRequest, a.Concurrency)
	case a.ProcessorBufferBytes < 1 || a.ProcessorBufferSeconds < 1 || a.S3BufferBytes < 1 || a.S3BufferSecs < 1:
		return fmt.Errorf("buffering hints must be > 0")
	case a.FailedShare < 0 || a.FailedShare > 1:
		return fmt.Errorf("failed share %v is outside 0..1", a.FailedShare)
	case a.S3RetentionDays < 0 || a.RetentionDays < 0 || a.BytesPerSample < 0 || a.QueryReads < 0:
		return fmt.Errorf("retention, bytes per sample and query reads must be ≥ 0")
	case a.KMSKeys < 0 || a.Editors < 0 || a.Viewers < 0:
		return fmt.Errorf("KMS keys, editors and viewers must be ≥ 0")
	case a.InterfaceEndpoints < 0 || a.EndpointAZs < 1:
		return fmt.Errorf("interface endpoints %d, endpoint AZs %d: want ≥ 0 and ≥ 1", a.InterfaceEndpoints, a.EndpointAZs)
	}
	return nil
}

// The item ids, in the order of a bill.
const (
	ItemMetricStream = "metric_stream"
	ItemFirehose     = "firehose"
	ItemLambda       = "lambda"
	ItemS3           = "s3"
	ItemKMS          = "kms"
	ItemAMPIngestion = "amp_ingestion"
	ItemAMPStorage   = "amp_storage"
	ItemAMPQuery     = "amp_query"
	ItemAMG          = "amg"
	// ItemTagLookups counts the tag enrichment's API calls (tags.enabled).
	ItemTagLookups = "tag_lookups"
	// ItemInterfaceEndpoints prices the PrivateLink interface endpoints of
	// the CDK app's `network` option (Assumptions.InterfaceEndpoints > 0).
	ItemInterfaceEndpoints = "interface_endpoints"
)

// Item is one line of a bill.
type Item struct {
	ID          string  `json:"id"`
	Quantity    float64 `json:"quantity"`
	Unit        string  `json:"unit"`
	USDPerMonth float64 `json:"usd_per_month"`
	// Price says how the quantity was priced, for the text form.
	Price string `json:"-"`
}

// Bill is a monthly estimate.
type Bill struct {
	Items []Item  `json:"items"`
	Total float64 `json:"total_usd_per_month"`
	// Polling is what GetMetricData would cost to poll the same series
	// every minute ("1m") and every five ("5m") instead of streaming them.
	Polling map[string]float64 `json:"polling_usd_per_month"`
}

// Item returns the item with id, or false.
func (b Bill) Item(id string) (Item, bool) {
	for _, it := range b.Items {
		if it.ID == id {
			return it, true
		}
	}
	return Item{}, false
}

// Estimate prices a month of t.
func Estimate(t Traffic, p Prices, a Assumptions) Bill {
	month := func(v float64) float64 { return t.PerMinute(v) * MinutesPerMonth }
	var b Bill
	add := func(it Item) {
		b.Items = append(b.Items, it)
		b.Total += it.USDPerMonth
	}

	updates := month(float64(t.BilledUpdates))
	add(Item{ItemMetricStream, updates, "metric updates",
		updates / 1000 * p.Get(MetricStreamPer1000Updates),
		usd(p.Get(MetricStreamPer1000Updates)) + " / 1,000"})

	fhGB := month(t.BilledBytes) / gib
	add(Item{ItemFirehose, fhGB, "GB ingested (records rounded up to 5 KB)",
		fhGB * p.Get(FirehosePerGB), usd(p.Get(FirehosePerGB)) + " / GB"})

	add(lambdaItem(t, p, a))

	s3Bytes := month(t.Bytes) * a.FailedShare
	if a.BackupAll {
		s3Bytes = month(t.Bytes) * (1 + a.FailedShare)
	}
	var objects float64
	if s3Bytes > 0 {
		objects = max(MinutesPerMonth*60/float64(a.S3BufferSecs), math.Ceil(s3Bytes/float64(a.S3BufferBytes)))
	}
	s3GBMonth := s3Bytes * a.S3RetentionDays / (730.0 / 24) / gib
	add(Item{ItemS3, s3GBMonth, "GB-month stored",
		s3GBMonth*p.Get(S3PerGBMonth) + objects/1000*p.Get(S3Per1000Puts),
		fmt.Sprintf("%s / GB-month + %s PUTs × %s / 1,000", usd(p.Get(S3PerGBMonth)), count(objects), usd(p.Get(S3Per1000Puts)))})

	// With an S3 Bucket Key, KMS is called far less than once per
	// object; once per object is the upper bound used here.
	add(Item{ItemKMS, float64(a.KMSKeys), "customer managed keys",
		float64(a.KMSKeys)*p.Get(KMSPerKeyMonth) + objects/10000*p.Get(KMSPer10000Requests),
		fmt.Sprintf("%s / key-month + %s requests × %s / 10,000", usd(p.Get(KMSPerKeyMonth)), count(objects), usd(p.Get(KMSPer10000Requests)))})

	samples := month(float64(t.Samples))
	add(Item{ItemAMPIngestion, samples, "samples ingested", ampIngestion(samples, p),
		fmt.Sprintf("%s / 10M (first %s), %s, then %s", usd(p.Get(AMPTier1Per10MSamples)), count(p.Get(AMPTier1Samples)), usd(p.Get(AMPTier2Per10MSamples)), usd(p.Get(AMPTier3Per10MSamples)))})

	storedGB := (samples*a.BytesPerSample*a.RetentionDays/(730.0/24) + float64(t.SeriesBytes)) / gib
	add(Item{ItemAMPStorage, storedGB, "GB-month stored",
		storedGB * p.Get(AMPStoragePerGBMonth), usd(p.Get(AMPStoragePerGBMonth)) + " / GB-month"})

	qsp := samples * a.QueryReads
	add(Item{ItemAMPQuery, qsp, "query samples processed",
		qsp / 1e9 * p.Get(AMPQueryPerBillionSamples), usd(p.Get(AMPQueryPerBillionSamples)) + " / billion"})

	editors := max(a.Editors, 1)
	add(Item{ItemAMG, float64(editors + a.Viewers), "active users",
		float64(editors)*p.Get(AMGEditorPerMonth) + float64(a.Viewers)*p.Get(AMGViewerPerMonth),
		fmt.Sprintf("%s × %s + %s × %s", plural(editors, "editor"), usd(p.Get(AMGEditorPerMonth)), plural(a.Viewers, "viewer"), usd(p.Get(AMGViewerPerMonth)))})

	if t.TagRefresh > 0 {
		add(tagLookupsItem(t))
	}
	if a.InterfaceEndpoints > 0 {
		add(interfaceEndpointsItem(month(t.RemoteWriteBytes)/gib, t.RemoteWriteMeasured, p, a))
	}

	// Polling requests one metric per series (metric, dimensions,
	// statistic) per poll: every series seen, at every poll, whereas the
	// stream sends only the updates that exist (a count metric only in
	// minutes it is non-zero).
	b.Polling = map[string]float64{}
	for _, every := range []struct {
		key     string
		minutes float64
	}{{"1m", 1}, {"5m", 5}} {
		polls := MinutesPerMonth / every.minutes
		b.Polling[every.key] = float64(t.Series) * polls / 1000 * p.Get(GetMetricDataPer1000Requests)
	}
	return b
}

// tagLookupsItem counts the tag enrichment's calls to the Resource Groups
// Tagging API: per region (per account and region with tags.role_arn),
// every refresh, one GetResources call per page of tags.PageSize
// resources. The count is per Lambda execution environment (each looks up
// on its own) and a lower bound, since the API returns every tagged
// resource of the types asked for, not only those streamed. The API has no
// price in the table (AWS lists none for it); what the calls cost is their
// share of its rate limit, which tags.refresh bounds.
func tagLookupsItem(t Traffic) Item {
	unit := "region"
	if t.TagAccounts {
		unit = "account region"
	}
	perHour := 0.0
	for _, n := range t.TagResources {
		pages := math.Max(1, math.Ceil(float64(n)/tags.PageSize))
		perHour += pages * float64(time.Hour) / float64(t.TagRefresh)
	}
	return Item{ItemTagLookups, perHour * MinutesPerMonth / 60,
		fmt.Sprintf("tag:GetResources calls (%s an hour per Lambda environment: %s, refresh %s)", count(perHour), plural(len(t.TagResources), unit), model.Duration(t.TagRefresh)),
		0, "no listed price"}
}

// interfaceEndpointsItem prices the interface endpoints: every endpoint in
// every AZ for the whole month, plus the GB they process. Of the traffic
// only remote writes (writeGB a month) go through an endpoint in volume:
// the Tagging API and STS calls are a few small requests per refresh
// (see tag_lookups), negligible next to them, and AMP's answers to remote
// writes are empty. The per-GB price is the first tier (1 PB a month over
// all the region's interface endpoints), far above this pipeline's volume.
// Traffic from a meter that did not measure remote writes says so in the
// price rather than passing 0 GB off as a measurement.
func interfaceEndpointsItem(writeGB float64, measured bool, p Prices, a Assumptions) Item {
	hours := float64(a.InterfaceEndpoints*a.EndpointAZs) * MinutesPerMonth / 60
	written := count(writeGB) + " GB remote-written"
	if !measured {
		written = "remote writes (not measured)"
	}
	return Item{ItemInterfaceEndpoints, hours,
		fmt.Sprintf("endpoint-AZ hours (%s × %s)", plural(a.InterfaceEndpoints, "endpoint"), plural(a.EndpointAZs, "AZ")),
		hours*p.Get(InterfaceEndpointPerAZHour) + writeGB*p.Get(InterfaceEndpointPerGB),
		fmt.Sprintf("%s / endpoint-AZ hour + %s × %s / GB", usd(p.Get(InterfaceEndpointPerAZHour)), written, usd(p.Get(InterfaceEndpointPerGB)))}
}

// lambdaItem prices the transformation Lambda: Firehose invokes it when
// its buffer fills or its interval passes, whichever comes first; each
// invocation decodes its bytes (CPU scales with memory up to one vCPU at
// 1,769 MB) and writes its samples in rounds of Concurrency requests.
func lambdaItem(t Traffic, p Prices, a Assumptions) Item {
	bytesPerMinute := t.PerMinute(t.Bytes)
	var invPerMinute, ms float64
	if bytesPerMinute > 0 {
		invPerMinute = max(60/float64(a.ProcessorBufferSeconds), math.Ceil(bytesPerMinute/float64(a.ProcessorBufferBytes)))
		bytes := bytesPerMinute / invPerMinute
		samples := t.PerMinute(float64(t.Samples)) / invPerMinute
		cpuShare := min(1, float64(a.MemoryMiB)/1769)
		cpu := bytes / a.ConvertBytesPerSecond / cpuShare
		requests := math.Ceil(samples / float64(a.SamplesPerRequest))
		rounds := math.Ceil(requests / float64(a.Concurrency))
		ms = math.Ceil(cpu*1000 + rounds*float64(a.WriteRoundTrip)/float64(time.Millisecond))
	}
	invocations := invPerMinute * MinutesPerMonth
	gbSeconds := invocations * ms / 1000 * float64(a.MemoryMiB) / 1024
	return Item{ItemLambda, gbSeconds, "GB-seconds (arm64)",
		gbSeconds*p.Get(LambdaArmPerGBSecond) + invocations/1e6*p.Get(LambdaPerMillionRequests),
		fmt.Sprintf("%s / GB-s + %s requests × %s / M (%s ms each at %d MiB)", usdFine(p.Get(LambdaArmPerGBSecond)), count(invocations), usd(p.Get(LambdaPerMillionRequests)), formatFloat(ms), a.MemoryMiB)}
}

// ampIngestion prices samples a month through the three tiers.
func ampIngestion(samples float64, p Prices) float64 {
	t1, t2 := p.Get(AMPTier1Samples), p.Get(AMPTier2Samples)
	in1 := min(samples, t1)
	in2 := min(max(samples-t1, 0), t2)
	in3 := max(samples-t1-t2, 0)
	return (in1*p.Get(AMPTier1Per10MSamples) + in2*p.Get(AMPTier2Per10MSamples) + in3*p.Get(AMPTier3Per10MSamples)) / 1e7
}

// WriteJSON writes b as the documented JSON object.
func (b Bill) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

// WriteText writes b as a table: one line per item, the total and the
// polling comparison.
func (b Bill) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "item\tquantity\tunit\tUSD/month\tpriced at")
	for _, it := range b.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.ID, count(it.Quantity), it.Unit, money(it.USDPerMonth), it.Price)
	}
	fmt.Fprintf(tw, "total\t\t\t%s\n", money(b.Total))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "polling the same series with GetMetricData instead (API requests only): every minute %s, every 5 minutes %s a month\n",
		money(b.Polling["1m"]), money(b.Polling["5m"]))
	return err
}

// count formats a quantity: whole numbers with thousands separators,
// small ones with up to four significant decimals.
func count(v float64) string {
	if v != math.Trunc(v) && math.Abs(v) < 1000 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	var out strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out.WriteByte(',')
		}
		out.WriteRune(r)
	}
	return out.String()
}

// money formats dollars to the cent.
func money(v float64) string { return "$" + strconv.FormatFloat(v, 'f', 2, 64) }

// usd formats a unit price as given.
func usd(v float64) string { return "$" + formatFloat(v) }

// usdFine formats a tiny unit price without an exponent.
func usdFine(v float64) string { return "$" + strconv.FormatFloat(v, 'f', -1, 64) }

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// plural formats n things.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
