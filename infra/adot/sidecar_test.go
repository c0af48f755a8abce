package adot

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close() // one jsii runtime for every test
	os.Exit(code)
}

type obj = map[string]any

const (
	testWorkspace = "arn:aws:aps:eu-west-1:123456789012:workspace/ws-0123abcd-4567-89ef-0123-456789abcdef"
	testURL       = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd-4567-89ef-0123-456789abcdef/api/v1/remote_write"
)

// TestSidecarOnEC2 adds the sidecar to an EC2 task definition (awsvpc, so
// localhost reaches the application), as another team's app would, with
// a key of its own: the construct creates the log key and the policy.
func TestSidecarOnEC2(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("Team"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")},
	})
	td := awsecs.NewEc2TaskDefinition(stack, jsii.String("Task"), &awsecs.Ec2TaskDefinitionProps{NetworkMode: awsecs.NetworkMode_AWS_VPC})
	td.AddContainer(jsii.String("web"), &awsecs.ContainerDefinitionOptions{
		Image: awsecs.ContainerImage_FromRegistry(jsii.String("example/web:1.0"), nil), MemoryLimitMiB: jsii.Number(256),
	})
	opts := DefaultOptions()
	opts.RemoteWriteURL, opts.Region = testURL, "eu-west-1"
	opts.ScrapeTargets = []string{"localhost:9102"}
	s, err := NewSidecar(stack, "Adot", &SidecarProps{TaskDefinition: td, WorkspaceArn: jsii.String(testWorkspace), Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Config, "- localhost:9102\n") || !strings.Contains(s.Config, "endpoint: "+testURL+"\n") {
		t.Errorf("config:\n%s", s.Config)
	}
	tpl := assertions.Template_FromStack(stack, nil)
	check := func(what string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: %v", what, r)
			}
		}()
		f()
	}
	raw := *tpl.ToJSON()
	var container obj
	for _, r := range raw["Resources"].(obj) {
		if r.(obj)["Type"] == "AWS::ECS::TaskDefinition" {
			for _, c := range r.(obj)["Properties"].(obj)["ContainerDefinitions"].([]any) {
				if c.(obj)["Name"] == ContainerName {
					container = c.(obj)
				}
			}
		}
	}
	if container == nil {
		t.Fatal("no adot-collector container")
	}
	if container["Image"] != Image || container["Essential"] != false || container["User"] != "aoc" || container["ReadonlyRootFilesystem"] != true || container["HealthCheck"].(obj)["Command"].([]any)[1] != "/healthcheck" {
		t.Errorf("container %v", container)
	}
	env := map[string]any{}
	for _, e := range container["Environment"].([]any) {
		env[e.(obj)["Name"].(string)] = e.(obj)["Value"]
	}
	if env[ConfigEnv] != s.Config {
		t.Errorf("environment %v", env)
	}
	check("policy", func() {
		tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj{
			"PolicyDocument": obj{"Statement": []any{obj{
				"Sid": "AmpIngest", "Effect": "Allow",
				"Action":   []any{"aps:RemoteWrite", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"},
				"Resource": testWorkspace,
			}}},
		})
	})
	check("log group", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj{
			"RetentionInDays": 30, "KmsKeyId": assertions.Match_AnyValue(),
		})
	})
	check("key", func() {
		tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj{
			"EnableKeyRotation": true,
			"KeyPolicy": obj{"Statement": assertions.Match_ArrayWith(&[]any{obj{
				"Sid": "CloudWatchLogs", "Effect": "Allow", "Resource": "*",
				"Principal": obj{"Service": "logs.eu-west-1.amazonaws.com"},
				"Action":    []any{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
				"Condition": obj{"ArnLike": obj{"kms:EncryptionContext:aws:logs:arn": obj{"Fn::Join": []any{"", []any{
					"arn:", obj{"Ref": "AWS::Partition"}, ":logs:eu-west-1:123456789012:log-group:*"}}}}},
			}})},
		})
	})
}

// TestSidecarRejectsBadOptions: nothing is created for options the
// collector would reject.
func TestSidecarRejectsBadOptions(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("Team"), nil)
	td := awsecs.NewFargateTaskDefinition(stack, jsii.String("Task"), nil)
	opts := DefaultOptions()
	opts.RemoteWriteURL = testURL // no region
	_, err := NewSidecar(stack, "Adot", &SidecarProps{TaskDefinition: td, WorkspaceArn: jsii.String(testWorkspace), Options: opts})
	if err == nil || !strings.Contains(err.Error(), "Region") {
		t.Errorf("missing region: %v", err)
	}
	if n := len(*stack.Node().Children()); n != 1 {
		t.Errorf("%d constructs in the stack, want the task definition alone", n)
	}
	if _, err := NewSidecar(stack, "Adot2", &SidecarProps{Options: opts}); err == nil {
		t.Error("no task definition: no error")
	}
}
