package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cwstream/cwstream/internal/adot"
	"github.com/cwstream/cwstream/internal/config"
)

// runADOTConfig prints the ADOT collector sidecar's configuration (what
// goes into AOT_CONFIG_CONTENT), or with --container-definition the ECS
// container definition JSON with it, for task definitions not made with
// the CDK construct (infra/adot).
func runADOTConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("adot-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := adot.DefaultOptions()
	o := d
	fs.StringVar(&o.RemoteWriteURL, "remote-write-url", "", "the AMP workspace's remote-write `URL` (required)")
	fs.StringVar(&o.Region, "region", os.Getenv("AWS_REGION"), "the workspace's `region` (SigV4)")
	var scrape, labels listFlag
	fs.Var(&scrape, "scrape", "`host:port` to scrape; repeat for more (default "+strings.Join(d.ScrapeTargets, ",")+")")
	noScrape := fs.Bool("no-scrape", false, "scrape nothing: container metrics only")
	fs.DurationVar(&o.ScrapeInterval, "interval", d.ScrapeInterval, "scrape and container metrics interval")
	fs.StringVar(&o.MetricsPath, "metrics-path", d.MetricsPath, "the targets' metrics `path`")
	fs.StringVar(&o.Job, "job", d.Job, "scrape job `name` (the job label)")
	fs.StringVar(&o.ServiceName, "service", "", "ecs_service label `value` of the application series")
	fs.Var(&labels, "label", "external label `name=value` on every series; repeat for more")
	configFile := fs.String("config", "", "a cwstream configuration `file`: its external_labels and relabel_configs apply to the scraped series too")
	noContainers := fs.Bool("no-container-metrics", false, "leave out the awsecscontainermetrics receiver")
	noTaskLabels := fs.Bool("no-task-labels", false, "leave out the ecs_cluster, ecs_service, ecs_task_id, account_id and region labels")
	noSigV4 := fs.Bool("no-sigv4", false, "do not sign the writes (a store other than AMP that takes unsigned writes)")
	asContainer := fs.Bool("container-definition", false, "print the ECS container definition JSON instead of the collector YAML")
	logGroup := fs.String("log-group", "", "CloudWatch Logs `group` of the container (with --container-definition; required there)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cwstream adot-config --remote-write-url URL --region R [--scrape host:port]... [flags]\n"+
			"       cwstream adot-config --container-definition --log-group GROUP --remote-write-url URL --region R [flags]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		fmt.Fprintln(stderr, "cwstream adot-config: no arguments are taken")
		return errUsage
	}
	switch {
	case *noScrape:
		o.ScrapeTargets = nil
	case len(scrape) > 0:
		o.ScrapeTargets = scrape
	}
	o.ContainerMetrics = !*noContainers
	o.TaskLabels = !*noTaskLabels
	o.SigV4 = !*noSigV4
	if *configFile != "" {
		// The cwstream configuration's own loader: same strictness, errors
		// naming the key.
		cfg, err := config.Load(*configFile)
		if err != nil {
			return err
		}
		o.ExternalLabels = cfg.ExternalLabels
		o.MetricRelabelConfigs = cfg.RelabelConfigs
	}
	if len(labels) > 0 {
		if o.ExternalLabels == nil {
			o.ExternalLabels = map[string]string{}
		}
		for _, l := range labels {
			k, v, ok := strings.Cut(l, "=")
			if !ok || k == "" {
				return fmt.Errorf("--label %q: want name=value", l)
			}
			o.ExternalLabels[k] = v
		}
	}
	if !*asContainer {
		text, err := adot.Config(o)
		if err != nil {
			return adotFlagError(err)
		}
		_, err = io.WriteString(stdout, text)
		return err
	}
	def, err := adot.ContainerDefinition(o, adot.LogOptions{Group: *logGroup, Region: o.Region})
	if err != nil {
		return adotFlagError(err)
	}
	_, err = stdout.Write(def)
	return err
}

// adotFlags are the flags that set each of adot.Options' fields, so that
// an error names what the user typed, not a Go field.
var adotFlags = map[string]string{
	"RemoteWriteURL": "--remote-write-url", "Region": "--region", "ScrapeTargets": "--scrape", "ScrapeInterval": "--interval",
	"MetricsPath": "--metrics-path", "Job": "--job", "ExternalLabels": "--label (or the --config file's external_labels)",
	"MetricRelabelConfigs": "the --config file's relabel_configs", "LogOptions": "--log-group and --region",
}

// adotFlagError names the flag of an *adot.OptionError.
func adotFlagError(err error) error {
	var oe *adot.OptionError
	if !errors.As(err, &oe) {
		return err
	}
	field, index, _ := strings.Cut(oe.Option, "[")
	name, ok := adotFlags[field]
	if !ok {
		return err
	}
	if index != "" {
		name += " [" + index // which of the repeated values
	}
	return fmt.Errorf("%s: %s", name, oe.Reason)
}

// listFlag collects a repeated flag's values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
