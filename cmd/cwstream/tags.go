package main

import (
	"context"
	"fmt"
	"log/slog"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/tags"
)

// tagsFlagHelp is the --tags help of dryrun and replay.
const tagsFlagHelp = "write the resources' tags as YACE info series (aws_<ns>_info), looked up with tag:GetResources: credentials from the default chain, AWS_ENDPOINT_URL honoured; the configuration's tags section applies, turned on"

// newEnricher returns the tag enrichment the Lambda would run with cfg,
// turned on whatever cfg.Tags.Enabled says (--tags asks for it). Unlike the
// Lambda, the CLI waits for a lookup up to its timeout: a short run would
// otherwise end before the first one answers.
func newEnricher(ctx context.Context, cfg *config.Config, log *slog.Logger) (*tags.Enricher, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for --tags: %w", err)
	}
	tc := cfg.Tags
	tc.Enabled = true
	return tags.New(&tc, tags.NewAPI(awsCfg, tc.RoleARN), tags.Options{
		Logger:         log,
		ExternalLabels: cfg.ExternalLabels,
		Wait:           tags.DefaultTimeout,
	}), nil
}
