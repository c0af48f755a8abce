package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/lambdaenv"
	"github.com/cwstream/cwstream/internal/rules"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// lambdaTaskRoot is where Lambda unpacks the asset ($LAMBDA_TASK_ROOT).
const lambdaTaskRoot = "/var/task"

// durationAlarmFraction of the timeout is "near timeout": past it an invocation
// is one slow retry away from being abandoned.
const durationAlarmFraction = 0.8

// IngestStackProps configures an IngestStack.
type IngestStackProps struct {
	awscdk.StackProps
	Env *EnvConfig
	// Workspace is the environment's workspace stack (any region).
	Workspace *WorkspaceStack
	// AssetDir is the function's staged deployment package.
	AssetDir string
	// TagLookups grants the function tag:GetResources: its configuration
	// turns tag enrichment on. TagRoleARN is its tags.role_arn, the role
	// it may assume in other accounts.
	TagLookups bool
	TagRoleARN string
}

// IngestStack is one per environment and region: metric stream → Firehose →
// Lambda → AMP, an S3 bucket for what fails, and alarms.
type IngestStack struct {
	awscdk.Stack
	Key        awskms.Key
	Bucket     awss3.Bucket
	AlarmTopic *cw.AlertTopic
	Function   *cw.IngestFunction
	// Network is nil unless the environment sets one (in its region).
	Network        *cw.PrivateNetwork
	DeliveryStream *cw.DeliveryStream
	MetricStream   *cw.MetricStream
	Alarms         []awscloudwatch.Alarm
}

// IngestStackName is the CloudFormation name of an ingest stack.
func IngestStackName(env, region string) string {
	return fmt.Sprintf("cwstream-%s-ingest-%s", env, region)
}

