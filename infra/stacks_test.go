package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/lambdaenv"
	"github.com/cwstream/cwstream/internal/telemetry"
)

type obj = map[string]any

// resources returns the template's resources of one type, by logical id.
func resources(raw map[string]any, typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range raw["Resources"].(obj) {
		if r.(obj)["Type"] == typ {
			out[id] = r.(obj)
		}
	}
	return out
}

// only returns the single resource of a type (among those whose logical id
// has prefix), failing otherwise.
func only(t *testing.T, raw map[string]any, typ, prefix string) (string, obj) {
	t.Helper()
	var ids []string
	for id := range resources(raw, typ) {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one %s with id prefix %q, got %v", typ, prefix, ids)
	}
	return ids[0], resources(raw, typ)[ids[0]]
}

func props(r obj) obj { return r["Properties"].(obj) }

// resolveAcross follows a value in the consumer template back to the
// producer's expression: Fn::GetStackOutput → the producer's Output (the
// weak references cdk.json selects), Fn::ImportValue → the producer's
// exported Output, Fn::GetAtt on the cross-region export reader → the
// producer's export writer. Anything else is returned as it is.
func resolveAcross(t *testing.T, v any, consumer, producer map[string]any) any {
	t.Helper()
	m, ok := v.(obj)
	if !ok {
		return v
	}
	if ref, ok := m["Fn::GetStackOutput"].(obj); ok {
		o, ok := producer["Outputs"].(obj)[ref["OutputName"].(string)].(obj)
		if !ok {
			t.Fatalf("Fn::GetStackOutput %s: no such output in the producer", asJSON(ref))
		}
		return o["Value"]
	}
	if name, ok := m["Fn::ImportValue"].(string); ok {
		for _, o := range producer["Outputs"].(obj) {
			if exp, ok := o.(obj)["Export"].(obj); ok && exp["Name"] == name {
				return o.(obj)["Value"]
			}
		}
		t.Fatalf("import %q: no such export in the producer", name)
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok {
		if r, ok := consumer["Resources"].(obj)[ga[0].(string)].(obj); ok && r["Type"] == "Custom::CrossRegionExportReader" {
			param := ga[1].(string)
			for _, w := range resources(producer, "Custom::CrossRegionExportWriter") {
				if e, ok := props(w)["WriterProps"].(obj)["exports"].(obj)[param]; ok {
					return e
				}
			}
			t.Fatalf("cross-region import %q: no export writer in the producer writes it", param)
		}
	}
	return v
}

// captured returns what a Capture matched, object or string.
func captured(c assertions.Capture) (v any) {
	defer func() {
		if recover() != nil {
			v = *c.AsString()
		}
	}()
	return *c.AsObject()
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// shipped lists every (environment, ingest stack) the tests cover: dev's one
// region, prod's same-region and cross-region ingest stacks.
var shipped = []string{"dev", "prod"}

func TestWorkspaceStack(t *testing.T) {
	for _, name := range shipped {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			ws := s.stacks.Workspace
			tpl := s.templates[*ws.StackName()]
			raw := s.raw[*ws.StackName()]
			env := s.env

			for typ, n := range map[string]float64{
				"AWS::APS::Workspace": 1, "AWS::APS::RuleGroupsNamespace": 1, "AWS::Grafana::Workspace": 1,
				"AWS::SNS::Topic": 1, "AWS::KMS::Key": 1, "AWS::Logs::LogGroup": 2, cw.GrafanaResourceType: 1,
			} {
				check(t, "count "+typ, func() { tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
			}
			wantSubs := 0.0
			if env.Alerts.Email != "" {
				wantSubs = 1
				check(t, "email subscription", func() {
					tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj{"Protocol": "email", "Endpoint": env.Alerts.Email})
				})
			}
			check(t, "subscriptions", func() { tpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(wantSubs)) })

			amp, ampRes := only(t, raw, "AWS::APS::Workspace", "")
			logID, _ := only(t, raw, "AWS::Logs::LogGroup", "Prometheus")
			topicID, _ := only(t, raw, "AWS::SNS::Topic", "")
			keyID, _ := only(t, raw, "AWS::KMS::Key", "")
			var kms any = assertions.Match_Absent()
			if env.Prometheus.CustomerManagedKey {
				kms = obj{"Fn::GetAtt": []any{keyID, "Arn"}}
			}
			check(t, "AMP workspace", func() {
				tpl.HasResourceProperties(jsii.String("AWS::APS::Workspace"), obj{
					"Alias": env.Prometheus.Alias,
					"WorkspaceConfiguration": obj{
						"RetentionPeriodInDays":         env.Prometheus.RetentionDays,
						"OutOfOrderTimeWindowInSeconds": env.Prometheus.OutOfOrderWindowSeconds,
						"RuleQueryOffsetInSeconds":      env.Prometheus.RuleQueryOffsetSeconds,
					},
					"LoggingConfiguration": obj{"LogGroupArn": obj{"Fn::GetAtt": []any{logID, "Arn"}}},
					"KmsKeyArn":            kms,
				})
			})
			check(t, "AMP log group", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj{
					"LogGroupName": "/aws/vendedlogs/prometheus/" + env.Prometheus.Alias, "RetentionInDays": env.Prometheus.LogRetentionDays,
				})
			})
			check(t, "rule groups namespace", func() {
				tpl.HasResourceProperties(jsii.String("AWS::APS::RuleGroupsNamespace"), obj{
					"Name": cw.RuleGroupsNamespaceName, "Data": wantRuleFile(t, env), "Workspace": obj{"Fn::GetAtt": []any{amp, "Arn"}},
				})
			})
			checkAlertManager(t, props(ampRes)["AlertManagerDefinition"], topicID, env.Region)
			checkAlertTopicPolicies(t, raw, amp, topicID, keyID)
			check(t, "topic encrypted", func() {
				tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj{"KmsMasterKeyId": obj{"Fn::GetAtt": []any{keyID, "Arn"}}})
			})
			check(t, "key rotation", func() {
				tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj{"EnableKeyRotation": true})
			})

			// Grafana: data sources, notifications, authentication, role.
			roleArn := assertions.NewCapture(nil)
			check(t, "Grafana workspace", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Grafana::Workspace"), obj{
					"AccountAccessType":        "CURRENT_ACCOUNT",
					"AuthenticationProviders":  []any{env.Grafana.Authentication},
					"PermissionType":           env.Grafana.PermissionType,
					"DataSources":              []any{"PROMETHEUS", "CLOUDWATCH"},
					"NotificationDestinations": []any{"SNS"},
					"RoleArn":                  roleArn,
				})
			})
			grafanaRole, _ := only(t, raw, "AWS::IAM::Role", "Grafana")
			if got := asJSON(captured(roleArn)); got != asJSON(obj{"Fn::GetAtt": []any{grafanaRole, "Arn"}}) {
				t.Errorf("Grafana RoleArn = %s, want the Grafana role", got)
			}
			_, pol := only(t, raw, "AWS::IAM::Policy", "Grafana")
			checkGrafanaPolicy(t, props(pol)["PolicyDocument"].(obj), amp, topicID, keyID, env.Prometheus.CustomerManagedKey)

			// Outputs, and the remote-write URL is the workspace's endpoint.
			for _, o := range []string{"RemoteWriteUrl", "QueryUrl", "WorkspaceArn", "GrafanaUrl", "GrafanaDashboardsUrl", "AlertTopicArn"} {
				check(t, "output "+o, func() { tpl.HasOutput(jsii.String(o), obj{}) })
			}
			check(t, "RemoteWriteUrl value", func() {
				tpl.HasOutput(jsii.String("RemoteWriteUrl"), obj{"Value": obj{"Fn::Join": []any{"", []any{obj{"Fn::GetAtt": []any{amp, "PrometheusEndpoint"}}, "api/v1/remote_write"}}}})
			})
		})
	}
}

