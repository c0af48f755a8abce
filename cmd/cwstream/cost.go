package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cost"
	"github.com/cwstream/cwstream/internal/source"
)

// costFlags are the flags of `cwstream cost`.
type costFlags struct {
	cfgPath, prices, region, format string
	measure, listPrices             bool
	suggest                         bool
	dashboards, rules               string
	a                               cost.Assumptions
}

func (f *costFlags) register(fs *flag.FlagSet) {
	d := cost.DefaultAssumptions()
	f.a = d
	fs.StringVar(&f.cfgPath, "config", "", "cwstream configuration `file` (default: every statistic, no relabelling)")
	fs.StringVar(&f.prices, "prices", "", "YAML or JSON `file` overriding prices: {region: R, prices: {key: USD}} (keys: --list-prices)")
	fs.StringVar(&f.region, "region", cost.DefaultRegion, "AWS `region` of the prices; another than "+cost.DefaultRegion+" needs --prices")
	fs.StringVar(&f.format, "format", "text", "output `format`: text or json")
	fs.BoolVar(&f.listPrices, "list-prices", false, "print the price table with its sources and exit")
	fs.BoolVar(&f.measure, "measure", false, "use the conversion throughput measured on this machine instead of the documented figure")
	fs.BoolVar(&f.suggest, "suggest", false, "suggest the stream filters and configuration that carry only what the dashboards and rules read, with the cost before and after")
	fs.StringVar(&f.dashboards, "dashboards", "", "with --suggest: `directory` of Grafana dashboard JSON files (default: cwstream's own dashboards)")
	fs.StringVar(&f.rules, "rules", "", "with --suggest: Prometheus rule `file` (default: cwstream's own rules)")
	fs.IntVar(&f.a.MemoryMiB, "memory", d.MemoryMiB, "Lambda memory in `MiB`")
	fs.IntVar(&f.a.Editors, "editors", d.Editors, "`number` of active Grafana editors a month (at least one is billed per workspace)")
	fs.IntVar(&f.a.Viewers, "viewers", d.Viewers, "`number` of active Grafana viewers a month")
	fs.Float64Var(&f.a.QueryReads, "query-reads", d.QueryReads, "how many `times` rules and dashboards read each stored sample (AMP query samples processed)")
	fs.Float64Var(&f.a.RetentionDays, "retention-days", d.RetentionDays, "AMP retention in `days`")
	fs.Float64Var(&f.a.FailedShare, "failed-share", d.FailedShare, "`share` (0-1) of the data written to S3 as processing-failed records")
	fs.BoolVar(&f.a.BackupAll, "backup-all", d.BackupAll, "Firehose backs up every raw record to S3")
	fs.IntVar(&f.a.KMSKeys, "kms-keys", d.KMSKeys, "customer managed KMS `keys` (the ingest and workspace stacks have one each)")
	fs.IntVar(&f.a.InterfaceEndpoints, "interface-endpoints", d.InterfaceEndpoints, "`number` of PrivateLink interface endpoints in the ingest region (0: the CDK app's network option is off; with it on, it creates 1-3: AMP, plus the Tagging API with tags.enabled, plus STS with tags.role_arn)")
	fs.IntVar(&f.a.EndpointAZs, "endpoint-azs", d.EndpointAZs, "`number` of Availability Zones each interface endpoint has a network interface in (the VPC the CDK app creates spans 2; with network.subnetIds, their AZs)")
	fs.DurationVar(&f.a.WriteRoundTrip, "write-latency", d.WriteRoundTrip, "one remote-write request's round trip to AMP")
}

func runCost(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "cost", "FILE|-|s3://bucket/prefix ...")
	var f costFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	prices, err := cost.LoadPrices(f.prices, f.region)
	if err != nil {
		return err
	}
	if f.listPrices {
		return prices.WriteTable(e.stdout)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	if f.format != "text" && f.format != "json" {
		return fmt.Errorf("--format %q: want text or json", f.format)
	}
	if !f.suggest && (f.dashboards != "" || f.rules != "") {
		return errors.New("--dashboards and --rules go with --suggest")
	}
	if err := f.a.Validate(); err != nil {
		return err
	}
	cfg, err := loadConfig(f.cfgPath)
	if err != nil {
		return err
	}
	if f.suggest {
		return runSuggest(ctx, e, &f, cfg, prices, fs.Args())
	}
	m := f.newMeter(cfg, cost.Filter{})
	failed, err := measure(ctx, e, fs.Args(), m)
	if err != nil {
		return err
	}
	t := m.Traffic()
	bill := cost.Estimate(t, prices, f.assumptions(t))
	if f.format == "json" {
		err = bill.WriteJSON(e.stdout)
	} else {
		err = writeCostText(e, &f, prices, t, bill)
	}
	if err != nil {
		return err
	}
	return failed
}