// NewIngestStack creates one region's ingest stack.
func NewIngestStack(scope constructs.Construct, id string, props *IngestStackProps) *IngestStack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	env := props.Env
	removal := removalPolicy(env)
	s := &IngestStack{Stack: stack}

	s.Key = cw.NewStackKey(stack, "Key", fmt.Sprintf("cwstream %s ingest: Firehose stream, its bucket, log groups and the alarm topic", env.Name), removal)
	accessLogs := awss3.NewBucket(stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		// S3 server access logging delivers only to SSE-S3 buckets.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     removal,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
	})
	s.Bucket = awss3.NewBucket(stack, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_KMS,
		EncryptionKey:          s.Key,
		BucketKeyEnabled:       jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: accessLogs,
		ServerAccessLogsPrefix: jsii.String("firehose-bucket/"),
		RemovalPolicy:          removal,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{Id: jsii.String("expire-processing-failed"), Prefix: jsii.String(cw.ProcessingFailedS3), Expiration: days(env.Bucket.ProcessingFailedExpirationDays)},
			{Id: jsii.String("expire-raw-backup"), Prefix: jsii.String(cw.BackupS3), Expiration: days(env.Bucket.BackupExpirationDays)},
			// Every root Firehose writes under gets a rule (issue 20): what
			// the function answers Ok is kept as long as its failures, and
			// raw records whose backup failed as long as the backup.
			{Id: jsii.String("expire-records"), Prefix: jsii.String(cw.RecordsS3), Expiration: days(env.Bucket.ProcessingFailedExpirationDays)},
			{Id: jsii.String("expire-raw-backup-errors"), Prefix: jsii.String(cw.BackupErrorsS3), Expiration: days(env.Bucket.BackupExpirationDays)},
			{Id: jsii.String("abort-incomplete-uploads"), AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1))},
		},
	})
	suppressBucketGuards(accessLogs, s.Bucket)
	s.AlarmTopic = cw.NewAlertTopic(stack, "Alarms", &cw.AlertTopicProps{
		Key:        s.Key,
		Publishers: []string{"cloudwatch.amazonaws.com"},
		Email:      env.Alerts.Email,
	})

	environment := map[string]*string{
		lambdaenv.EnvRemoteWriteURL: props.Workspace.Prometheus.RemoteWriteURL,
		lambdaenv.EnvConfig:         jsii.String(lambdaTaskRoot + "/" + lambdaenv.DefaultConfigName),
		// AMP accepts only SigV4-signed writes; the workspace region is
		// explicit because it differs from the function's in other regions.
		lambdaenv.EnvSigV4:    jsii.String("true"),
		lambdaenv.EnvRegion:   props.Workspace.Region(),
		lambdaenv.EnvLogLevel: jsii.String(env.Lambda.LogLevel),
	}
	for name, v := range map[string]int{
		lambdaenv.EnvMaxSamplesPerRequest: env.Lambda.MaxSamplesPerRequest,
		lambdaenv.EnvMaxBytesPerRequest:   env.Lambda.MaxBytesPerRequest,
		lambdaenv.EnvConcurrency:          env.Lambda.Concurrency,
	} {
		if v > 0 { // 0 leaves the function's own default in force
			environment[name] = jsii.String(strconv.Itoa(v))
		}
	}
	// The network setting applies in the workspace's region: an interface
	// endpoint serves its own region's AMP only.
	var network *cw.FunctionNetwork
	noNetwork := "The environment has no network setting: the function reaches AMP's public, SigV4-authenticated HTTPS endpoint; set network in cdk.json to run it in private subnets behind an AMP interface endpoint."
	if n := env.Network; n != nil {
		if *stack.Region() == env.Region {
			s.Network = cw.NewPrivateNetwork(stack, "Network", &cw.PrivateNetworkProps{
				VpcID: n.VpcID, SubnetIDs: n.SubnetIDs, VpcCidr: n.VpcCidr,
				WorkspaceArn:         props.Workspace.Prometheus.Workspace.AttrArn(),
				TagLookups:           props.TagLookups,
				TagRoleARN:           props.TagRoleARN,
				FlowLogRetentionDays: env.Lambda.LogRetentionDays,
				Key:                  s.Key,
				RemovalPolicy:        removal,
			})
			network = s.Network.Function()
		} else {
			noNetwork = fmt.Sprintf("The AMP workspace is in %s and an interface endpoint serves only its own region's AMP, so this %s function writes over AMP's public, SigV4-authenticated HTTPS endpoint; the network setting applies to the ingest stack in %s.", env.Region, *stack.Region(), env.Region)
		}
	}
	s.Function = cw.NewIngestFunction(stack, "Ingest", &cw.IngestFunctionProps{
		AssetDir:            props.AssetDir,
		MemoryMiB:           env.Lambda.MemoryMiB,
		TimeoutSeconds:      env.Lambda.TimeoutSeconds,
		ReservedConcurrency: env.Lambda.ReservedConcurrency,
		LogRetentionDays:    env.Lambda.LogRetentionDays,
		LogKey:              s.Key,
		Network:             network,
		NoNetworkReason:     noNetwork,
		WorkspaceArn:        props.Workspace.Prometheus.Workspace.AttrArn(),
		Environment:         environment,
		RemovalPolicy:       removal,
		TagLookups:          props.TagLookups,
		TagRoleARN:          props.TagRoleARN,
	})
	s.DeliveryStream = cw.NewDeliveryStream(stack, "Firehose", &cw.DeliveryStreamProps{
		Function:                       s.Function.Function,
		Bucket:                         s.Bucket,
		Key:                            s.Key,
		ProcessorBufferSizeMiB:         env.Firehose.ProcessorBufferSizeMiB,
		ProcessorBufferIntervalSeconds: env.Firehose.ProcessorBufferIntervalSeconds,
		ProcessorRetries:               env.Firehose.ProcessorRetries,
		S3BufferSizeMiB:                env.Firehose.S3BufferSizeMiB,
		S3BufferIntervalSeconds:        env.Firehose.S3BufferIntervalSeconds,
		BackupAllRecords:               env.Firehose.BackupAllRecords,
		LogRetentionDays:               env.Firehose.LogRetentionDays,
		RemovalPolicy:                  removal,
	})
	s.MetricStream = cw.NewMetricStream(stack, "MetricStream", &cw.MetricStreamProps{
		DeliveryStreamArn:            s.DeliveryStream.Stream.AttrArn(),
		OutputFormat:                 env.Stream.OutputFormat,
		IncludeFilters:               streamFilters(env.Stream.IncludeFilters),
		AdditionalStatistics:         streamStatistics(env.Stream.AdditionalStatistics),
		IncludeLinkedAccountsMetrics: env.Stream.IncludeLinkedAccountsMetrics,
	})
	s.addAlarms(env)

	output(stack, "BucketName", s.Bucket.BucketName(), "S3 bucket with processing-failed records (and raw backups) for replay")
	output(stack, "AlarmTopicArn", s.AlarmTopic.Topic.TopicArn(), "SNS topic the ingest alarms notify")
	output(stack, "FunctionName", s.Function.Function.FunctionName(), "cwstream ingest Lambda")
	output(stack, "FunctionRoleArn", s.Function.Role.RoleArn(), "The ingest Lambda's role: what each source account's tags.role_arn role trusts")
	output(stack, "DeliveryStreamName", s.DeliveryStream.Stream.Ref(), "Firehose delivery stream")
	output(stack, "MetricStreamName", s.MetricStream.Stream.Ref(), "CloudWatch metric stream")
	outputWorkspaceGeneration(stack, props.Workspace)
	return s
}

