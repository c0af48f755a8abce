package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NamespaceFilter selects a namespace, optionally only some metrics of it.
type NamespaceFilter struct {
	Namespace   string
	MetricNames []string
}

// StatisticsSelection streams extra statistics for some metrics.
type StatisticsSelection struct {
	Statistics []string
	// Metrics are [namespace, metric name] pairs.
	Metrics [][2]string
}

// MetricStreamProps configures a MetricStream.
type MetricStreamProps struct {
	DeliveryStreamArn *string
	// OutputFormat is opentelemetry0.7, opentelemetry1.0 or json; the
	// ingest function reads each.
	OutputFormat                 string
	IncludeFilters               []NamespaceFilter
	AdditionalStatistics         []StatisticsSelection
	IncludeLinkedAccountsMetrics bool
}

// MetricStream is a CloudWatch metric stream with a role that can put records into one delivery stream only.
type MetricStream struct {
	constructs.Construct
	Stream awscloudwatch.CfnMetricStream
	Role   awsiam.Role
}

// NewMetricStream creates the stream and its role.
func NewMetricStream(scope constructs.Construct, id string, props *MetricStreamProps) *MetricStream {
	c := constructs.NewConstruct(scope, jsii.String(id))
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String("cwstream metric stream: put records into its delivery stream"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("streams.metrics.cloudwatch.amazonaws.com"), nil),
	})
	policy := awsiam.NewPolicy(c, jsii.String("Policy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("firehose:PutRecord", "firehose:PutRecordBatch"),
			Resources: &[]*string{props.DeliveryStreamArn},
		})},
	})
	filters := make([]*awscloudwatch.CfnMetricStream_MetricStreamFilterProperty, 0, len(props.IncludeFilters))
	for _, f := range props.IncludeFilters {
		p := &awscloudwatch.CfnMetricStream_MetricStreamFilterProperty{Namespace: jsii.String(f.Namespace)}
		if len(f.MetricNames) > 0 {
			p.MetricNames = jsii.Strings(f.MetricNames...)
		}
		filters = append(filters, p)
	}
	streamProps := &awscloudwatch.CfnMetricStreamProps{
		FirehoseArn:                  props.DeliveryStreamArn,
		RoleArn:                      role.RoleArn(),
		OutputFormat:                 jsii.String(props.OutputFormat),
		IncludeFilters:               &filters,
		IncludeLinkedAccountsMetrics: jsii.Bool(props.IncludeLinkedAccountsMetrics),
	}
	if len(props.AdditionalStatistics) > 0 {
		stats := make([]*awscloudwatch.CfnMetricStream_MetricStreamStatisticsConfigurationProperty, 0, len(props.AdditionalStatistics))
		for _, s := range props.AdditionalStatistics {
			metrics := make([]*awscloudwatch.CfnMetricStream_MetricStreamStatisticsMetricProperty, 0, len(s.Metrics))
			for _, m := range s.Metrics {
				metrics = append(metrics, &awscloudwatch.CfnMetricStream_MetricStreamStatisticsMetricProperty{
					Namespace: jsii.String(m[0]), MetricName: jsii.String(m[1]),
				})
			}
			stats = append(stats, &awscloudwatch.CfnMetricStream_MetricStreamStatisticsConfigurationProperty{
				AdditionalStatistics: jsii.Strings(s.Statistics...),
				IncludeMetrics:       &metrics,
			})
		}
		streamProps.StatisticsConfigurations = &stats
	}
	stream := awscloudwatch.NewCfnMetricStream(c, jsii.String("Stream"), streamProps)
	stream.Node().AddDependency(policy)
	return &MetricStream{Construct: c, Stream: stream, Role: role}
}
