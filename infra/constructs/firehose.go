package constructs

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// S3 prefixes the delivery stream writes. Records the function fails land
// under processing-failed/ (Firehose's error-output-type), ready for replay.
const (
	RecordsPrefix      = RecordsS3 + "!{timestamp:yyyy/MM/dd/HH}/"
	ErrorPrefix        = "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
	BackupPrefix       = BackupS3 + "!{timestamp:yyyy/MM/dd/HH}/"
	BackupErrorPrefix  = BackupErrorsS3 + "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
	ProcessingFailedS3 = "processing-failed/"
	BackupS3           = "raw/"
	// RecordsS3 holds what the function answers Ok (it answers Dropped or
	// ProcessingFailed today, so nothing); BackupErrorsS3 the raw records
	// whose backup delivery failed.
	RecordsS3      = "records/"
	BackupErrorsS3 = "raw-errors/"
)

// streamID is the delivery stream's construct id, which sets its logical
// id. It differs with the source record backup because Firehose cannot
// disable a backup once enabled (Firehose Developer Guide, "Back up source
// records": "You cannot disable source record backup after you enable
// it",
// https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-source-record-backup.html):
// in place, backupAllRecords true → false fails UpdateDestination and rolls
// the stack back. With a new logical id CloudFormation creates the new
// stream, points the metric stream at it, and deletes the old one in its
// cleanup phase; records still buffered in the old stream may be lost
// (DeleteDeliveryStream: "doesn't make any guarantees with respect to
// delivering the data",
// https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeleteDeliveryStream.html).
// Both directions replace: a logical id can only follow the setting. A
// stream with the backup keeps the id it always had ("Stream"), so those
// whose raw copies matter are not replaced by this change.
func streamID(backupAllRecords bool) string {
	if backupAllRecords {
		return "Stream"
	}
	return "StreamNoSourceBackup"
}

// DeliveryStreamProps configures a DeliveryStream.
type DeliveryStreamProps struct {
	Function awslambda.IFunction
	Bucket   awss3.IBucket
	// Key encrypts the stream at rest and the objects it writes.
	Key awskms.IKey
	// ProcessorBufferSizeMiB may be fractional (0.2–3 MiB).
	ProcessorBufferSizeMiB         float64
	ProcessorBufferIntervalSeconds int
	ProcessorRetries               int
	S3BufferSizeMiB                int
	S3BufferIntervalSeconds        int
	BackupAllRecords               bool
	// LogRetentionDays applies to the stream's log group (encrypted with Key).
	LogRetentionDays int
	RemovalPolicy    awscdk.RemovalPolicy
}

// DeliveryStream is a Direct PUT Firehose stream whose Lambda processor turns
// metric-stream records into remote writes; S3 receives only what failed (and,
// optionally, a raw backup of everything for replay).
type DeliveryStream struct {
	constructs.Construct
	Stream   awskinesisfirehose.CfnDeliveryStream
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
}

