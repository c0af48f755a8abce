package firehose_test

// The tag enrichment end to end: the fixture payloads' resources tagged in
// moto_server (RDS, ECS) or in a server speaking the Tagging API's JSON
// protocol (all of them, the ALBs included), their info series written
// through the handler into a real Prometheus and read back, a join by tag
// that returns data, and a Tagging API that fails or hangs leaving every
// record written and the error counted.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/promquery"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/telemetry"
	"github.com/cwstream/cwstream/internal/testutil"
)

var tagFixtures = []string{"rds", "alb", "alb-2", "ecs", "ecs-2"}

func tagFixtureData(t *testing.T) [][]byte {
	var data [][]byte
	for _, name := range tagFixtures {
		b, err := os.ReadFile(testutil.Testdata(t, "payloads", name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b)
	}
	return data
}

// enrichedHandler returns a handler writing to prom with tag enrichment
// looking up through cfg, and the invocations' counts as they come.
func enrichedHandler(t *testing.T, prom *promtest.Server, awsCfg aws.Config, opts tags.Options) (*firehose.Handler, *[]*telemetry.Invocation) {
	t.Helper()
	cfg, err := config.Parse([]byte("external_labels: {env: test}\ntags: {enabled: true}"))
	if err != nil {
		t.Fatal(err)
	}
	opts.ExternalLabels = cfg.ExternalLabels
	rw, err := remotewrite.New(remotewrite.Config{URL: prom.WriteURL()}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	var invs []*telemetry.Invocation
	h := firehose.New(cfg, rw, firehose.Options{
		Tags:         tags.New(&cfg.Tags, tags.NewAPI(awsCfg, ""), opts),
		OnInvocation: func(inv *telemetry.Invocation) { invs = append(invs, inv) },
		OnFailed:     func(id string, c cause.Cause, err error) { t.Errorf("record %s failed: %s: %v", id, c, err) },
	})
	return h, &invs
}

// allWritten invokes h with the fixtures and checks every record is
// Dropped and every sample it made is in prom.
func allWritten(t *testing.T, h *firehose.Handler, prom *promtest.Server) {
	t.Helper()
	data := tagFixtureData(t)
	for id, res := range invoke(t, h, context.Background(), eventJSON(t, data)) {
		if res != "Dropped" {
			t.Errorf("record %s: %s", id, res)
		}
	}
	cfg, _ := config.Parse([]byte("external_labels: {env: test}"))
	want := map[string]bool{}
	for _, lines := range expected(t, cfg, data) {
		for _, l := range lines {
			want[l] = true
		}
	}
	got := dumpLines(t, prom)
	for l := range want {
		if !got[l] {
			t.Errorf("sample not stored: %s", l)
		}
	}
}

// infoSeries reads the info series back: name{labels} per line, sorted.
func infoSeries(t *testing.T, prom *promtest.Server) []string {
	t.Helper()
	ss, err := prom.Samples(context.Background(), `{__name__=~"aws_.+_info"}`, dumpFrom, dumpTo)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range ss {
		var b strings.Builder
		b.WriteString(s.Labels["__name__"])
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Labels {
				if k != "__name__" && !yield(k) {
					return
				}
			}
		}) {
			b.WriteString(" " + k + "=" + s.Labels[k])
		}
		for _, p := range s.Points {
			if p.V != tags.InfoValue {
				t.Errorf("%s: value %v", b.String(), p.V)
			}
		}
		out = append(out, b.String())
	}
	slices.Sort(out)
	return out
}

