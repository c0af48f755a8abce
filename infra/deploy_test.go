package main

// Deploy-time semantics of the synthesized templates: each test here pins
// one AWS behaviour that no local run can see (issue 8), with the page of
// the AWS documentation that states it.

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	cw "github.com/cwstream/cwstream/infra/constructs"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/rules"
	"github.com/cwstream/cwstream/internal/testutil"
)

// TestS3BucketKeyEncryptionContext: with an S3 Bucket Key, S3 calls KMS with
// the bucket's ARN as encryption context instead of the object's (S3 user
// guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys", changes
// to note before enabling an S3 Bucket Key). A condition on <bucket>/* never
// matches, KMS denies, and processing-failed/ and raw/ are never written.
func TestS3BucketKeyEncryptionContext(t *testing.T) {
	const ctxKey = "kms:EncryptionContext:aws:s3:arn"
	for _, name := range shipped {
		s := synth(t, name)
		for _, in := range s.stacks.Ingest {
			raw := s.raw[*in.StackName()]
			bucketKey := map[string]bool{} // bucket logical id → BucketKeyEnabled
			for id, b := range resources(raw, "AWS::S3::Bucket") {
				enc, _ := props(b)["BucketEncryption"].(obj)
				for _, rule := range asSlice(enc["ServerSideEncryptionConfiguration"]) {
					if rule.(obj)["BucketKeyEnabled"] == true {
						bucketKey[id] = true
					}
				}
			}
			if len(bucketKey) == 0 {
				t.Fatalf("%s: no bucket with an S3 Bucket Key; this test has nothing to check", *in.StackName())
			}
			conditioned := 0
			for pid, p := range resources(raw, "AWS::IAM::Policy") {
				for _, st := range props(p)["PolicyDocument"].(obj)["Statement"].([]any) {
					cond, _ := st.(obj)["Condition"].(obj)
					for op, kv := range cond {
						v, ok := kv.(obj)[ctxKey]
						if !ok {
							continue
						}
						conditioned++
						ga, _ := v.(obj)["Fn::GetAtt"].([]any)
						if op != "StringEquals" || len(ga) != 2 || ga[1] != "Arn" || !bucketKey[ga[0].(string)] {
							t.Errorf("%s/%s: %s %s %s; with a Bucket Key S3 sends exactly the bucket ARN", *in.StackName(), pid, op, ctxKey, asJSON(v))
						}
					}
				}
			}
			if conditioned == 0 {
				t.Errorf("%s: no statement conditions the KMS key on %s (least privilege: only S3 for this bucket)", *in.StackName(), ctxKey)
			}
		}
	}
}

// TestRetainExceptOnCreate: a retained resource whose first create rolls back
// must go with the rollback, or the fixed-name log group, the buckets and
// keys stay behind and the retry fails with "already exists"
// (CloudFormation template reference, DeletionPolicy attribute:
// RetainExceptOnCreate).
func TestRetainExceptOnCreate(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		retained := 0
		for stack, raw := range s.raw {
			for id, r := range raw["Resources"].(obj) {
				switch r.(obj)["DeletionPolicy"] {
				case "Retain":
					t.Errorf("%s/%s: DeletionPolicy Retain survives a failed create", stack, id)
				case "RetainExceptOnCreate":
					retained++
				}
			}
		}
		if s.env.Retain && retained == 0 {
			t.Errorf("%s: retain is set but nothing is RetainExceptOnCreate", name)
		}
		if s.env.Retain {
			ws := s.raw[*s.stacks.Workspace.StackName()]
			for _, typ := range []string{"AWS::APS::Workspace", "AWS::KMS::Key", "AWS::Logs::LogGroup"} {
				for id, r := range resources(ws, typ) {
					if r["DeletionPolicy"] != "RetainExceptOnCreate" {
						t.Errorf("%s: %s %s DeletionPolicy %v", name, typ, id, r["DeletionPolicy"])
					}
				}
			}
		}
	}
}

