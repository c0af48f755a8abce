package cfnupdate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeSchemas are create-only pointers by type, the same in every region.
type fakeSchemas map[string][]string

func (f fakeSchemas) CreateOnly(_, typ string) ([]string, bool) {
	p, ok := f[typ]
	return p, ok
}

var schemas = fakeSchemas{
	"AWS::APS::Workspace":                   {"/properties/KmsKeyArn"},
	"AWS::IAM::Policy":                      {},
	"AWS::KMS::Key":                         {},
	"AWS::KinesisFirehose::DeliveryStream":  {"/properties/DeliveryStreamType"},
	"AWS::Lambda::Function":                 {"/properties/FunctionName"},
	"AWS::EC2::VPCEndpoint":                 {"/properties/VpcId", "/properties/ServiceName"},
	"AWS::ElasticLoadBalancingV2::Listener": {"/properties/Certificates/*/CertificateArn"},
}

type obj = map[string]any

func workspace(kms bool, retain bool) obj {
	p := obj{"Alias": "a"}
	if kms {
		p["KmsKeyArn"] = obj{"Fn::GetAtt": []any{"Key", "Arn"}}
	}
	r := obj{"Type": "AWS::APS::Workspace", "Properties": p}
	if retain {
		r["UpdateReplacePolicy"] = "Retain"
		r["DeletionPolicy"] = "RetainExceptOnCreate"
	}
	return r
}

func producer(kms, retain bool, export bool) Stack {
	out := obj{"Value": obj{"Fn::GetAtt": []any{"Ws", "Arn"}}}
	if export {
		out["Export"] = obj{"Name": "prod:WsArn"}
	}
	return Stack{Name: "ws", Region: "eu-west-1", Template: obj{
		"Resources": obj{"Key": obj{"Type": "AWS::KMS::Key"}, "Ws": workspace(kms, retain)},
		"Outputs":   obj{"WsArn": out},
	}}
}

func consumer(ref any, marker string) Stack {
	return Stack{Name: "in", Region: "eu-west-1", Template: obj{
		"Resources": obj{"Policy": obj{"Type": "AWS::IAM::Policy", "Properties": obj{"Resource": ref}}},
		"Outputs":   obj{"Marker": obj{"Value": marker}},
	}}
}

var weakRef = obj{"Fn::GetStackOutput": obj{"StackName": "ws", "OutputName": "WsArn"}}

func firehose(mode string) Stack {
	return Stack{Name: "in", Region: "eu-west-1", Template: obj{"Resources": obj{"S": obj{
		"Type": "AWS::KinesisFirehose::DeliveryStream",
		"Properties": obj{"DeliveryStreamType": "DirectPut",
			"ExtendedS3DestinationConfiguration": obj{"S3BackupMode": mode}},
	}}}}
}

