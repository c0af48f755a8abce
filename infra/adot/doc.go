// Package adot is a CDK construct that adds the AWS Distro for
// OpenTelemetry (ADOT) collector as a sidecar to any ECS task definition,
// Fargate or EC2: the container adot-collector from the pinned
// public.ecr.aws/aws-observability/aws-otel-collector image, configured
// through AOT_CONFIG_CONTENT with a configuration generated from typed
// options (cwstream's internal/adot, the same code behind `cwstream
// adot-config`), its own KMS-encrypted log group with retention, the
// image's health check, and a task-role policy allowing exactly the AMP
// ingestion actions on one workspace.
//
// From another team's CDK Go app (module github.com/cwstream/cwstream):
//
//	opts := adot.DefaultOptions()
//	opts.RemoteWriteURL = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-…/api/v1/remote_write"
//	opts.Region = "eu-west-1"
//	opts.ScrapeTargets = []string{"localhost:9102"}
//	sidecar, err := adot.NewSidecar(stack, "Adot", &adot.SidecarProps{
//		TaskDefinition: taskDef,
//		WorkspaceArn:   jsii.String("arn:aws:aps:eu-west-1:123456789012:workspace/ws-…"),
//		Options:        opts,
//	})
//	// Start tasks only once the task role's AMP policy is attached: writes
//	// before that get 403, which the exporter drops without retrying.
//	service.Node().AddDependency(sidecar.Policy)
//
// The application container needs nothing: in awsvpc mode (Fargate) the
// collector reaches it on localhost; with bridge networking, scrape the
// application's container name through a link or use awsvpc.
package adot