// checkGrafanaPolicy asserts the Grafana role's statements exactly: each
// action once, with the resource the API allows. The key: Decrypt and
// GenerateDataKey to publish to the encrypted topic (SNS SSE); and, when
// the key also encrypts the AMP workspace, DescribeKey (AMP user guide,
// "Encryption at rest", Step 3: Grafana reads such a workspace only as a
// key user; of the key users' actions in the KMS developer guide's
// "Default key policy", the role takes the read side, Decrypt and
// DescribeKey).
func checkGrafanaPolicy(t *testing.T, doc obj, amp, topic, key string, keyEncryptsPrometheus bool) {
	t.Helper()
	keyArn := asJSON(obj{"Fn::GetAtt": []any{key, "Arn"}})
	want := map[string]string{ // action → resource (as JSON)
		"sns:Publish":         asJSON(obj{"Ref": topic}),
		"kms:Decrypt":         keyArn,
		"kms:GenerateDataKey": keyArn,
	}
	if keyEncryptsPrometheus {
		want["kms:DescribeKey"] = keyArn
	}
	for _, a := range cw.GrafanaPrometheusActions {
		want[a] = asJSON(obj{"Fn::GetAtt": []any{amp, "Arn"}})
	}
	for _, a := range cw.GrafanaUnscopedActions {
		want[a] = asJSON("*")
	}
	arn := func(svc, res string) string {
		return asJSON(obj{"Fn::Join": []any{"", []any{"arn:", obj{"Ref": "AWS::Partition"}, ":" + svc + ":*:", obj{"Ref": "AWS::AccountId"}, ":" + res}}})
	}
	for _, a := range cw.GrafanaAlarmActions {
		want[a] = arn("cloudwatch", "alarm:*")
	}
	for _, a := range cw.GrafanaInsightRuleActions {
		want[a] = arn("cloudwatch", "insight-rule/*")
	}
	for _, a := range cw.GrafanaLogGroupActions {
		want[a] = arn("logs", "log-group:*")
	}
	for _, a := range cw.GrafanaOAMSinkActions {
		want[a] = arn("oam", "sink/*")
	}
	got := map[string]string{}
	for _, st := range doc["Statement"].([]any) {
		st := st.(obj)
		if st["Effect"] != "Allow" {
			t.Errorf("unexpected statement %s", asJSON(st))
		}
		actions, ok := st["Action"].([]any)
		if !ok {
			actions = []any{st["Action"]}
		}
		for _, a := range actions {
			if _, dup := got[a.(string)]; dup {
				t.Errorf("action %s granted twice", a)
			}
			got[a.(string)] = asJSON(st["Resource"])
		}
	}
	if !reflect.DeepEqual(got, want) {
		keys := func(m map[string]string) []string {
			k := make([]string, 0, len(m))
			for x := range m {
				k = append(k, x)
			}
			sort.Strings(k)
			return k
		}
		t.Errorf("Grafana role grants\n%v\nwant\n%v", got, want)
		t.Logf("got actions %v\nwant actions %v", keys(got), keys(want))
	}
}

