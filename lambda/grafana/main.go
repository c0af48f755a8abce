// Command grafana is the Lambda behind the CloudFormation custom resource
// that provisions cwstream's AMP data source, folder and dashboards into an
// Amazon Managed Grafana workspace on stack create and update, and removes
// them on delete. All logic is in internal/grafana; this main only builds
// the dependencies once per cold start.
//
// Resource properties: WorkspaceId (required), PrometheusUrl, Region; any
// other property (a hash of the dashboards) only triggers an update.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	amg "github.com/aws/aws-sdk-go-v2/service/grafana"

	"github.com/cwstream/cwstream/internal/grafana"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "err", err)
		os.Exit(1)
	}
	cr := &grafana.CustomResource{
		Provisioner:   grafana.NewProvisioner(amg.NewFromConfig(cfg), nil, log),
		DefaultRegion: cfg.Region,
	}
	lambda.StartWithOptions(cfn.LambdaWrap(cr.Handle))
}
