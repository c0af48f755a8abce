package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cwstream/cwstream/internal/dashboards"
)

// runDashboards writes one Grafana dashboard model per dashboard,
// <uid>.json, into --out.
func runDashboards(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dashboards", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "`directory` to write <uid>.json into (created if missing)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cwstream dashboards --out DIR")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		fmt.Fprintln(stderr, "cwstream dashboards: --out DIR is required and no arguments are taken")
		return errUsage
	}
	models, err := dashboards.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("dashboards: %w", err)
	}
	for _, m := range models {
		path := filepath.Join(*out, m.UID+".json")
		if err := os.WriteFile(path, m.JSON, 0o644); err != nil {
			return fmt.Errorf("dashboards: %w", err)
		}
		fmt.Fprintf(stdout, "%s\t%s\n", path, m.Title)
	}
	return nil
}
