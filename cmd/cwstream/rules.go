package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cwstream/cwstream/internal/rules"
)

// runRules writes the Prometheus rule file (the AMP rule groups namespace
// data), or with --alertmanager-topic the AMP alert manager definition.
func runRules(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := rules.DefaultOptions()
	out := fs.String("out", "-", "`file` to write, - for stdout")
	o := d
	fs.Float64Var(&o.RDSMaxConnections, "rds-max-connections", d.RDSMaxConnections, "max_connections of the databases (alert at 80 %)")
	fs.Float64Var(&o.ALBP99Seconds, "alb-p99-seconds", d.ALBP99Seconds, "ALB target response time p99 alert threshold")
	fs.Float64Var(&o.ALB5xxRatio, "alb-5xx-ratio", d.ALB5xxRatio, "ALB 5xx share alert threshold (0-1)")
	fs.StringVar(&o.Env, "env", "", "environment label for the pipeline alerts, which carry no series labels")
	topic := fs.String("alertmanager-topic", "", "write the AMP alert manager definition for this SNS topic `ARN` instead")
	region := fs.String("region", os.Getenv("AWS_REGION"), "region of the SNS topic (with --alertmanager-topic)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cwstream rules [--out FILE] [flags]\n       cwstream rules --alertmanager-topic ARN --region REGION [--out FILE]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		fmt.Fprintln(stderr, "cwstream rules: no arguments are taken")
		return errUsage
	}
	var text []byte
	if *topic != "" {
		def, err := rules.AlertManagerDefinition(*topic, *region)
		if err != nil {
			return err
		}
		text = []byte(def)
	} else {
		f, err := rules.Build(o)
		if err != nil {
			return err
		}
		if text, err = f.Marshal(); err != nil {
			return err
		}
	}
	if *out == "-" {
		_, err := stdout.Write(text)
		return err
	}
	if err := os.WriteFile(*out, text, 0o644); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	return nil
}
