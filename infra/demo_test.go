package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/cwstream/cwstream/infra/adot"
	adotconfig "github.com/cwstream/cwstream/internal/adot"
)

// TestEcsDemoStack pins the demo service and its ADOT sidecar in dev: the
// pinned image, the configuration in AOT_CONFIG_CONTENT writing to this
// environment's workspace with SigV4, the health check, essential false,
// the encrypted log group, and the task role allowed exactly the AMP
// ingestion actions on the one workspace.
func TestEcsDemoStack(t *testing.T) {
	s := synth(t, "dev")
	if s.stacks.EcsDemo == nil {
		t.Fatal("dev has ecsDemo enabled but no demo stack")
	}
	name := *s.stacks.EcsDemo.StackName()
	if name != DemoStackName("dev", s.env.Region) {
		t.Errorf("stack name %s", name)
	}
	raw, tpl := s.raw[name], s.templates[name]
	wsRaw := s.raw[*s.stacks.Workspace.StackName()]
	ampID, _ := only(t, wsRaw, "AWS::APS::Workspace", "")

	for typ, n := range map[string]float64{
		"AWS::ECS::Cluster": 1, "AWS::ECS::TaskDefinition": 1, "AWS::ECS::Service": 1, "AWS::KMS::Key": 1,
		"AWS::Logs::LogGroup": 3, "AWS::EC2::FlowLog": 1, "AWS::EC2::NatGateway": 0,
	} {
		check(t, "count "+typ, func() { tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
	}

	_, td := only(t, raw, "AWS::ECS::TaskDefinition", "")
	tdp := props(td)
	if tdp["Cpu"] != "256" || tdp["Memory"] != "512" || asJSON(tdp["RequiresCompatibilities"]) != `["FARGATE"]` ||
		tdp["RuntimePlatform"].(obj)["CpuArchitecture"] != "ARM64" {
		t.Errorf("task definition size/platform: cpu %v memory %v %v %v", tdp["Cpu"], tdp["Memory"], tdp["RequiresCompatibilities"], tdp["RuntimePlatform"])
	}
	checkFargateSize(t, tdp)
	var sidecar, app obj
	for _, c := range tdp["ContainerDefinitions"].([]any) {
		switch c.(obj)["Name"] {
		case adot.ContainerName:
			sidecar = c.(obj)
		case "app":
			app = c.(obj)
		}
	}
	if sidecar == nil || app == nil {
		t.Fatalf("containers: %v", tdp["ContainerDefinitions"])
	}
	if img := sidecar["Image"]; img != "public.ecr.aws/aws-observability/aws-otel-collector:"+adotconfig.ImageVersion || strings.HasSuffix(img.(string), ":latest") {
		t.Errorf("sidecar image %v", img)
	}
	if !strings.HasPrefix(adotconfig.ImageVersion, "v0.") || adotconfig.ImageVersion == "latest" {
		t.Errorf("image version %q is not a pinned release tag", adotconfig.ImageVersion)
	}
	if sidecar["Essential"] != false || app["Essential"] != true {
		t.Errorf("essential: sidecar %v app %v; want false, true", sidecar["Essential"], app["Essential"])
	}
	if hc := sidecar["HealthCheck"].(obj); asJSON(hc["Command"]) != `["CMD","/healthcheck"]` || hc["Interval"] == nil || hc["Retries"] == nil {
		t.Errorf("health check %v", hc)
	}
	// Control Tower: no container runs as root or writes its root file
	// system (the ADOT image's own user is aoc).
	for _, c := range []obj{sidecar, app} {
		if c["User"] == nil || c["User"] == "root" || c["User"] == "0" || c["ReadonlyRootFilesystem"] != true {
			t.Errorf("container %v: user %v, read-only root %v", c["Name"], c["User"], c["ReadonlyRootFilesystem"])
		}
	}
	if sidecar["Cpu"] != float64(adotconfig.CPUUnits) || sidecar["Memory"] != float64(adotconfig.MemoryLimitMiB) {
		t.Errorf("sidecar cpu %v memory %v", sidecar["Cpu"], sidecar["Memory"])
	}

	// AOT_CONFIG_CONTENT: the rendered configuration with the workspace's
	// remote-write URL, which the demo stack imports from the workspace
	// stack.
	env := sidecar["Environment"].([]any)
	if len(env) != 1 || env[0].(obj)["Name"] != adot.ConfigEnv {
		t.Fatalf("sidecar environment %v", env)
	}
	join := env[0].(obj)["Value"].(obj)["Fn::Join"].([]any)
	var text strings.Builder
	urlParts := 0
	for _, part := range join[1].([]any) {
		switch v := resolveAcross(t, part, raw, wsRaw).(type) {
		case string:
			text.WriteString(v)
		case obj:
			// The workspace's Prometheus endpoint (CDK flattens the
			// remote-write URL's join into this one).
			if asJSON(v) == asJSON(obj{"Fn::GetAtt": []any{ampID, "PrometheusEndpoint"}}) {
				urlParts++
				text.WriteString("<PROMETHEUS_ENDPOINT>")
				continue
			}
			t.Errorf("unexpected token in the configuration: %s", asJSON(v))
		}
	}
	cfg := text.String()
	if urlParts != 1 {
		t.Errorf("the workspace's endpoint appears %d times", urlParts)
	}
	for _, want := range []string{
		"endpoint: <PROMETHEUS_ENDPOINT>api/v1/remote_write\n    auth:\n      authenticator: sigv4auth\n",
		"  sigv4auth:\n    service: aps\n    region: " + s.env.Region + "\n",
		"          - localhost:8080\n",
		"      value: " + DemoServiceName("dev") + "\n",
		"    external_labels:\n      env: dev\n",
		"  awsecscontainermetrics:\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("AOT_CONFIG_CONTENT lacks %q:\n%s", want, cfg)
		}
	}

	// The task role: one policy, one statement, the four ingestion actions
	// on the workspace ARN only.
	roleRef := tdp["TaskRoleArn"].(obj)["Fn::GetAtt"].([]any)[0]
	var rolePolicies []obj
	for _, p := range resources(raw, "AWS::IAM::Policy") {
		for _, r := range props(p)["Roles"].([]any) {
			if r.(obj)["Ref"] == roleRef {
				rolePolicies = append(rolePolicies, props(p))
			}
		}
	}
	if len(rolePolicies) != 1 {
		t.Fatalf("task role has %d policies, want 1", len(rolePolicies))
	}
	stmts := rolePolicies[0]["PolicyDocument"].(obj)["Statement"].([]any)
	if len(stmts) != 1 {
		t.Fatalf("task role statements %v", stmts)
	}
	st := stmts[0].(obj)
	acts := actions(st)
	slices.Sort(acts)
	// AMP user guide, IAM permissions; Service Authorization Reference:
	// each of these takes the workspace resource type.
	if strings.Join(acts, ",") != "aps:GetLabels,aps:GetMetricMetadata,aps:GetSeries,aps:RemoteWrite" || st["Effect"] != "Allow" {
		t.Errorf("task role actions %v", acts)
	}
	if got := resolveAcross(t, st["Resource"], raw, wsRaw); asJSON(got) != asJSON(obj{"Fn::GetAtt": []any{ampID, "Arn"}}) {
		t.Errorf("task role resource %s, want the workspace ARN", asJSON(got))
	}

	// The sidecar's log group: named, retention, encrypted with the
	// stack's key, whose policy lets CloudWatch Logs of this account and
	// region use it (constructs.NewStackKey).
	keyID, key := only(t, raw, "AWS::KMS::Key", "")
	check(t, "sidecar log group", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj{
			"LogGroupName":    "/cwstream/dev/ecsdemo/adot-collector",
			"RetentionInDays": s.env.EcsDemo.LogRetentionDays,
			"KmsKeyId":        obj{"Fn::GetAtt": []any{keyID, "Arn"}},
		})
	})
	for _, lg := range resources(raw, "AWS::Logs::LogGroup") {
		if props(lg)["KmsKeyId"] == nil || props(lg)["RetentionInDays"] == nil {
			t.Errorf("log group %v without encryption or retention", props(lg)["LogGroupName"])
		}
	}
	if props(key)["EnableKeyRotation"] != true {
		t.Error("key rotation off")
	}
	found := false
	for _, st := range props(key)["KeyPolicy"].(obj)["Statement"].([]any) {
		st := st.(obj)
		if st["Sid"] != "CloudWatchLogs" {
			continue
		}
		found = true
		if asJSON(st["Principal"]) != `{"Service":"logs.`+s.env.Region+`.amazonaws.com"}` {
			t.Errorf("logs key principal %v", st["Principal"])
		}
		cond := asJSON(st["Condition"])
		if !strings.Contains(cond, `"ArnLike":{"kms:EncryptionContext:aws:logs:arn"`) || !strings.Contains(cond, `:log-group:*`) {
			t.Errorf("logs key condition %s", cond)
		}
	}
	if !found {
		t.Error("the key policy does not let CloudWatch Logs use the key")
	}

	check(t, "service", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj{
			"ServiceName":          DemoServiceName("dev"),
			"LaunchType":           "FARGATE",
			"DesiredCount":         s.env.EcsDemo.DesiredCount,
			"NetworkConfiguration": obj{"AwsvpcConfiguration": obj{"AssignPublicIp": "ENABLED"}},
		})
	})
	check(t, "cluster", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), obj{
			"ClusterName":     DemoClusterName("dev"),
			"ClusterSettings": []any{obj{"Name": "containerInsights", "Value": "enabled"}},
		})
	})
	// The service waits for the task role's AMP policy: CDK orders it after
	// the role only, and a task started before the policy is attached gets
	// 403 on remote write, which the collector's exporter drops (a permanent 4xx).
	_, svc := only(t, raw, "AWS::ECS::Service", "")
	policyID, _ := only(t, raw, "AWS::IAM::Policy", "AdotIngest")
	if deps, _ := svc["DependsOn"].([]any); !slices.Contains(deps, any(policyID)) {
		t.Errorf("service DependsOn %v lacks the task role's AMP policy %s", svc["DependsOn"], policyID)
	}
	_, sg := only(t, raw, "AWS::EC2::SecurityGroup", "")
	if props(sg)["SecurityGroupIngress"] != nil {
		t.Errorf("demo tasks accept inbound traffic: %v", props(sg)["SecurityGroupIngress"])
	}
}