func TestCompare(t *testing.T) {
	crossRegion := func(value any) (Stack, Stack) {
		w := Stack{Name: "ws", Region: "eu-west-1", Template: obj{"Resources": obj{
			"Key": obj{"Type": "AWS::KMS::Key"}, "Ws": workspace(value != nil, false),
			"Writer": obj{"Type": "Custom::CrossRegionExportWriter", "Properties": obj{"WriterProps": obj{
				"exports": obj{"/cdk/exports/in/WsArn": obj{"Fn::GetAtt": []any{"Ws", "Arn"}}}}}},
		}}}
		r := Stack{Name: "in", Region: "us-east-1", Template: obj{"Resources": obj{
			"Reader": obj{"Type": "Custom::CrossRegionExportReader"},
			"Policy": obj{"Type": "AWS::IAM::Policy", "Properties": obj{"Resource": obj{"Fn::GetAtt": []any{"Reader", "/cdk/exports/in/WsArn"}}}},
		}}}
		return w, r
	}
	w0, r0 := crossRegion(nil)
	w1, r1 := crossRegion(true)
	cases := []struct {
		name          string
		before, after []Stack
		replaced      []string
		refused       []string // substrings, one per refusal
		left          []string // substrings, one per item
	}{
		{
			name:   "unchanged",
			before: []Stack{producer(false, false, true), consumer(obj{"Fn::ImportValue": "prod:WsArn"}, "m")},
			after:  []Stack{producer(false, false, true), consumer(obj{"Fn::ImportValue": "prod:WsArn"}, "m")},
		},
		{
			name:     "create-only change under an imported export",
			before:   []Stack{producer(false, true, true), consumer(obj{"Fn::ImportValue": "prod:WsArn"}, "m")},
			after:    []Stack{producer(true, true, true), consumer(obj{"Fn::ImportValue": "prod:WsArn"}, "m")},
			replaced: []string{"replace ws/Ws (AWS::APS::Workspace): create-only /properties/KmsKeyArn changes"},
			refused:  []string{"Fn::ImportValue prod:WsArn"},
			left:     []string{"ws/Ws (AWS::APS::Workspace): replaced with UpdateReplacePolicy Retain"},
		},
		{
			name:     "export nobody imports may change",
			before:   []Stack{producer(false, false, true)},
			after:    []Stack{producer(true, false, true)},
			replaced: []string{"replace ws/Ws (AWS::APS::Workspace): create-only /properties/KmsKeyArn changes"},
		},
		{
			name:     "cross-region writer value changes",
			before:   []Stack{w0, r0},
			after:    []Stack{w1, r1},
			replaced: []string{"replace ws/Ws (AWS::APS::Workspace): create-only /properties/KmsKeyArn changes"},
			refused:  []string{"cross-region import /cdk/exports/in/WsArn"},
		},
		{
			name:     "weak reference, consumer unchanged: stale",
			before:   []Stack{producer(false, false, false), consumer(weakRef, "aws-owned")},
			after:    []Stack{producer(true, false, false), consumer(weakRef, "aws-owned")},
			replaced: []string{"replace ws/Ws (AWS::APS::Workspace): create-only /properties/KmsKeyArn changes"},
			refused:  []string{"`cdk deploy` skips it"},
		},
		{
			name:     "weak reference, consumer template changes",
			before:   []Stack{producer(false, false, false), consumer(weakRef, "aws-owned")},
			after:    []Stack{producer(true, false, false), consumer(weakRef, "customer-managed")},
			replaced: []string{"replace ws/Ws (AWS::APS::Workspace): create-only /properties/KmsKeyArn changes"},
		},
		{
			name:    "firehose backup disabled in place",
			before:  []Stack{firehose("Enabled")},
			after:   []Stack{firehose("Disabled")},
			refused: []string{FirehoseBackupURL},
		},
		{
			name:   "firehose backup enabled in place",
			before: []Stack{firehose("Disabled")},
			after:  []Stack{firehose("Enabled")},
		},
		{
			name: "removed with a retaining deletion policy; stack dropped",
			before: []Stack{producer(false, true, false),
				{Name: "demo", Region: "eu-west-1", Template: obj{"Resources": obj{}}}},
			after:    []Stack{{Name: "ws", Region: "eu-west-1", Template: obj{"Resources": obj{"Key": obj{"Type": "AWS::KMS::Key"}}, "Outputs": obj{}}}},
			replaced: []string{"remove ws/Ws (AWS::APS::Workspace)"},
			left:     []string{"DeletionPolicy RetainExceptOnCreate", "stack demo: no longer synthesized"},
		},
		{
			name: "replacement cascades through a create-only reference",
			before: []Stack{{Name: "s", Region: "eu-west-1", Template: obj{"Resources": obj{
				"Vpc": obj{"Type": "AWS::EC2::VPCEndpoint", "Properties": obj{"VpcId": "a", "ServiceName": "x"}},
				"Ep":  obj{"Type": "AWS::EC2::VPCEndpoint", "Properties": obj{"VpcId": obj{"Ref": "Vpc"}, "ServiceName": "y"}},
			}}}},
			after: []Stack{{Name: "s", Region: "eu-west-1", Template: obj{"Resources": obj{
				"Vpc": obj{"Type": "AWS::EC2::VPCEndpoint", "Properties": obj{"VpcId": "b", "ServiceName": "x"}},
				"Ep":  obj{"Type": "AWS::EC2::VPCEndpoint", "Properties": obj{"VpcId": obj{"Ref": "Vpc"}, "ServiceName": "y"}},
			}}}},
			replaced: []string{
				"replace s/Ep (AWS::EC2::VPCEndpoint): create-only /properties/VpcId refers to a replaced resource or a changed output",
				"replace s/Vpc (AWS::EC2::VPCEndpoint): create-only /properties/VpcId changes",
			},
		},
		{
			name:     "new logical ID",
			before:   []Stack{firehose("Enabled")},
			after:    []Stack{{Name: "in", Region: "eu-west-1", Template: obj{"Resources": obj{"S2": firehose("Disabled").Template["Resources"].(obj)["S"]}}}},
			replaced: []string{"replace in/S (AWS::KinesisFirehose::DeliveryStream): new logical ID S2"},
		},
		{
			name: "list wildcard pointer",
			before: []Stack{{Name: "s", Region: "eu-west-1", Template: obj{"Resources": obj{
				"L": obj{"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": obj{"Certificates": []any{obj{"CertificateArn": "a"}}}},
			}}}},
			after: []Stack{{Name: "s", Region: "eu-west-1", Template: obj{"Resources": obj{
				"L": obj{"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": obj{"Certificates": []any{obj{"CertificateArn": "b"}}}},
			}}}},
			replaced: []string{"replace s/L (AWS::ElasticLoadBalancingV2::Listener): create-only /properties/Certificates/*/CertificateArn changes"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Compare(c.before, c.after, schemas, DefaultRules)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Replaced(); !slices.Equal(got, c.replaced) {
				t.Errorf("replaced %q, want %q", got, c.replaced)
			}
			matchAll(t, "refused", res.Refused, c.refused)
			matchAll(t, "left behind", res.LeftBehind, c.left)
		})
	}
}

