package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// awsEnv points the SDK's default chain at url with static credentials and
// nothing from the machine.
func awsEnv(t *testing.T, url string) {
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_REGION", "us-east-1")
	testutil.StaticAWSCredentials(t)
}

// dryrun --tags prints the info series of the resources in the payloads,
// after their samples, as one Lambda invocation would write them.
func TestDryrunTags(t *testing.T) {
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	awsEnv(t, aws.ToString(tagstest.Start(t, fake).BaseEndpoint))
	code, out, errs := runCLI(t, "", "dryrun", "--tags", testutil.Testdata(t, "payloads", "alb.bin"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	want := `aws_applicationelb_info{account_id="123456789012",dimension_LoadBalancer="app/web/50dc6c495c0c9188",name="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",region="us-east-1",tag_Team="web"} 0 `
	if !strings.Contains(out, want) {
		t.Errorf("stdout lacks %s", want)
	}
	// Without --tags nothing is looked up.
	before := fake.Requests()
	if _, out, _ := runCLI(t, "", "dryrun", testutil.Testdata(t, "payloads", "alb.bin")); strings.Contains(out, "_info{") || fake.Requests() != before {
		t.Error("dryrun without --tags looked tags up")
	}
	// A failing API: the samples are still printed, the failure said.
	fake.Set(func(f *tagstest.Fake) { f.Status = 500 })
	code, out, errs = runCLI(t, "", "dryrun", "--tags", testutil.Testdata(t, "payloads", "alb.bin"))
	if code != 0 || !strings.Contains(out, "aws_applicationelb_request_count_sum{") || strings.Contains(out, "_info{") || !strings.Contains(errs, "tag lookups failed") {
		t.Errorf("failing API: exit %d, stderr %s", code, errs)
	}
}

// replay --tags against moto_server: the info series of the fixtures' RDS
// instances land in Prometheus with their tags, and a query joining by tag
// answers.
func TestReplayTagsMoto(t *testing.T) {
	url := testutil.StartMoto(t)
	tagstest.SeedMoto(t, tagstest.MotoConfig(url))
	awsEnv(t, url)
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
	// YACE's join: the info series' value is 0, so adding it keeps the
	// metric's and brings the tag.
	q := `count by (tag_Team, dimension_DBInstanceIdentifier) (aws_rds_cpuutilization_average + on(account_id, region, dimension_DBInstanceIdentifier) group_left(tag_Team) aws_rds_info)`
	code, out, errs := runCLI(t, "", "replay", "--tags", "--to", prom.WriteURL(), "--query", q, testutil.Testdata(t, "payloads", "rds.bin"))
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	// orders-db-1, orders-db-2, orders-aurora-instance-1 are the payments
	// team's, analytics-mysql the data team's (as SeedMoto tags them); the
	// payload is eu-west-1 only: one lookup.
	for _, want := range []string{"0 failed", "5 info series written (0 failed), 1 tag lookup (0 failed)",
		`{dimension_DBInstanceIdentifier="orders-db-1", tag_Team="payments"}`, `{dimension_DBInstanceIdentifier="orders-aurora-instance-1", tag_Team="payments"}`,
		`{dimension_DBInstanceIdentifier="analytics-mysql", tag_Team="data"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}