// TestNoEcsDemoInProd: the demo is off unless an environment enables it.
func TestNoEcsDemoInProd(t *testing.T) {
	if s := synth(t, "prod"); s.stacks.EcsDemo != nil {
		t.Error("prod has a demo stack")
	}
}

// fargateMemoryMiB is the memory a Fargate task may have for each task CPU
// value (Amazon ECS developer guide, task definition parameters for
// Fargate, "Task size"): from, to and step in MiB. 0.25 vCPU takes 512 MiB,
// 1 GB or 2 GB only, hence 1536 excluded below.
var fargateMemoryMiB = map[string][3]int{
	"256": {512, 2048, 512}, "512": {1024, 4096, 1024}, "1024": {2048, 8192, 1024},
	"2048": {4096, 16384, 1024}, "4096": {8192, 30720, 1024},
	"8192": {16384, 61440, 4096}, "16384": {32768, 122880, 8192},
}

// checkFargateSize fails unless the task's CPU and memory are a pair
// Fargate accepts and its containers fit inside: the containers' cpu
// together and their memory reservations together at most the task's, no
// hard limit above it (same guide, container definitions: cpu, memory,
// memoryReservation).
func checkFargateSize(t *testing.T, td obj) {
	t.Helper()
	cpu, _ := td["Cpu"].(string)
	mem, err := strconv.Atoi(fmt.Sprint(td["Memory"]))
	r, ok := fargateMemoryMiB[cpu]
	if err != nil || !ok || mem < r[0] || mem > r[1] || (mem-r[0])%r[2] != 0 || (cpu == "256" && mem == 1536) {
		t.Errorf("task size cpu %v memory %v is not a Fargate combination", td["Cpu"], td["Memory"])
		return
	}
	taskCPU, _ := strconv.Atoi(cpu)
	var cpus, reserved float64
	for _, c := range td["ContainerDefinitions"].([]any) {
		c := c.(obj)
		hard, _ := c["Memory"].(float64)
		soft, _ := c["MemoryReservation"].(float64)
		if soft == 0 {
			soft = hard
		}
		if hard > float64(mem) {
			t.Errorf("container %v: memory %v above the task's %d", c["Name"], hard, mem)
		}
		cpu, _ := c["Cpu"].(float64)
		cpus += cpu
		reserved += soft
	}
	if cpus > float64(taskCPU) || reserved > float64(mem) {
		t.Errorf("containers reserve %v CPU units and %v MiB; the task has %d and %d", cpus, reserved, taskCPU, mem)
	}
}
