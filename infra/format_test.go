package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// An environment whose stream uses the json output format synthesizes a
// metric stream in that format with the statistics only json allows
// (MetricStreamStatisticsConfiguration); the function is the same, since it
// detects each record's format.
func TestJSONOutputFormatSynth(t *testing.T) {
	ctx := cdkContext(t)
	env, err := LoadEnvConfig(ctx[ContextKeyEnvironments], "dev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	env.Stream.OutputFormat = "json"
	env.Stream.AdditionalStatistics = []StatisticsSelection{{
		Statistics: []string{"p99", "tm90", "TM(25%:75%)"},
		Metrics:    []MetricRef{{Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime"}},
	}}
	if err := env.Validate(); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	stacks, err := BuildApp(app, env, DefaultPaths(repoRoot))
	if err != nil {
		t.Fatal(err)
	}
	tpl := assertions.Template_FromStack(stacks.Ingest[0].Stack, nil)
	check(t, "metric stream", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::MetricStream"), map[string]any{
			"OutputFormat": "json",
			"StatisticsConfigurations": []any{map[string]any{
				"AdditionalStatistics": []any{"p99", "tm90", "TM(25%:75%)"},
				"IncludeMetrics":       []any{map[string]any{"Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime"}},
			}},
		})
	})
}