func TestIngestStacks(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		if len(s.stacks.Ingest) != len(s.env.IngestRegions) {
			t.Fatalf("%s: %d ingest stacks for regions %v", name, len(s.stacks.Ingest), s.env.IngestRegions)
		}
		for i, in := range s.stacks.Ingest {
			t.Run(*in.StackName(), func(t *testing.T) {
				if *in.StackName() != IngestStackName(name, s.env.IngestRegions[i]) || *in.Region() != s.env.IngestRegions[i] {
					t.Errorf("stack %s in %s, want %s", *in.StackName(), *in.Region(), IngestStackName(name, s.env.IngestRegions[i]))
				}
				checkIngest(t, s, *in.StackName())
			})
		}
	}
}

func checkIngest(t *testing.T, s *synthesized, stackName string) {
	env := s.env
	tpl := s.templates[stackName]
	raw := s.raw[stackName]
	wsRaw := s.raw[*s.stacks.Workspace.StackName()]
	amp, _ := only(t, wsRaw, "AWS::APS::Workspace", "")

	for typ, n := range map[string]float64{
		"AWS::CloudWatch::MetricStream": 1, "AWS::KinesisFirehose::DeliveryStream": 1, "AWS::S3::Bucket": 2,
		"AWS::SNS::Topic": 1, "AWS::KMS::Key": 1,
	} {
		check(t, "count "+typ, func() { tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
	}
	check(t, "one cwstream function", func() {
		tpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), obj{"Runtime": "provided.al2023"}, jsii.Number(1))
	})

	fnID, fn := only(t, raw, "AWS::Lambda::Function", "Ingest")
	streamID, _ := only(t, raw, "AWS::KinesisFirehose::DeliveryStream", "")
	msID, _ := only(t, raw, "AWS::CloudWatch::MetricStream", "")
	keyID, _ := only(t, raw, "AWS::KMS::Key", "")
	bucketID, _ := only(t, raw, "AWS::S3::Bucket", "Bucket")
	topicID, _ := only(t, raw, "AWS::SNS::Topic", "")

	// Lambda.
	var reserved any = assertions.Match_Absent()
	if env.Lambda.ReservedConcurrency > 0 {
		reserved = env.Lambda.ReservedConcurrency
	}
	url := assertions.NewCapture(nil)
	check(t, "function", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
			"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
			"MemorySize": env.Lambda.MemoryMiB, "Timeout": env.Lambda.TimeoutSeconds,
			"ReservedConcurrentExecutions": reserved,
			"Environment": obj{"Variables": obj{
				lambdaenv.EnvRemoteWriteURL: url,
				lambdaenv.EnvConfig:         "/var/task/cwstream.yaml",
				lambdaenv.EnvSigV4:          "true",
				lambdaenv.EnvRegion:         env.Region,
				lambdaenv.EnvLogLevel:       env.Lambda.LogLevel,
			}},
		})
	})
	// The URL is the workspace's endpoint + api/v1/remote_write, whichever
	// way (export or cross-region parameter) it crosses stacks.
	urlObj, _ := captured(url).(obj)
	join, ok := urlObj["Fn::Join"].([]any)
	if !ok || len(join[1].([]any)) != 2 || join[1].([]any)[1] != "api/v1/remote_write" {
		t.Fatalf("CWSTREAM_REMOTE_WRITE_URL = %s", asJSON(captured(url)))
	}
	endpoint := resolveAcross(t, join[1].([]any)[0], raw, wsRaw)
	if want := asJSON(obj{"Fn::GetAtt": []any{amp, "PrometheusEndpoint"}}); asJSON(endpoint) != want {
		t.Errorf("remote-write URL is built from %s, want %s", asJSON(endpoint), want)
	}
	vars := props(fn)["Environment"].(obj)["Variables"].(obj)
	for k, v := range map[string]int{lambdaenv.EnvConcurrency: env.Lambda.Concurrency, lambdaenv.EnvMaxSamplesPerRequest: env.Lambda.MaxSamplesPerRequest, lambdaenv.EnvMaxBytesPerRequest: env.Lambda.MaxBytesPerRequest} {
		got, set := vars[k]
		if (v > 0) != set || (set && got != fmt.Sprint(v)) {
			t.Errorf("%s = %v (set %v), config %d", k, got, set, v)
		}
	}
	check(t, "function log group retention", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj{"RetentionInDays": env.Lambda.LogRetentionDays})
	})

	// The function's role: its own logs and aps:RemoteWrite on the workspace ARN only.
	roleArn := props(fn)["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string)
	doc := policyOf(t, raw, roleArn)
	rw := statementsWith(doc, "aps:RemoteWrite")
	if len(rw) != 1 {
		t.Fatalf("aps:RemoteWrite in %d statements", len(rw))
	}
	if acts := actions(rw[0]); !slices.Equal(acts, []string{"aps:RemoteWrite"}) {
		t.Errorf("remote-write statement grants %v", acts)
	}
	res := assertions.NewCapture(nil)
	check(t, "remote-write resource", func() {
		tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj{"PolicyDocument": obj{"Statement": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{"Action": "aps:RemoteWrite", "Resource": res}),
		})}})
	})
	if got, want := asJSON(resolveAcross(t, captured(res), raw, wsRaw)), asJSON(obj{"Fn::GetAtt": []any{amp, "Arn"}}); got != want {
		t.Errorf("aps:RemoteWrite on %s, want the workspace ARN %s", got, want)
	}
	wantStatements := 2 // own logs, remote write
	if env.Network != nil && strings.HasSuffix(stackName, env.Region) {
		wantStatements++ // the VPC function's network interfaces
	}
	// Tag enrichment: tag:GetResources on *, and only with tags.enabled.
	// The Service Authorization Reference's table for the Resource Groups
	// Tagging API (service prefix tag) lists no resource type and no
	// condition key for GetResources, and says an action without one needs
	// "*" in the Resource element:
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_resourcegroupstaggingapi.html
	cwCfg, err := config.Load(filepath.Join(repoRoot, env.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	tg := statementsWith(doc, "tag:GetResources")
	switch {
	case !cwCfg.Tags.Enabled && len(tg) != 0:
		t.Errorf("tags are off in %s, yet the role may call tag:GetResources", env.ConfigFile)
	case cwCfg.Tags.Enabled && (len(tg) != 1 || !slices.Equal(actions(tg[0]), []string{"tag:GetResources"}) || tg[0]["Resource"] != "*" || tg[0]["Effect"] != "Allow"):
		t.Errorf("tags are on in %s: want one statement allowing tag:GetResources on *, got %s", env.ConfigFile, asJSON(tg))
	case cwCfg.Tags.Enabled:
		wantStatements++
		// The cdk-nag IAM5 finding on it is suppressed with the reason.
		policyID, policy := only(t, raw, "AWS::IAM::Policy", "Ingest")
		found := false
		for _, sup := range asSlice(asMap(asMap(policy["Metadata"])["cdk_nag"])["rules_to_suppress"]) {
			sup := asMap(sup)
			if sup["id"] == "AwsSolutions-IAM5" && strings.Contains(asJSON(sup["applies_to"]), `"Resource::*"`) &&
				strings.Contains(fmt.Sprint(sup["reason"]), "tag:GetResources") && strings.Contains(fmt.Sprint(sup["reason"]), "no resource-level permissions") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no AwsSolutions-IAM5 suppression for Resource::* saying why tag:GetResources is on *: %s", policyID, asJSON(policy["Metadata"]))
		}
	}
	if len(doc["Statement"].([]any)) != wantStatements {
		t.Errorf("function role has %d statements, want %d: %s", len(doc["Statement"].([]any)), wantStatements, asJSON(doc))
	}

	// Firehose.
	backupMode := "Disabled"
	if env.Firehose.BackupAllRecords {
		backupMode = "Enabled"
	}
	check(t, "delivery stream", func() {
		tpl.HasResourceProperties(jsii.String("AWS::KinesisFirehose::DeliveryStream"), obj{
			"DeliveryStreamType":                         "DirectPut",
			"DeliveryStreamEncryptionConfigurationInput": obj{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": obj{"Fn::GetAtt": []any{keyID, "Arn"}}},
			"ExtendedS3DestinationConfiguration": obj{
				"BucketARN":                obj{"Fn::GetAtt": []any{bucketID, "Arn"}},
				"ErrorOutputPrefix":        cw.ErrorPrefix,
				"CompressionFormat":        "GZIP",
				"BufferingHints":           obj{"SizeInMBs": env.Firehose.S3BufferSizeMiB, "IntervalInSeconds": env.Firehose.S3BufferIntervalSeconds},
				"EncryptionConfiguration":  obj{"KMSEncryptionConfig": obj{"AWSKMSKeyARN": obj{"Fn::GetAtt": []any{keyID, "Arn"}}}},
				"CloudWatchLoggingOptions": obj{"Enabled": true},
				"S3BackupMode":             backupMode,
				"ProcessingConfiguration": obj{"Enabled": true, "Processors": []any{obj{"Type": "Lambda", "Parameters": []any{
					obj{"ParameterName": "LambdaArn", "ParameterValue": obj{"Fn::GetAtt": []any{fnID, "Arn"}}},
					obj{"ParameterName": "NumberOfRetries", "ParameterValue": fmt.Sprint(env.Firehose.ProcessorRetries)},
					obj{"ParameterName": "BufferSizeInMBs", "ParameterValue": fmt.Sprint(env.Firehose.ProcessorBufferSizeMiB)},
					obj{"ParameterName": "BufferIntervalInSeconds", "ParameterValue": fmt.Sprint(env.Firehose.ProcessorBufferIntervalSeconds)},
				}}}},
			},
		})
	})
	if !strings.HasPrefix(strings.ReplaceAll(cw.ErrorPrefix, "!{firehose:error-output-type}", "processing-failed"), cw.ProcessingFailedS3) {
		t.Errorf("error prefix %q does not put processing failures under %s", cw.ErrorPrefix, cw.ProcessingFailedS3)
	}
	// Firehose may invoke only its function, write only its bucket.
	_, fh := only(t, raw, "AWS::KinesisFirehose::DeliveryStream", "")
	fhRole := props(fh)["ExtendedS3DestinationConfiguration"].(obj)["RoleARN"].(obj)["Fn::GetAtt"].([]any)[0].(string)
	fhDoc := policyOf(t, raw, fhRole)
	for _, st := range fhDoc["Statement"].([]any) {
		r := asJSON(st.(obj)["Resource"])
		for _, a := range actions(st.(obj)) {
			var ok bool
			switch strings.SplitN(a, ":", 2)[0] {
			case "lambda":
				ok = r == asJSON([]any{obj{"Fn::GetAtt": []any{fnID, "Arn"}}, obj{"Fn::Join": []any{"", []any{obj{"Fn::GetAtt": []any{fnID, "Arn"}}, ":*"}}}})
			case "s3":
				ok = r == asJSON(obj{"Fn::GetAtt": []any{bucketID, "Arn"}}) ||
					r == asJSON(obj{"Fn::Join": []any{"", []any{obj{"Fn::GetAtt": []any{bucketID, "Arn"}}, "/*"}}})
			case "kms":
				ok = r == asJSON(obj{"Fn::GetAtt": []any{keyID, "Arn"}}) && st.(obj)["Condition"] != nil
			case "logs":
				ok = a == "logs:PutLogEvents" && strings.Contains(r, "log-stream")
			}
			if !ok {
				t.Errorf("Firehose role: %s on %s", a, r)
			}
		}
	}
	if len(statementsWith(fhDoc, "lambda:InvokeFunction")) != 1 {
		t.Errorf("Firehose role: lambda:InvokeFunction not granted exactly once")
	}

	// Metric stream: format, filters, statistics, and it may put only to its Firehose.
	filters := []any{}
	for _, f := range env.Stream.IncludeFilters {
		m := obj{"Namespace": f.Namespace}
		if len(f.MetricNames) > 0 {
			m["MetricNames"] = f.MetricNames
		}
		filters = append(filters, m)
	}
	stats := []any{}
	for _, sel := range env.Stream.AdditionalStatistics {
		ms := []any{}
		for _, m := range sel.Metrics {
			ms = append(ms, obj{"Namespace": m.Namespace, "MetricName": m.MetricName})
		}
		stats = append(stats, obj{"AdditionalStatistics": sel.Statistics, "IncludeMetrics": ms})
	}
	check(t, "metric stream", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::MetricStream"), obj{
			"OutputFormat":                 env.Stream.OutputFormat,
			"FirehoseArn":                  obj{"Fn::GetAtt": []any{streamID, "Arn"}},
			"IncludeFilters":               assertions.Match_Exact(filters),
			"StatisticsConfigurations":     assertions.Match_Exact(stats),
			"IncludeLinkedAccountsMetrics": env.Stream.IncludeLinkedAccountsMetrics,
		})
	})
	_, ms := only(t, raw, "AWS::CloudWatch::MetricStream", "")
	msDoc := policyOf(t, raw, props(ms)["RoleArn"].(obj)["Fn::GetAtt"].([]any)[0].(string))
	if got := asJSON(msDoc["Statement"]); got != asJSON([]any{obj{
		"Action": []any{"firehose:PutRecord", "firehose:PutRecordBatch"}, "Effect": "Allow",
		"Resource": obj{"Fn::GetAtt": []any{streamID, "Arn"}},
	}}) {
		t.Errorf("metric stream role: %s", got)
	}

	// Bucket: KMS with the stack key, public access blocked, lifecycle.
	check(t, "bucket", func() {
		tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj{
			"BucketEncryption": obj{"ServerSideEncryptionConfiguration": []any{obj{
				"BucketKeyEnabled":              true,
				"ServerSideEncryptionByDefault": obj{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": obj{"Fn::GetAtt": []any{keyID, "Arn"}}},
			}}},
			"PublicAccessBlockConfiguration": obj{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"LifecycleConfiguration": obj{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Prefix": cw.ProcessingFailedS3, "ExpirationInDays": env.Bucket.ProcessingFailedExpirationDays}),
			})},
			"LoggingConfiguration": obj{"DestinationBucketName": assertions.Match_AnyValue()},
		})
	})

	// Alarms: every one notifies the topic; the key ones watch the right metric.
	wantAlarms := 7
	if env.Firehose.BackupAllRecords {
		wantAlarms++
	}
	alarms := resources(raw, "AWS::CloudWatch::Alarm")
	if len(alarms) != wantAlarms {
		t.Errorf("%d alarms, want %d", len(alarms), wantAlarms)
	}
	for id, a := range alarms {
		if got := asJSON(props(a)["AlarmActions"]); got != asJSON([]any{obj{"Ref": topicID}}) {
			t.Errorf("alarm %s actions %s", id, got)
		}
	}
	for what, p := range map[string]obj{
		"records failed": {"Namespace": telemetry.DefaultNamespace, "MetricName": telemetry.MetricRecordsFailed, "Statistic": "Sum",
			"Dimensions": []any{obj{"Name": "FunctionName", "Value": obj{"Ref": fnID}}}},
		"lambda errors":    {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": []any{obj{"Name": "FunctionName", "Value": obj{"Ref": fnID}}}},
		"lambda throttles": {"Namespace": "AWS/Lambda", "MetricName": "Throttles"},
		"near timeout": {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Statistic": "Maximum",
			"Threshold": durationAlarmFraction * float64(env.Lambda.TimeoutSeconds) * 1000},
		"processing failed": {"Namespace": "AWS/Firehose", "MetricName": "ExecuteProcessing.Success",
			"Dimensions": []any{obj{"Name": "DeliveryStreamName", "Value": obj{"Ref": streamID}}}},
		"delivery failed": {"Namespace": "AWS/Firehose", "MetricName": "DeliveryToS3.Success"},
		"stream errors": {"Namespace": "AWS/CloudWatch/MetricStreams", "MetricName": "PublishErrorRate",
			"Dimensions": []any{obj{"Name": "MetricStreamName", "Value": obj{"Ref": msID}}}},
	} {
		check(t, "alarm "+what, func() { tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), p) })
	}
	for _, o := range []string{"BucketName", "AlarmTopicArn", "FunctionName", "DeliveryStreamName", "MetricStreamName"} {
		check(t, "output "+o, func() { tpl.HasOutput(jsii.String(o), obj{}) })
	}
}