// TestNoReservedConcurrencyInExamples: Lambda keeps at least 100 of the
// account's concurrency unreserved (Lambda developer guide, "Configuring
// reserved concurrency"), and new accounts often have a quota of 10, so any
// reservation in a shipped example fails its first deploy there.
func TestNoReservedConcurrencyInExamples(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		if s.env.Lambda.ReservedConcurrency != 0 {
			t.Errorf("%s: lambda.reservedConcurrency %d in cdk.json", name, s.env.Lambda.ReservedConcurrency)
		}
		for stack, raw := range s.raw {
			for id, fn := range resources(raw, "AWS::Lambda::Function") {
				if v, ok := props(fn)["ReservedConcurrentExecutions"]; ok {
					t.Errorf("%s/%s reserves %v", stack, id, v)
				}
			}
		}
	}
}

// TestFirehoseMayInvokeQualifiedARN: Firehose's role gets
// lambda:InvokeFunction and lambda:GetFunctionConfiguration on the function
// by its unqualified ARN and by <arn>:* (Firehose developer guide,
// "Controlling access with Amazon Data Firehose", Lambda data transformation;
// CDK's grantInvoke grants the same pair of ARNs).
func TestFirehoseMayInvokeQualifiedARN(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		for _, in := range s.stacks.Ingest {
			raw := s.raw[*in.StackName()]
			fnID, _ := only(t, raw, "AWS::Lambda::Function", "Ingest")
			_, fh := only(t, raw, "AWS::KinesisFirehose::DeliveryStream", "")
			role := props(fh)["ExtendedS3DestinationConfiguration"].(obj)["RoleARN"].(obj)["Fn::GetAtt"].([]any)[0].(string)
			sts := statementsWith(policyOf(t, raw, role), "lambda:InvokeFunction")
			if len(sts) != 1 {
				t.Fatalf("%s: lambda:InvokeFunction in %d statements", *in.StackName(), len(sts))
			}
			arn := obj{"Fn::GetAtt": []any{fnID, "Arn"}}
			want := asJSON([]any{arn, obj{"Fn::Join": []any{"", []any{arn, ":*"}}}})
			if got := asJSON(sts[0]["Resource"]); got != want {
				t.Errorf("%s: invoke on %s, want %s", *in.StackName(), got, want)
			}
			if acts := actions(sts[0]); !slices.Equal(acts, []string{"lambda:InvokeFunction", "lambda:GetFunctionConfiguration"}) {
				t.Errorf("%s: processor statement grants %v", *in.StackName(), acts)
			}
		}
	}
}

// TestNoBlanketLintSuppression: a cfn-lint directive on a resource silences
// a rule for all of its properties; the two stale-schema findings are
// allowed by property path in infra/templatecheck instead.
func TestNoBlanketLintSuppression(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		for stack, raw := range s.raw {
			for id, r := range raw["Resources"].(obj) {
				if md, _ := r.(obj)["Metadata"].(obj); md["cfn-lint"] != nil {
					t.Errorf("%s/%s: cfn-lint directive %s", stack, id, asJSON(md["cfn-lint"]))
				}
			}
		}
	}
}

