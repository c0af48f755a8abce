package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/config"
	amg "github.com/aws/aws-sdk-go-v2/service/grafana"

	"github.com/cwstream/cwstream/internal/grafana"
)

// runGrafana provisions the dashboards into an Amazon Managed Grafana
// workspace (sync) or removes them (remove), with the same code the
// CloudFormation custom resource runs.
func runGrafana(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "usage: cwstream grafana sync|remove --workspace-id g-… --region REGION [--prometheus-url URL] [--folder-title TITLE]"
	if len(args) == 0 || (args[0] != "sync" && args[0] != "remove") {
		fmt.Fprintln(stderr, usage)
		fmt.Fprintln(stderr, "cwstream grafana: want the sync or remove subcommand")
		return errUsage
	}
	action := args[0]
	fs := flag.NewFlagSet("grafana "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	workspace := fs.String("workspace-id", "", "Amazon Managed Grafana workspace `id` (g-…)")
	region := fs.String("region", "", "AWS `region` of the workspaces (default: from the AWS configuration)")
	promURL := fs.String("prometheus-url", "", "AMP workspace query `URL` for the data source (https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-…/); empty: leave the data source alone")
	folderTitle := fs.String("folder-title", grafana.FolderTitle, "Grafana folder `title`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *workspace == "" || fs.NArg() != 0 {
		fs.Usage()
		fmt.Fprintln(stderr, "cwstream grafana: --workspace-id is required and no arguments are taken")
		return errUsage
	}
	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("grafana: loading AWS configuration: %w", err)
	}
	spec, err := grafana.NewSpec(*workspace, cfg.Region, *promURL)
	if err != nil {
		return err
	}
	spec.FolderTitle = *folderTitle
	p := grafana.NewProvisioner(amg.NewFromConfig(cfg), nil, slog.New(slog.NewTextHandler(stderr, nil)))
	if action == "remove" {
		if err := p.Remove(ctx, spec); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed cwstream dashboards, folder and data source from %s\n", *workspace)
		return nil
	}
	res, err := p.Sync(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "synced %d dashboards into %s (folder %s)\n", len(res.Dashboards), res.Endpoint, spec.FolderUID)
	return nil
}