// newMeter returns a meter that also measures the remote-write bytes when
// the bill has interface endpoints to price them through.
func (f *costFlags) newMeter(cfg *config.Config, filter cost.Filter) *cost.Meter {
	m := cost.NewMeter(cfg, filter)
	if f.a.InterfaceEndpoints > 0 {
		m.MeasureRemoteWrite()
	}
	return m
}

// assumptions returns the assumptions for t: with --measure, the
// conversion throughput measured while reading it.
func (f *costFlags) assumptions(t cost.Traffic) cost.Assumptions {
	a := f.a
	if f.measure && t.ConvertTime > 0 {
		a.ConvertBytesPerSecond = t.Bytes / t.ConvertTime.Seconds()
	}
	return a
}

// measure feeds every record of the inputs to the meters, as dryrun and
// replay read them. Records that cannot be read or decoded are reported on
// stderr and counted; their good frames still count. Sources that cannot
// be read are listed and left out. The first error returned says how many
// there were of each; the second is an interruption.
func measure(ctx context.Context, e *env, args []string, meters ...*cost.Meter) (failed error, err error) {
	opener, err := newOpener(ctx, e, args)
	if err != nil {
		return nil, err
	}
	records, bad, raw := 0, 0, false
	tally, err := opener.Records(ctx, args, func(rec source.Record) error {
		records++
		if rec.Err != nil {
			bad++
			fmt.Fprintf(e.stderr, "%v\n", rec.Err)
			return nil
		}
		if rec.Form == source.Raw && rec.Offset+len(rec.Data) > source.MaxRecordBytes && !raw {
			raw = true
			fmt.Fprintf(e.stderr, "note: %s is larger than a Firehose record (1,000 KiB): an S3 object keeps no record boundaries, so it counts as records of up to 1,000 KiB of whole frames or lines, and the 5 KB rounding of each record is underestimated\n", rec.Source)
		}
		var first error
		for _, m := range meters {
			if err := m.Add(rec.Data); err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			bad++
			fmt.Fprintf(e.stderr, "%v\n", rec.Locate(first))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var undecoded error
	if bad > 0 {
		undecoded = fmt.Errorf("%d of %s could not be decoded (see above; the estimate counts their good frames)", bad, plural(records, "record"))
	}
	if len(tally.Unreadable) > 0 {
		fmt.Fprintf(e.stderr, "note: the estimate leaves out %d of %s, which could not be read:\n", len(tally.Unreadable), plural(tally.Sources, "source"))
	}
	return joinFailures(undecoded, listUnreadable(e, tally)), nil
}

// writeCostText writes the bill with what it was computed from.
func writeCostText(e *env, f *costFlags, prices cost.Prices, t cost.Traffic, bill cost.Bill) error {
	a := f.assumptions(t)
	fmt.Fprintf(e.stdout, "cwstream cost: %s prices, one month = 730 h\n", prices.Region)
	fmt.Fprintf(e.stdout, "measured: %s\n", t)
	fmt.Fprintf(e.stdout, "per minute: %.0f billed metric updates, %.0f samples, %.0f series\n\n",
		t.PerMinute(float64(t.BilledUpdates)), t.PerMinute(float64(t.Samples)), float64(t.Series))
	if err := bill.WriteText(e.stdout); err != nil {
		return err
	}
	_, err := fmt.Fprint(e.stdout, assumptionsText(a, f.measure))
	return err
}

// assumptionsText lists what the payloads could not tell.
func assumptionsText(a cost.Assumptions, measured bool) string {
	how := "documented figure"
	if measured {
		how = "measured"
	}
	endpoints := ""
	if a.InterfaceEndpoints > 0 {
		endpoints = fmt.Sprintf("; %s in %s each (--interface-endpoints, --endpoint-azs)", plural(a.InterfaceEndpoints, "interface endpoint"), plural(a.EndpointAZs, "AZ"))
	}
	return fmt.Sprintf("\nassumed (flags): Lambda %d MiB (--memory), conversion %.1f MiB/s per vCPU (%s; --measure), remote-write round trip %v (--write-latency); "+
		"AMP retention %g days (--retention-days), %g bytes per stored sample, each sample read %g times by queries (--query-reads); "+
		"Grafana: %s, %s (--editors, --viewers); %g of the data failed to S3 (--failed-share), backup of all records %v (--backup-all); %s (--kms-keys)%s.\n",
		a.MemoryMiB, a.ConvertBytesPerSecond/(1<<20), how, a.WriteRoundTrip.Round(time.Millisecond),
		a.RetentionDays, a.BytesPerSample, a.QueryReads, plural(max(a.Editors, 1), "active editor"), plural(a.Viewers, "viewer"), a.FailedShare, a.BackupAll, plural(a.KMSKeys, "KMS key"), endpoints)
}