// NewDeliveryStream creates the stream, its role and its log group.
func NewDeliveryStream(scope constructs.Construct, id string, props *DeliveryStreamProps) *DeliveryStream {
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	logGroup := NewLogGroup(c, "Logs", &LogGroupProps{
		RetentionDays: props.LogRetentionDays,
		Key:           props.Key,
		RemovalPolicy: props.RemovalPolicy,
	})
	destLog := logGroup.AddStream(jsii.String("DestinationDelivery"), nil)
	// A stream goes with its group (CDK retains streams by default, which
	// would outlive a rolled-back create).
	destLog.ApplyRemovalPolicy(props.RemovalPolicy)
	logStreamArn := func(s awslogs.LogStream) *string {
		return jsii.String(fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:%s",
			*stack.Partition(), *stack.Region(), *stack.Account(), *logGroup.LogGroupName(), *s.LogStreamName()))
	}

	logStreams := []*string{logStreamArn(destLog)}
	var backupLog awslogs.LogStream
	if props.BackupAllRecords {
		backupLog = logGroup.AddStream(jsii.String("BackupDelivery"), nil)
		backupLog.ApplyRemovalPolicy(props.RemovalPolicy)
		logStreams = append(logStreams, logStreamArn(backupLog))
	}

	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String("cwstream Firehose: invoke its processor, write its bucket and its logs"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"sts:ExternalId": stack.Account()}},
		}),
	})
	objects := jsii.String(*props.Bucket.BucketArn() + "/*")
	policy := awsiam.NewPolicy(c, jsii.String("Policy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("Bucket"),
				Actions:   jsii.Strings("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"),
				Resources: &[]*string{props.Bucket.BucketArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("Objects"),
				Actions:   jsii.Strings("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"),
				Resources: &[]*string{objects},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ObjectsKey"),
				Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
				Resources: &[]*string{props.Key.KeyArn()},
				// The bucket uses an S3 Bucket Key, so S3 asks KMS with the
				// bucket's ARN as encryption context, not the object's (S3
				// user guide, "Reducing the cost of SSE-KMS with Amazon S3
				// Bucket Keys", changes to note before enabling).
				Conditions: &map[string]any{
					"StringEquals": map[string]any{
						"kms:ViaService":                   fmt.Sprintf("s3.%s.amazonaws.com", *stack.Region()),
						"kms:EncryptionContext:aws:s3:arn": props.Bucket.BucketArn(),
					},
				},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:     jsii.String("Processor"),
				Actions: jsii.Strings("lambda:InvokeFunction", "lambda:GetFunctionConfiguration"),
				// Unqualified and qualified (version or alias) ARNs, as the
				// Firehose developer guide's data transformation policy and
				// CDK's own grantInvoke give them.
				Resources: &[]*string{props.Function.FunctionArn(), jsii.String(*props.Function.FunctionArn() + ":*")},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("Logs"),
				Actions:   jsii.Strings("logs:PutLogEvents"),
				Resources: &logStreams,
			}),
		},
	})

	suppressWildcards(policy, []nagReason{
		{regex(`/^Resource::<[A-Za-z0-9]+\.Arn>:\*$/`), "Firehose may invoke its processor by the qualified ARN (version or alias) as well as the unqualified one; the function is this stack's own and the actions are only InvokeFunction and GetFunctionConfiguration."},
		{regex(`/^Resource::<[A-Za-z0-9]+\.Arn>\/\*$/`), "Firehose writes objects under time-based keys it generates (processing-failed/, raw/, records/ with yyyy/MM/dd/HH), so object actions need bucket/*; the bucket is this stack's own, used by nothing else, and the actions are only Put/Get/AbortMultipartUpload."},
	})

	s3Encryption := &awskinesisfirehose.CfnDeliveryStream_EncryptionConfigurationProperty{
		KmsEncryptionConfig: &awskinesisfirehose.CfnDeliveryStream_KMSEncryptionConfigProperty{AwskmsKeyArn: props.Key.KeyArn()},
	}
	num := func(n any) *string { return jsii.String(fmt.Sprint(n)) }
	dest := &awskinesisfirehose.CfnDeliveryStream_ExtendedS3DestinationConfigurationProperty{
		BucketArn:         props.Bucket.BucketArn(),
		RoleArn:           role.RoleArn(),
		Prefix:            jsii.String(RecordsPrefix),
		ErrorOutputPrefix: jsii.String(ErrorPrefix),
		CompressionFormat: jsii.String("GZIP"),
		BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
			SizeInMBs:         jsii.Number(props.S3BufferSizeMiB),
			IntervalInSeconds: jsii.Number(props.S3BufferIntervalSeconds),
		},
		EncryptionConfiguration: s3Encryption,
		CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
			Enabled: jsii.Bool(true), LogGroupName: logGroup.LogGroupName(), LogStreamName: destLog.LogStreamName(),
		},
		ProcessingConfiguration: &awskinesisfirehose.CfnDeliveryStream_ProcessingConfigurationProperty{
			Enabled: jsii.Bool(true),
			Processors: &[]*awskinesisfirehose.CfnDeliveryStream_ProcessorProperty{{
				Type: jsii.String("Lambda"),
				Parameters: &[]*awskinesisfirehose.CfnDeliveryStream_ProcessorParameterProperty{
					{ParameterName: jsii.String("LambdaArn"), ParameterValue: props.Function.FunctionArn()},
					{ParameterName: jsii.String("NumberOfRetries"), ParameterValue: num(props.ProcessorRetries)},
					{ParameterName: jsii.String("BufferSizeInMBs"), ParameterValue: num(props.ProcessorBufferSizeMiB)},
					{ParameterName: jsii.String("BufferIntervalInSeconds"), ParameterValue: num(props.ProcessorBufferIntervalSeconds)},
				},
			}},
		},
		S3BackupMode: jsii.String("Disabled"),
	}
	if props.BackupAllRecords {
		dest.S3BackupMode = jsii.String("Enabled")
		dest.S3BackupConfiguration = &awskinesisfirehose.CfnDeliveryStream_S3DestinationConfigurationProperty{
			BucketArn:         props.Bucket.BucketArn(),
			RoleArn:           role.RoleArn(),
			Prefix:            jsii.String(BackupPrefix),
			ErrorOutputPrefix: jsii.String(BackupErrorPrefix),
			CompressionFormat: jsii.String("GZIP"),
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				SizeInMBs:         jsii.Number(props.S3BufferSizeMiB),
				IntervalInSeconds: jsii.Number(props.S3BufferIntervalSeconds),
			},
			EncryptionConfiguration: s3Encryption,
			CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
				Enabled: jsii.Bool(true), LogGroupName: logGroup.LogGroupName(), LogStreamName: backupLog.LogStreamName(),
			},
		}
	}
	stream := awskinesisfirehose.NewCfnDeliveryStream(c, jsii.String(streamID(props.BackupAllRecords)), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamType: jsii.String("DirectPut"),
		DeliveryStreamEncryptionConfigurationInput: &awskinesisfirehose.CfnDeliveryStream_DeliveryStreamEncryptionConfigurationInputProperty{
			KeyType: jsii.String("CUSTOMER_MANAGED_CMK"),
			KeyArn:  props.Key.KeyArn(),
		},
		ExtendedS3DestinationConfiguration: dest,
	})
	// Firehose checks its role's permissions when the stream is created.
	stream.Node().AddDependency(policy)
	return &DeliveryStream{Construct: c, Stream: stream, Role: role, LogGroup: logGroup}
}