// addAlarms watches every hop; each alarm and its recovery go to the topic.
func (s *IngestStack) addAlarms(env *EnvConfig) {
	fn := s.Function.Function
	five := awscdk.Duration_Minutes(jsii.Number(5))
	streamDims := &map[string]*string{"DeliveryStreamName": s.DeliveryStream.Stream.Ref()}
	metric := func(ns, name, stat string, dims *map[string]*string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(ns), MetricName: jsii.String(name), Statistic: jsii.String(stat),
			Period: five, DimensionsMap: dims,
		})
	}
	type spec struct {
		id, description string
		metric          awscloudwatch.IMetric
		threshold       float64
		op              awscloudwatch.ComparisonOperator
	}
	specs := []spec{
		{"LambdaErrors", "The ingest function failed invocations; Firehose retries them, then writes the records to processing-failed/.",
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD},
		{"LambdaThrottles", "The ingest function was throttled (reserved concurrency or account limit); data is delayed.",
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD},
		{"LambdaDurationNearTimeout", fmt.Sprintf("An invocation took more than %.0f%% of the %d s timeout.", durationAlarmFraction*100, env.Lambda.TimeoutSeconds),
			fn.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), durationAlarmFraction * float64(env.Lambda.TimeoutSeconds) * 1000, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD},
		{"RecordsFailed", "The ingest function returned records as ProcessingFailed (they are in S3 under processing-failed/ for replay).",
			metric(telemetry.DefaultNamespace, telemetry.MetricRecordsFailed, "Sum", &map[string]*string{"FunctionName": fn.FunctionName()}), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD},
		{"FirehoseProcessingFailed", "Firehose could not invoke the processor successfully (after its retries the records go to processing-failed/).",
			metric("AWS/Firehose", "ExecuteProcessing.Success", "Minimum", streamDims), 1, awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD},
		{"FirehoseDeliveryFailed", "Firehose failed to deliver to S3: processing-failed records may be lost after 24 h of retries.",
			metric("AWS/Firehose", "DeliveryToS3.Success", "Minimum", streamDims), 1, awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD},
		{"MetricStreamPublishErrors", "The metric stream failed to put records into Firehose.",
			metric("AWS/CloudWatch/MetricStreams", "PublishErrorRate", "Maximum", &map[string]*string{"MetricStreamName": s.MetricStream.Stream.Ref()}), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD},
	}
	if env.Firehose.BackupAllRecords {
		specs = append(specs, spec{"FirehoseBackupFailed", "Firehose failed to write the raw backup to S3.",
			metric("AWS/Firehose", "BackupToS3.Success", "Minimum", streamDims), 1, awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD})
	}
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic.Topic)
	for _, sp := range specs {
		alarm := awscloudwatch.NewAlarm(s.Stack, jsii.String(sp.id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(sp.description + " Runbook: " + AlarmRunbookURL(sp.id)),
			Metric:             sp.metric,
			Threshold:          jsii.Number(sp.threshold),
			ComparisonOperator: sp.op,
			EvaluationPeriods:  jsii.Number(1),
			// No data means no traffic, not failure; CWStreamNoData in AMP
			// catches a silent pipeline.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(action)
		alarm.AddOkAction(action)
		s.Alarms = append(s.Alarms, alarm)
	}
}

// AlarmRunbookURL is the operations guide's section for an ingest alarm
// (the same guide the AMP alerts link to): its anchor is the alarm's id in
// lower case.
func AlarmRunbookURL(alarmID string) string {
	return rules.DefaultOptions().RunbookBase + "#" + strings.ToLower(alarmID)
}

func days(n int) awscdk.Duration { return awscdk.Duration_Days(jsii.Number(n)) }

func streamFilters(in []NamespaceFilter) []cw.NamespaceFilter {
	out := make([]cw.NamespaceFilter, 0, len(in))
	for _, f := range in {
		out = append(out, cw.NamespaceFilter{Namespace: f.Namespace, MetricNames: f.MetricNames})
	}
	return out
}

func streamStatistics(in []StatisticsSelection) []cw.StatisticsSelection {
	out := make([]cw.StatisticsSelection, 0, len(in))
	for _, s := range in {
		sel := cw.StatisticsSelection{Statistics: s.Statistics}
		for _, m := range s.Metrics {
			sel.Metrics = append(sel.Metrics, [2]string{m.Namespace, m.MetricName})
		}
		out = append(out, sel)
	}
	return out
}

// suppressBucketGuards records on the two buckets why the Control Tower S3
// controls that do not fit them are not applied.
func suppressBucketGuards(accessLogs, data awss3.Bucket) {
	logs, failed := cw.CfnOf(accessLogs), cw.CfnOf(data)
	cw.SuppressGuard(logs, cw.GuardS3DefaultKMS, "S3 server access logging delivers only to a destination bucket encrypted with SSE-S3 (S3 user guide, server access logging, destination bucket requirements); the logs hold request metadata, no metric data.")
	cw.SuppressGuard(logs, cw.GuardS3Logging, "This is the access-log destination itself; logging it to itself would loop and logging it elsewhere would need a third bucket with the same question.")
	for _, b := range []awscdk.CfnResource{logs, failed} {
		cw.SuppressGuard(b, cw.GuardS3Versioning, "Objects are written once under unique, time-based keys (Firehose, S3 server access logging), never overwritten, and deleted only by the bucket's lifecycle expiry; no role of the stack may delete them. Versioning would only keep copies past the retention the lifecycle rule sets.")
		cw.SuppressGuard(b, cw.GuardS3EventNotify, "Nothing consumes object events: failures are signalled by the RecordsFailed, Firehose and Lambda alarms, and replay reads the prefix on demand (docs/operations.md).")
		cw.SuppressGuard(b, cw.GuardS3ObjectLock, "Failed records must be deletable by the lifecycle rule once replayed or expired, and access logs likewise; WORM retention is not a requirement for operational metric data.")
	}
}