// TestGrafanaCloudWatchDataSourcePermissions: the Grafana role has every
// action of the AmazonGrafanaCloudWatchAccess managed policy, which the AMG
// user guide attaches for the CloudWatch data source ("Use AWS data source
// configuration to add CloudWatch as a data source"; AWS managed policy
// reference, AmazonGrafanaCloudWatchAccess v1): the region, instance and tag
// look-ups included.
func TestGrafanaCloudWatchDataSourcePermissions(t *testing.T) {
	guide := []string{
		"cloudwatch:DescribeAlarmsForMetric", "cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms",
		"cloudwatch:ListMetrics", "cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData", "cloudwatch:GetInsightRuleReport",
		"logs:DescribeLogGroups", "logs:GetLogGroupFields", "logs:StartQuery", "logs:StopQuery", "logs:GetQueryResults", "logs:GetLogEvents",
		"ec2:DescribeTags", "ec2:DescribeInstances", "ec2:DescribeRegions",
		"tag:GetResources",
		"oam:ListSinks", "oam:ListAttachedLinks",
	}
	for _, name := range shipped {
		s := synth(t, name)
		raw := s.raw[*s.stacks.Workspace.StackName()]
		_, pol := only(t, raw, "AWS::IAM::Policy", "Grafana")
		granted := map[string]string{}
		for _, st := range props(pol)["PolicyDocument"].(obj)["Statement"].([]any) {
			for _, a := range actions(st.(obj)) {
				granted[a] = asJSON(st.(obj)["Resource"])
			}
		}
		var missing []string
		for _, a := range guide {
			if _, ok := granted[a]; !ok {
				missing = append(missing, a)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: Grafana role lacks %v", name, missing)
		}
		// Scoped where the Service Authorization Reference allows it.
		if r := granted["oam:ListAttachedLinks"]; !strings.Contains(r, ":oam:*:") || !strings.Contains(r, "sink/*") {
			t.Errorf("%s: oam:ListAttachedLinks on %s, want this account's sinks", name, r)
		}
	}
}

// TestGuardSuppressionsHaveReasons: every cfn-guard rule a resource
// suppresses names its reason next to it.
func TestGuardSuppressionsHaveReasons(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		for stack, raw := range s.raw {
			for id, r := range raw["Resources"].(obj) {
				md, _ := r.(obj)["Metadata"].(obj)
				g, ok := md[cw.GuardMetadataKey].(obj)
				if !ok {
					continue
				}
				reasons, _ := g["Reasons"].(obj)
				for _, rule := range asSlice(g["SuppressedRules"]) {
					if why, _ := reasons[rule.(string)].(string); len(why) < 20 {
						t.Errorf("%s/%s suppresses %s with reason %q", stack, id, rule, why)
					}
				}
			}
		}
	}
}