// TestNoUnscopedGrants proves least privilege across every stack: the only
// statements on "*" are Grafana's list of actions that have no resource-level
// permissions, the VPC function's network interface actions and, alone,
// ecr:GetAuthorizationToken, which has none either (the ECS demo's execution
// role pulling its image), and no action is a wildcard.
func TestNoUnscopedGrants(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		for stack, raw := range s.raw {
			for id, p := range resources(raw, "AWS::IAM::Policy") {
				for _, st := range props(p)["PolicyDocument"].(obj)["Statement"].([]any) {
					st := st.(obj)
					for _, a := range actions(st) {
						if strings.Contains(a, "*") {
							t.Errorf("%s/%s: wildcard action %s", stack, id, a)
						}
					}
					grafanaList := strings.HasPrefix(id, "Grafana") && st["Sid"] == "NoResourceLevelPermissions"
					vpcFunction := strings.HasPrefix(id, "Ingest") && st["Sid"] == "NetworkInterfaces"
					tagLookups := strings.HasPrefix(id, "Ingest") && st["Sid"] == "TagLookups" && slices.Equal(actions(st), []string{"tag:GetResources"})
					ecrToken := slices.Equal(actions(st), []string{"ecr:GetAuthorizationToken"})
					if st["Resource"] == "*" && !grafanaList && !vpcFunction && !tagLookups && !ecrToken {
						t.Errorf("%s/%s: %v on *", stack, id, actions(st))
					}
				}
			}
		}
	}
}

func policyOf(t *testing.T, raw map[string]any, roleID string) obj {
	t.Helper()
	var docs []obj
	for _, p := range resources(raw, "AWS::IAM::Policy") {
		for _, r := range props(p)["Roles"].([]any) {
			if asJSON(r) == asJSON(obj{"Ref": roleID}) {
				docs = append(docs, props(p)["PolicyDocument"].(obj))
			}
		}
	}
	if len(docs) != 1 {
		t.Fatalf("role %s has %d policies, want 1", roleID, len(docs))
	}
	return docs[0]
}

func actions(st obj) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func statementsWith(doc obj, action string) []obj {
	var out []obj
	for _, st := range doc["Statement"].([]any) {
		if slices.Contains(actions(st.(obj)), action) {
			out = append(out, st.(obj))
		}
	}
	return out
}

// asMap is v as an object, or nil.
func asMap(v any) obj {
	m, _ := v.(obj)
	return m
}
