// Command infra is the cwstream CDK app: `npx cdk deploy --all -c env=<name>`
// synthesizes one workspace stack (AMP, AMG, alerting, dashboards) for the
// environment and one ingest stack (metric stream, Firehose, Lambda, bucket,
// alarms) per ingest region. Environments live in cdk.json under "environments".
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cwstream infra:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	// jsii reports CDK validation errors as panics; turn them into one line.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis failed: %v", r)
		}
	}()
	app := awscdk.NewApp(nil)
	name, _ := app.Node().TryGetContext(jsii.String(ContextKeyEnv)).(string)
	env, err := LoadEnvConfig(app.Node().TryGetContext(jsii.String(ContextKeyEnvironments)), name,
		os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"))
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := FindRoot(wd)
	if err != nil {
		return err
	}
	if _, err := BuildApp(app, env, DefaultPaths(root)); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}