// TestPrivateNetwork: with the network setting (prod) the ingest function
// of the workspace's region runs in private subnets; the only ways out are
// interface endpoints with private DNS behind a security group that takes
// HTTPS from the function only: AMP's aps-workspaces (AMP user guide, "Using
// Amazon Managed Service for Prometheus with interface VPC endpoints"),
// whose policy lets only the function's role remote-write to this
// environment's workspace, and, since the function's configuration turns
// tag lookups on (tags.enabled), the Resource Groups Tagging API's.
func TestPrivateNetwork(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		wsRaw := s.raw[*s.stacks.Workspace.StackName()]
		amp, _ := only(t, wsRaw, "AWS::APS::Workspace", "")
		cfg, err := config.Load(filepath.Join(repoRoot, s.env.ConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range s.stacks.Ingest {
			raw := s.raw[*in.StackName()]
			_, fn := only(t, raw, "AWS::Lambda::Function", "Ingest")
			vpcCfg, inVPC := props(fn)["VpcConfig"].(obj)
			private := s.env.Network != nil && *in.Region() == s.env.Region
			if inVPC != private {
				t.Errorf("%s: function VpcConfig %s, want private=%v", *in.StackName(), asJSON(vpcCfg), private)
			}
			if !private {
				if n := len(resources(raw, "AWS::EC2::VPCEndpoint")); n != 0 {
					t.Errorf("%s: %d VPC endpoints without a network", *in.StackName(), n)
				}
				continue
			}
			checkPrivateNetwork(t, s, *in.StackName(), vpcCfg, obj{"Fn::GetAtt": []any{amp, "Arn"}}, cfg.Tags.Enabled, cfg.Tags.RoleARN)
		}
	}
}

// endpointServices are the interface endpoints' service names, from the
// AWS PrivateLink guide's table "AWS services that integrate with AWS
// PrivateLink": AMP's data plane, the Resource Groups Tagging API (for
// tags.enabled) and STS (for tags.role_arn).
func endpointServices(region string, tagLookups bool, tagRole string) []string {
	want := []string{"com.amazonaws." + region + ".aps-workspaces"}
	if tagLookups {
		want = append(want, "com.amazonaws."+region+".tagging")
		if tagRole != "" {
			want = append(want, "com.amazonaws."+region+".sts")
		}
	}
	sort.Strings(want)
	return want
}

// checkPrivateNetwork checks one ingest stack's private network for a
// function whose configuration has tags.enabled = tagLookups and
// tags.role_arn = tagRole.
func checkPrivateNetwork(t *testing.T, s *synthesized, stackName string, vpcCfg obj, workspaceArn any, tagLookups bool, tagRole string) {
	t.Helper()
	raw := s.raw[stackName]
	wsRaw := s.raw[*s.stacks.Workspace.StackName()]
	_, fn := only(t, raw, "AWS::Lambda::Function", "Ingest")
	fnSG := vpcCfg["SecurityGroupIds"].([]any)
	if len(fnSG) != 1 {
		t.Fatalf("function security groups %s", asJSON(fnSG))
	}
	fnSGID := fnSG[0].(obj)["Fn::GetAtt"].([]any)[0].(string)
	role := props(fn)["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string)
	rolePrincipal := asJSON(obj{"AWS": obj{"Fn::GetAtt": []any{role, "Arn"}}})

	// Every endpoint: an interface endpoint with private DNS (the SDK's
	// default regional names resolve to it), in the function's subnets,
	// in one group, created before the function.
	byService := map[string]obj{}
	var services []string
	var epSG string
	for id, ep := range resources(raw, "AWS::EC2::VPCEndpoint") {
		p := props(ep)
		svc, _ := p["ServiceName"].(string)
		byService[svc] = p
		services = append(services, svc)
		if p["VpcEndpointType"] != "Interface" || p["PrivateDnsEnabled"] != true {
			t.Errorf("%s (%s): type %v, private DNS %v", id, svc, p["VpcEndpointType"], p["PrivateDnsEnabled"])
		}
		if asJSON(p["SubnetIds"]) != asJSON(vpcCfg["SubnetIds"]) {
			t.Errorf("%s subnets %s, function subnets %s", id, asJSON(p["SubnetIds"]), asJSON(vpcCfg["SubnetIds"]))
		}
		groups := asSlice(p["SecurityGroupIds"])
		if len(groups) != 1 {
			t.Fatalf("%s security groups %s", id, asJSON(groups))
		}
		g := groups[0].(obj)["Fn::GetAtt"].([]any)[0].(string)
		if epSG == "" {
			epSG = g
		} else if g != epSG {
			t.Errorf("%s in group %s, another endpoint in %s", id, g, epSG)
		}
		if deps := asSlice(fn["DependsOn"]); !slices.Contains(deps, any(id)) {
			t.Errorf("function DependsOn %v, want the endpoint %s", deps, id)
		}
	}
	sort.Strings(services)
	if want := endpointServices(s.env.Region, tagLookups, tagRole); !slices.Equal(services, want) {
		t.Fatalf("%s: endpoints %v, want %v", stackName, services, want)
	}

	aps := byService["com.amazonaws."+s.env.Region+".aps-workspaces"]
	sts := aps["PolicyDocument"].(obj)["Statement"].([]any)
	if len(sts) != 1 {
		t.Fatalf("endpoint policy %s", asJSON(sts))
	}
	st := sts[0].(obj)
	if st["Effect"] != "Allow" || st["Action"] != "aps:RemoteWrite" || asJSON(st["Principal"]) != rolePrincipal {
		t.Errorf("endpoint policy statement %s", asJSON(st))
	}
	if got := asJSON(resolveAcross(t, st["Resource"], raw, wsRaw)); got != asJSON(workspaceArn) {
		t.Errorf("endpoint policy resource %s, want the workspace %s", got, asJSON(workspaceArn))
	}
	// The Tagging API endpoint keeps the default policy: its PrivateLink
	// page documents none, and the sessions of the roles the function
	// assumes in other accounts (tags.role_arn) call through it too.
	if tagging, ok := byService["com.amazonaws."+s.env.Region+".tagging"]; ok && tagging["PolicyDocument"] != nil {
		t.Errorf("tagging endpoint policy %s", asJSON(tagging["PolicyDocument"]))
	}
	// STS takes endpoint policies (IAM user guide, "Control access to AWS
	// STS with VPC endpoint policies"): the function's role may ask who it
	// is (GetCallerIdentity has no resource) and assume tags.role_arn in
	// any account, nothing else.
	if stsEP, ok := byService["com.amazonaws."+s.env.Region+".sts"]; ok {
		wantRes := map[string]string{"sts:GetCallerIdentity": "*", "sts:AssumeRole": strings.Replace(tagRole, "{account}", "*", 1)}
		got := asSlice(asMap(stsEP["PolicyDocument"])["Statement"])
		if len(got) != len(wantRes) {
			t.Errorf("STS endpoint policy %s", asJSON(got))
		}
		for _, st := range got {
			st := asMap(st)
			a := actions(st)
			if len(a) != 1 || st["Effect"] != "Allow" || asJSON(st["Principal"]) != rolePrincipal || st["Resource"] != wantRes[a[0]] || wantRes[a[0]] == "" {
				t.Errorf("STS endpoint policy statement %s", asJSON(st))
			}
		}
	}

	// The endpoints' group: HTTPS in from the function's group, nothing else.
	sg := props(raw["Resources"].(obj)[epSG].(obj))
	wantIn := asJSON([]any{obj{"Description": "HTTPS from the ingest function", "FromPort": 443, "IpProtocol": "tcp",
		"SourceSecurityGroupId": obj{"Fn::GetAtt": []any{fnSGID, "GroupId"}}, "ToPort": 443}})
	if got := asJSON(sg["SecurityGroupIngress"]); got != wantIn {
		t.Errorf("endpoint ingress %s\nwant %s", got, wantIn)
	}
	// The function's group: no inline egress but the no-op rule, and one
	// egress rule, HTTPS to the endpoints' group.
	for id, g := range map[string]obj{fnSGID: props(raw["Resources"].(obj)[fnSGID].(obj)), epSG: sg} {
		for _, e := range asSlice(g["SecurityGroupEgress"]) {
			if e.(obj)["CidrIp"] != "255.255.255.255/32" {
				t.Errorf("%s: inline egress %s", id, asJSON(e))
			}
		}
	}
	egress := resources(raw, "AWS::EC2::SecurityGroupEgress")
	if len(egress) != 1 {
		t.Fatalf("%d egress rules, want 1", len(egress))
	}
	for _, e := range egress {
		ep := props(e)
		if asJSON(ep["GroupId"]) != asJSON(obj{"Fn::GetAtt": []any{fnSGID, "GroupId"}}) ||
			asJSON(ep["DestinationSecurityGroupId"]) != asJSON(obj{"Fn::GetAtt": []any{epSG, "GroupId"}}) ||
			ep["FromPort"] != float64(443) || ep["ToPort"] != float64(443) || ep["IpProtocol"] != "tcp" {
			t.Errorf("egress rule %s", asJSON(ep))
		}
	}
	for _, typ := range []string{"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway"} {
		if n := len(resources(raw, typ)); n > 0 {
			t.Errorf("private network has %d %s", n, typ)
		}
	}
}

// TestExistingVPC: with vpcId and subnetIds the stack creates no VPC and
// runs the function and the endpoint in the given subnets.
func TestExistingVPC(t *testing.T) {
	ctx := cdkContext(t)
	envs := ctx[ContextKeyEnvironments].(map[string]any)
	dev := envs["dev"].(map[string]any)
	subnets := []any{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210"}
	custom := map[string]any{}
	for k, v := range dev {
		custom[k] = v
	}
	custom["network"] = map[string]any{"vpcId": "vpc-0a1b2c3d4e5f60718", "subnetIds": subnets}
	envs["vpctest"] = custom
	env, err := LoadEnvConfig(envs, "vpctest", "", "")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	stacks, err := BuildApp(app, env, DefaultPaths(repoRoot))
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]map[string]any{}
	all := append([]*IngestStack{}, stacks.Ingest...)
	s := &synthesized{env: env, stacks: stacks, raw: raw}
	s.raw[*stacks.Workspace.StackName()] = templateJSON(stacks.Workspace.Stack)
	for _, in := range all {
		s.raw[*in.StackName()] = templateJSON(in.Stack)
	}
	in := all[0]
	ingest := s.raw[*in.StackName()]
	if n := len(resources(ingest, "AWS::EC2::VPC")); n != 0 {
		t.Errorf("%d VPCs created for an existing one", n)
	}
	_, fn := only(t, ingest, "AWS::Lambda::Function", "Ingest")
	vpcCfg, _ := props(fn)["VpcConfig"].(obj)
	if asJSON(vpcCfg["SubnetIds"]) != asJSON(subnets) {
		t.Errorf("function subnets %s, want %v", asJSON(vpcCfg["SubnetIds"]), subnets)
	}
	for _, g := range resources(ingest, "AWS::EC2::SecurityGroup") {
		if props(g)["VpcId"] != "vpc-0a1b2c3d4e5f60718" {
			t.Errorf("security group in %v", props(g)["VpcId"])
		}
	}
	amp, _ := only(t, s.raw[*stacks.Workspace.StackName()], "AWS::APS::Workspace", "")
	cfg, err := config.Load(filepath.Join(repoRoot, env.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	checkPrivateNetwork(t, s, *in.StackName(), vpcCfg, obj{"Fn::GetAtt": []any{amp, "Arn"}}, cfg.Tags.Enabled, cfg.Tags.RoleARN)
}

func templateJSON(st awscdk.Stack) map[string]any {
	return *assertions.Template_FromStack(st, nil).ToJSON()
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestAlarmRunbooks: every ingest alarm's description links to its own
// section of docs/operations.md, and that section exists.
func TestAlarmRunbooks(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The anchors GitHub gives the guide (RunbookBase is its github.com
	// page; GitHub has no {#id} heading ids), and every link inside the
	// guide lands on one of them.
	anchors := testutil.MarkdownAnchors(doc)
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(doc), -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/operations.md links to #%s, which no heading of it has", m[1])
		}
	}
	s := synth(t, "prod") // backupAllRecords: every alarm
	seen := 0
	for _, in := range s.stacks.Ingest {
		for id, a := range resources(s.raw[*in.StackName()], "AWS::CloudWatch::Alarm") {
			desc, _ := props(a)["AlarmDescription"].(string)
			base, anchor, ok := strings.Cut(desc[strings.LastIndex(desc, " ")+1:], "#")
			if !ok || base != rules.DefaultOptions().RunbookBase || !anchors[anchor] {
				t.Errorf("%s/%s: description %q does not end with a link to a section of docs/operations.md", *in.StackName(), id, desc)
			}
			seen++
		}
	}
	if seen == 0 {
		t.Fatal("no alarms")
	}
	// The "no data" runbook names metrics this pipeline has.
	if strings.Contains(string(doc), "DeliveryToHttpEndpoint") {
		t.Error("docs/operations.md names DeliveryToHttpEndpoint; the stream delivers to S3 only")
	}
}

// TestStackKeyPolicies pins, on every customer-managed key of every
// shipped template, what the services that use it need:
//   - CloudWatch Logs encrypts a log group only if the key policy lets
//     logs.<region>.amazonaws.com use the key, for encryption contexts of
//     this account's log groups (CloudWatch Logs user guide, "Encrypt log
//     data in CloudWatch Logs using AWS Key Management Service", step 2);
//   - Control Tower's CT.KMS.PR.3 deny of kms:CreateGrant must leave grants
//     that an integrated service creates for a resource (kms:GrantIsForAWSResource
//     true: Firehose's stream encryption, AMP's customer-managed-key
//     workspace) or that a service principal creates allowed (AWS KMS
//     developer guide, condition keys: kms:GrantIsForAWSResource; Firehose
//     API reference, DeliveryStreamEncryptionConfigurationInput: Firehose
//     calls CreateGrant). A deny without those exemptions would fail the
//     stream's and the workspace's creation, and cfn-guard would not notice.
func TestStackKeyPolicies(t *testing.T) {
	keys := 0
	for _, name := range shipped {
		s := synth(t, name)
		for stack, raw := range s.raw {
			for id, k := range resources(raw, "AWS::KMS::Key") {
				keys++
				logs, denies := false, 0
				for _, st := range props(k)["KeyPolicy"].(obj)["Statement"].([]any) {
					st := st.(obj)
					acts := actions(st)
					cond := asJSON(st["Condition"])
					if st["Effect"] == "Allow" && strings.Contains(asJSON(st["Principal"]), `"Service":"logs.`) {
						region := strings.TrimSuffix(strings.TrimPrefix(st["Principal"].(obj)["Service"].(string), "logs."), ".amazonaws.com")
						logs = slices.Contains(acts, "kms:GenerateDataKey*") && slices.Contains(acts, "kms:Decrypt*") &&
							strings.Contains(cond, `"ArnLike":{"kms:EncryptionContext:aws:logs:arn"`) &&
							strings.Contains(cond, ":logs:"+region+":") && strings.Contains(cond, ":log-group:*")
					}
					if st["Effect"] != "Deny" || !slices.Contains(acts, "kms:CreateGrant") {
						continue
					}
					denies++
					c, _ := st["Condition"].(obj)
					b, _ := c["BoolIfExists"].(obj)
					if len(c) != 1 || b["kms:GrantIsForAWSResource"] != "false" || b["aws:PrincipalIsAWSService"] != "false" {
						t.Errorf("%s/%s: CreateGrant deny %s must apply only to grants that are neither for an AWS resource nor made by a service principal", stack, id, cond)
					}
				}
				if !logs {
					t.Errorf("%s/%s: no statement lets CloudWatch Logs of the stack's region use the key for this account's log groups", stack, id)
				}
				if denies != 1 {
					t.Errorf("%s/%s: %d CreateGrant denies, want the one CT.KMS.PR.3 statement", stack, id, denies)
				}
			}
		}
	}
	if keys == 0 {
		t.Fatal("no keys")
	}
}

// errorOutputTypes are the values of !{firehose:error-output-type} an
// S3 destination with a Lambda processor and no format conversion writes
// (Firehose Developer Guide, "Understand custom prefixes for Amazon S3
// objects", firehose namespace,
// https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html);
// format conversion would add format-conversion-failed, so a stream with
// it fails the test below until its root is listed.
var errorOutputTypes = []string{"processing-failed"}

// TestLifecycleCoversEveryPrefix (issue 20): every root a delivery stream
// writes under (each Prefix and ErrorOutputPrefix of its destination and
// its backup, up to the first !{…} expression) has a lifecycle rule with
// that prefix and an expiration, or its objects stay, and are billed,
// forever (S3 user guide, "Managing the lifecycle of objects",
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html).
func TestLifecycleCoversEveryPrefix(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		for _, in := range s.stacks.Ingest {
			raw := s.raw[*in.StackName()]
			for id, st := range resources(raw, "AWS::KinesisFirehose::DeliveryStream") {
				dest := props(st)["ExtendedS3DestinationConfiguration"].(obj)
				if dest["DataFormatConversionConfiguration"] != nil {
					t.Fatalf("%s: format conversion writes format-conversion-failed/; add it to errorOutputTypes", id)
				}
				bucketID := dest["BucketARN"].(obj)["Fn::GetAtt"].([]any)[0].(string)
				rules := map[string]bool{}
				for _, r := range asSlice(asMap(props(resources(raw, "AWS::S3::Bucket")[bucketID])["LifecycleConfiguration"])["Rules"]) {
					r := r.(obj)
					if p, ok := r["Prefix"].(string); ok && r["ExpirationInDays"] != nil && r["Status"] == "Enabled" {
						rules[p] = true
					}
				}
				var prefixes []string
				for _, d := range []obj{dest, asMap(dest["S3BackupConfiguration"])} {
					for _, k := range []string{"Prefix", "ErrorOutputPrefix"} {
						if p, ok := d[k].(string); ok {
							prefixes = append(prefixes, p)
						}
					}
				}
				if len(prefixes) < 2 {
					t.Fatalf("%s %s: prefixes %v; this test has too little to check", name, id, prefixes)
				}
				for _, p := range prefixes {
					root, _, _ := strings.Cut(p, "!{")
					roots := []string{root}
					if root == "" && strings.HasPrefix(p, "!{firehose:error-output-type}/") {
						roots = nil
						for _, typ := range errorOutputTypes {
							roots = append(roots, typ+"/")
						}
					} else if !strings.HasSuffix(root, "/") {
						t.Errorf("%s %s: prefix %q has no fixed root a lifecycle rule can match", name, id, p)
						continue
					}
					for _, r := range roots {
						covered := slices.ContainsFunc(slices.Collect(maps.Keys(rules)), func(rp string) bool { return strings.HasPrefix(r, rp) })
						if !covered {
							t.Errorf("%s %s: Firehose writes under %q (from %q) and no lifecycle rule expires it; rules for %v", name, id, r, p, slices.Sorted(maps.Keys(rules)))
						}
					}
				}
			}
		}
	}
}