func TestTagsEndToEndMoto(t *testing.T) {
	awsCfg := tagstest.MotoConfig(testutil.StartMoto(t))
	tagstest.SeedMoto(t, awsCfg)
	prom := startPrometheus(t)
	h, invs := enrichedHandler(t, prom, awsCfg, tags.Options{Wait: time.Minute})
	allWritten(t, h, prom)

	got := infoSeries(t, prom)
	// moto's ALB has an id of its own, so the fixtures' ALBs have no tags
	// there: 5 RDS and 8 ECS resources, in two ECS namespaces.
	if len(got) != 5+2*8 {
		t.Errorf("%d info series read back, want 21:\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, want := range []string{
		"aws_rds_info account_id=123456789012 dimension_DBInstanceIdentifier=orders-db-1 env=test name=arn:aws:rds:eu-west-1:123456789012:db:orders-db-1 region=eu-west-1 tag_Environment=prod tag_Team=payments",
		"aws_rds_info account_id=123456789012 dimension_DBClusterIdentifier=orders-aurora env=test name=arn:aws:rds:eu-west-1:123456789012:cluster:orders-aurora region=eu-west-1 tag_Team=payments",
		"aws_ecs_info account_id=123456789012 dimension_ClusterName=batch-jobs dimension_ServiceName=transform env=test name=arn:aws:ecs:us-east-1:123456789012:service/batch-jobs/transform region=us-east-1 tag_Team=data",
		"aws_ecs_containerinsights_info account_id=123456789012 dimension_ClusterName=prod-web env=test name=arn:aws:ecs:us-east-1:123456789012:cluster/prod-web region=us-east-1 tag_Team=web",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
	inv := (*invs)[len(*invs)-1]
	if inv.Tags == nil || inv.Tags.InfoSeries != len(got) || inv.Tags.LookupErrors != 0 || inv.Tags.Lookups != 2 {
		t.Errorf("tag counts %+v", inv.Tags)
	}

	// A panel-style query: CPU of the payments team's databases, joined
	// through the info series by the labels both carry.
	q := `sum by (tag_Team) (aws_rds_cpuutilization_average * on(account_id, region, dimension_DBInstanceIdentifier) group_left(tag_Team) (aws_rds_info{tag_Team="payments"} + 1))`
	res, err := prom.Query(context.Background(), q, time.Date(2024, 3, 12, 10, 18, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Labels["tag_Team"] != "payments" || len(res[0].Points) != 1 || res[0].Points[0].V <= 0 {
		t.Errorf("join by tag: %+v", res)
	}
}

// The fake server holds every fixture resource, the ALBs with the fixtures'
// own ids included.
func TestTagsEndToEndALB(t *testing.T) {
	prom := startPrometheus(t)
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	h, _ := enrichedHandler(t, prom, tagstest.Start(t, fake), tags.Options{Wait: time.Minute})
	allWritten(t, h, prom)
	got := infoSeries(t, prom)
	for _, want := range []string{
		"aws_applicationelb_info account_id=123456789012 dimension_LoadBalancer=app/web/50dc6c495c0c9188 env=test name=arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188 region=us-east-1 tag_Team=web",
		"aws_applicationelb_info account_id=123456789012 dimension_TargetGroup=targetgroup/api-tg/1a2b3c4d5e6f7a8b env=test name=arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/1a2b3c4d5e6f7a8b region=us-east-1 tag_Team=platform",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// A Tagging API that fails, or hangs past the lookup timeout, leaves every
// record written; the error is counted in the invocation, and no info
// series is written (none was ever known).
func TestTagsFailingAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(f *tagstest.Fake)
	}{
		{"errors", func(f *tagstest.Fake) { f.Status = 500 }},
		{"hangs", func(f *tagstest.Fake) { f.Hang = make(chan struct{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prom := startPrometheus(t)
			fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
			tc.set(fake)
			if fake.Hang != nil {
				defer close(fake.Hang)
			}
			h, invs := enrichedHandler(t, prom, tagstest.Start(t, fake), tags.Options{Wait: time.Minute, Timeout: 300 * time.Millisecond})
			allWritten(t, h, prom)
			if got := infoSeries(t, prom); len(got) != 0 {
				t.Errorf("info series without tags: %v", got)
			}
			inv := (*invs)[0]
			if inv.TotalFailed() != 0 || inv.Tags == nil || inv.Tags.LookupErrors != 2 || inv.Tags.InfoSeries != 0 {
				t.Errorf("invocation %s, tag counts %+v; want the two regions' errors counted", inv, inv.Tags)
			}
		})
	}
}

// TestREADMEJoin runs the tag join the README documents against a real
// Prometheus holding the fixtures' series and their info series: every
// per-instance RDS CPU series gets its tag_Team and keeps its value. YACE's
// own join, on(name), finds nothing, as the README says: cwstream's metric
// series carry no name label.
func TestREADMEJoin(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "`TestREADMEJoin`):")
	if !ok {
		t.Fatal("README: no join example before which TestREADMEJoin is named")
	}
	_, block, ok := strings.Cut(rest, "```promql\n")
	join, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README: the join example is not a promql code block")
	}

	prom := startPrometheus(t)
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	h, _ := enrichedHandler(t, prom, tagstest.Start(t, fake), tags.Options{Wait: time.Minute})
	allWritten(t, h, prom)
	ctx, at := context.Background(), time.Date(2024, 3, 12, 10, 18, 0, 0, time.UTC)
	query := func(q string) []promquery.Series {
		t.Helper()
		res, err := prom.Query(ctx, q, at)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res
	}
	metric := query(`aws_rds_cpuutilization_average{dimension_DBInstanceIdentifier!=""}`)
	joined := query(join)
	if len(metric) == 0 || len(joined) != len(metric) {
		t.Fatalf("join %s: %d series, want one per instance series (%d)", join, len(joined), len(metric))
	}
	value := map[string]float64{}
	for _, s := range metric {
		value[s.Labels["account_id"]+"/"+s.Labels["dimension_DBInstanceIdentifier"]] = s.Points[0].V
	}
	for _, s := range joined {
		key := s.Labels["account_id"] + "/" + s.Labels["dimension_DBInstanceIdentifier"]
		if s.Labels["tag_Team"] == "" {
			t.Errorf("%s: no tag_Team after the join: %v", key, s.Labels)
		}
		if v, ok := value[key]; !ok || s.Points[0].V != v {
			t.Errorf("%s: joined value %v, want the metric's %v", key, s.Points[0].V, v)
		}
	}
	if yace := query(`aws_rds_cpuutilization_average + on(name) group_left(tag_Team) aws_rds_info`); len(yace) != 0 {
		t.Errorf("YACE's on(name) join found %d series; the README says it finds none", len(yace))
	}
}