func matchAll[T interface{ String() string }](t *testing.T, what string, got []T, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d %v, want %d %q", what, len(got), got, len(want), want)
		return
	}
	for i, w := range want {
		if !strings.Contains(got[i].String(), w) {
			t.Errorf("%s[%d] = %s, want it to contain %q", what, i, got[i], w)
		}
	}
}

func TestCompareUnknownType(t *testing.T) {
	s := Stack{Name: "s", Region: "eu-west-1", Template: obj{"Resources": obj{"X": obj{"Type": "AWS::Nope::Thing", "Properties": obj{}}}}}
	if _, err := Compare([]Stack{s}, []Stack{s}, schemas, nil); err == nil || !strings.Contains(err.Error(), "AWS::Nope::Thing") {
		t.Errorf("err %v, want one naming the type without a schema", err)
	}
}

// TestCfnLintSchemas reads the installed cfn-lint's schemas: the workspace's
// KmsKeyArn is create-only (AMP API reference, CreateWorkspace: kmsKeyArn
// is given only at creation; no UpdateWorkspace* call takes it,
// https://docs.aws.amazon.com/prometheus/latest/APIReference/API_CreateWorkspace.html).
func TestCfnLintSchemas(t *testing.T) {
	s, err := FindCfnLint()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cfn-lint's schemas are needed under CI: %v", err)
		}
		t.Skipf("cfn-lint is not installed (pip install cfn-lint): %v", err)
	}
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		got, ok := s.CreateOnly(region, "AWS::APS::Workspace")
		if !ok || !slices.Contains(got, "/properties/KmsKeyArn") {
			t.Errorf("%s: AWS::APS::Workspace create-only %v (%v), want /properties/KmsKeyArn", region, got, ok)
		}
		if _, ok := s.CreateOnly(region, "AWS::Nope::Thing"); ok {
			t.Errorf("%s: a schema for a type that does not exist", region)
		}
	}
	if _, err := NewCfnLintSchemas(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("no error for a directory without schemas")
	}
}
