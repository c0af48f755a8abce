package tags

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// fixturePayloads are the sample payloads whose resources the tests tag.
var fixturePayloads = []string{"rds.bin", "alb.bin", "alb-2.bin", "ecs.bin", "ecs-2.bin"}

// eachFixtureUpdate decodes the fixture payloads and calls fn per update.
func eachFixtureUpdate(tb testing.TB, fn func(*cw.Update)) {
	tb.Helper()
	var dec decode.Decoder
	for _, name := range fixturePayloads {
		b, err := os.ReadFile(testutil.Testdata(tb, "payloads", name))
		if err != nil {
			tb.Fatal(err)
		}
		if err := dec.Decode(b, func(u *cw.Update) error { fn(u); return nil }); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
	}
}

func enabled(t testing.TB, yaml string) *Config {
	t.Helper()
	c := parseConfig(t, "enabled: true\n"+yaml)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// infoText renders info samples as sorted Prometheus text lines.
func infoText(samples []sample.Sample) []string {
	var out []string
	for _, s := range samples {
		out = append(out, string(sample.AppendText(nil, s)))
	}
	slices.Sort(out)
	return out
}

// observeFixtures runs one round: every fixture update observed, then
// Append at t.
func observeFixtures(t testing.TB, e *Enricher, ts int64) []sample.Sample {
	t.Helper()
	eachFixtureUpdate(t, e.Observe)
	return e.Append(context.Background(), nil, ts)
}

func TestInfoSeriesOfFixtureResources(t *testing.T) {
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 3}
	api := NewAPI(tagstest.Start(t, fake), "")
	e := New(enabled(t, "exclude_keys: ['aws:.*']"), api, Options{
		ExternalLabels: map[string]string{"env": "test"},
		Wait:           time.Minute, // lookups answer at once; waiting makes the first round complete
	})
	got := infoText(observeFixtures(t, e, 1710238560000))

	// Every line written out by hand from the ARN, the tags above and the
	// naming contract.
	l := func(name, arn, region, dims, tags string) string {
		return name + `{account_id="123456789012",` + dims + `env="test",name="` + arn + `",region="` + region + `",` + tags + `} 0 1710238560000`
	}
	rds := "arn:aws:rds:eu-west-1:123456789012:"
	elb := "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
	ecs := "arn:aws:ecs:us-east-1:123456789012:"
	var want []string
	for _, ns := range []string{"aws_ecs_info", "aws_ecs_containerinsights_info"} {
		want = append(want,
			l(ns, ecs+"cluster/prod-web", "us-east-1", `dimension_ClusterName="prod-web",`, `tag_Team="web"`),
			l(ns, ecs+"cluster/batch-jobs", "us-east-1", `dimension_ClusterName="batch-jobs",`, `tag_Team="data"`),
			l(ns, ecs+"service/prod-web/web-frontend", "us-east-1", `dimension_ClusterName="prod-web",dimension_ServiceName="web-frontend",`, `tag_Team="web"`),
			l(ns, ecs+"service/prod-web/orders-api", "us-east-1", `dimension_ClusterName="prod-web",dimension_ServiceName="orders-api",`, `tag_Team="payments"`),
			l(ns, ecs+"service/prod-web/payments-worker", "us-east-1", `dimension_ClusterName="prod-web",dimension_ServiceName="payments-worker",`, `tag_Team="payments"`),
			l(ns, ecs+"service/batch-jobs/ingest", "us-east-1", `dimension_ClusterName="batch-jobs",dimension_ServiceName="ingest",`, `tag_Team="data"`),
			l(ns, ecs+"service/batch-jobs/transform", "us-east-1", `dimension_ClusterName="batch-jobs",dimension_ServiceName="transform",`, `tag_Team="data"`),
			l(ns, ecs+"service/batch-jobs/report-export", "us-east-1", `dimension_ClusterName="batch-jobs",dimension_ServiceName="report-export",`, `tag_Team="data"`),
		)
	}
	want = append(want,
		l("aws_rds_info", rds+"db:orders-db-1", "eu-west-1", `dimension_DBInstanceIdentifier="orders-db-1",`, `tag_Environment="prod",tag_Team="payments"`),
		l("aws_rds_info", rds+"db:orders-db-2", "eu-west-1", `dimension_DBInstanceIdentifier="orders-db-2",`, `tag_Team="payments"`),
		l("aws_rds_info", rds+"db:analytics-mysql", "eu-west-1", `dimension_DBInstanceIdentifier="analytics-mysql",`, `tag_Team="data",tag_cost_center="42"`),
		l("aws_rds_info", rds+"db:orders-aurora-instance-1", "eu-west-1", `dimension_DBInstanceIdentifier="orders-aurora-instance-1",`, `tag_Team="payments"`),
		l("aws_rds_info", rds+"cluster:orders-aurora", "eu-west-1", `dimension_DBClusterIdentifier="orders-aurora",`, `tag_Team="payments"`),
		l("aws_applicationelb_info", elb+"loadbalancer/app/web/50dc6c495c0c9188", "us-east-1", `dimension_LoadBalancer="app/web/50dc6c495c0c9188",`, `tag_Team="web"`),
		l("aws_applicationelb_info", elb+"loadbalancer/app/internal-api/9c1b7a3e5d2f4b60", "us-east-1", `dimension_LoadBalancer="app/internal-api/9c1b7a3e5d2f4b60",`, `tag_Team="platform"`),
		l("aws_applicationelb_info", elb+"targetgroup/web-tg/73e2d6bc24d8a067", "us-east-1", `dimension_TargetGroup="targetgroup/web-tg/73e2d6bc24d8a067",`, `tag_Team="web"`),
		l("aws_applicationelb_info", elb+"targetgroup/api-tg/1a2b3c4d5e6f7a8b", "us-east-1", `dimension_TargetGroup="targetgroup/api-tg/1a2b3c4d5e6f7a8b",`, `tag_Team="platform"`),
		l("aws_applicationelb_info", elb+"targetgroup/web-canary-tg/0f1e2d3c4b5a6978", "us-east-1", `dimension_TargetGroup="targetgroup/web-canary-tg/0f1e2d3c4b5a6978",`, `tag_Team="web"`),
	)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("info series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// One lookup per region, paged by the fake three at a time.
	st := e.Stats()
	if st.Lookups != 2 || st.LookupErrors != 0 || st.InfoSeries != int64(len(want)) {
		t.Errorf("stats %+v", st)
	}
	if n := fake.Requests(); n != api.Requests() || n < 2*2 {
		t.Errorf("fake saw %d requests, the API counted %d; want several pages per region", n, api.Requests())
	}
	for _, f := range fake.Filters() {
		if !slices.Equal(f, ResourceTypes()) {
			t.Errorf("ResourceTypeFilters %v, want %v", f, ResourceTypes())
		}
	}

	// The next round writes the same series from the cache, without a
	// lookup, and only for what that round saw.
	var rdsOnly []sample.Sample
	eachFixtureUpdate(t, func(u *cw.Update) {
		if u.Namespace == "AWS/RDS" {
			e.Observe(u)
		}
	})
	rdsOnly = e.Append(context.Background(), rdsOnly, 1710238620000)
	if len(rdsOnly) != 5 || e.Stats().Lookups != 2 {
		t.Errorf("second round: %d info series, %d lookups; want the 5 RDS resources and no lookup", len(rdsOnly), e.Stats().Lookups)
	}
}

func TestResourceTypesAndKeyFilters(t *testing.T) {
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	e := New(enabled(t, "resource_types: [rds:db]\ninclude_keys: [Team, 'cost.*']\nexclude_keys: [cost-center]"), NewAPI(tagstest.Start(t, fake), ""), Options{Wait: time.Minute})
	got := infoText(observeFixtures(t, e, 1))
	if len(got) != 4 {
		t.Fatalf("want the 4 DB instances only, got\n%s", strings.Join(got, "\n"))
	}
	for _, line := range got {
		if !strings.HasPrefix(line, "aws_rds_info{") || strings.Contains(line, "tag_Environment") || strings.Contains(line, "tag_cost") || !strings.Contains(line, "tag_Team=") {
			t.Errorf("unexpected %s", line)
		}
	}
	for _, f := range fake.Filters() {
		if !slices.Equal(f, []string{"rds:db"}) {
			t.Errorf("ResourceTypeFilters %v, want [rds:db]", f)
		}
	}
}

func TestRefreshInterval(t *testing.T) {
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	clock := &fakeClock{t: time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)}
	e := New(enabled(t, "refresh: 10m"), NewAPI(tagstest.Start(t, fake), ""), Options{Now: clock.Now, Wait: time.Minute})
	observeFixtures(t, e, 1)
	if e.Stats().Lookups != 2 {
		t.Fatalf("lookups %d after the first round, want one per region", e.Stats().Lookups)
	}
	// Tags change; within the interval nothing is looked up again.
	fake.Set(func(f *tagstest.Fake) {
		f.Resources = slices.Clone(f.Resources)
		f.Resources[0].Tags = [][2]string{{"Team", "billing"}}
	})
	clock.Add(9 * time.Minute)
	e.Begin()
	got := infoText(observeFixtures(t, e, 2))
	if e.Stats().Lookups != 2 || !slices.ContainsFunc(got, func(s string) bool {
		return strings.Contains(s, `db:orders-db-1"`) && strings.Contains(s, `tag_Team="payments"`)
	}) {
		t.Fatalf("within the interval: %d lookups, want 2 and the cached tags", e.Stats().Lookups)
	}
	clock.Add(time.Minute)
	e.Begin()
	got = infoText(observeFixtures(t, e, 3))
	if e.Stats().Lookups != 4 || !slices.ContainsFunc(got, func(s string) bool {
		return strings.Contains(s, `db:orders-db-1"`) && strings.Contains(s, `tag_Team="billing"`)
	}) {
		t.Errorf("after the interval: %d lookups, want 4 and the new tags:\n%s", e.Stats().Lookups, strings.Join(got, "\n"))
	}
}

// A lookup that fails or hangs leaves the info series as they were (absent
// before the first success), is counted, and is tried again later.
func TestFailingAndHangingLookups(t *testing.T) {
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	clock := &fakeClock{t: time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)}
	e := New(enabled(t, "refresh: 5m"), NewAPI(tagstest.Start(t, fake), ""), Options{Now: clock.Now, Wait: time.Minute, Timeout: 200 * time.Millisecond})

	fake.Set(func(f *tagstest.Fake) { f.Status = 500 })
	if got := observeFixtures(t, e, 1); len(got) != 0 {
		t.Fatalf("failing API: %d info series, want none yet", len(got))
	}
	if st := e.Stats(); st.LookupErrors != 2 {
		t.Fatalf("failing API: stats %+v, want an error per region", st)
	}
	// Not retried at once: a broken API is not hammered.
	if got := observeFixtures(t, e, 2); len(got) != 0 || e.Stats().Lookups != 2 {
		t.Fatalf("retried too soon: %+v", e.Stats())
	}
	fake.Set(func(f *tagstest.Fake) { f.Status = 0 })
	clock.Add(time.Minute)
	want := len(observeFixtures(t, e, 3))
	if want == 0 || e.Stats().LookupErrors != 2 {
		t.Fatalf("recovered API: no info series, stats %+v", e.Stats())
	}

	// Now the API hangs: the refresh times out, the cached tags stay.
	hang := make(chan struct{})
	defer close(hang)
	fake.Set(func(f *tagstest.Fake) { f.Hang = hang })
	clock.Add(5 * time.Minute)
	if got := observeFixtures(t, e, 4); len(got) != want {
		t.Errorf("hanging API: %d info series, want the %d cached ones", len(got), want)
	}
	if st := e.Stats(); st.LookupErrors != 4 {
		t.Errorf("hanging API: stats %+v, want the two timeouts counted", st)
	}
}

// Append never waits longer than Options.Wait for a lookup: the round is
// answered from the cache (empty here) while the lookup goes on.
func TestAppendDoesNotWaitForAHangingLookup(t *testing.T) {
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100, Hang: make(chan struct{})}
	e := New(enabled(t, ""), NewAPI(tagstest.Start(t, fake), ""), Options{Wait: -1, Timeout: time.Hour})
	if got := observeFixtures(t, e, 1); len(got) != 0 {
		t.Fatalf("%d info series before any lookup ended", len(got))
	}
	// The hanging lookups are still in flight; once they answer, the next
	// round has the tags without a new lookup.
	close(fake.Hang)
	for e.Stats().Lookups < 2 {
		time.Sleep(time.Millisecond)
	}
	if got := observeFixtures(t, e, 2); len(got) == 0 || e.Stats().Lookups != 2 {
		t.Errorf("after the lookups ended: %d info series, stats %+v", len(got), e.Stats())
	}
}

func TestLookupErrorSaysWhere(t *testing.T) {
	fake := &tagstest.Fake{Status: 403}
	_, err := NewAPI(tagstest.Start(t, fake), "").Resources(context.Background(), "", "eu-west-1", ResourceTypes())
	if err == nil || !strings.Contains(err.Error(), "tag:GetResources in eu-west-1, page 1") {
		t.Errorf("lookup error %v, want one naming the call, region and page", err)
	}
}

func TestInfoName(t *testing.T) {
	for ns, want := range map[string]string{
		"AWS/RDS":               "aws_rds_info",
		"AWS/ApplicationELB":    "aws_applicationelb_info",
		"AWS/ECS":               "aws_ecs_info",
		"ECS/ContainerInsights": "aws_ecs_containerinsights_info",
	} {
		if got := InfoName(ns); got != want || !model.IsValidLegacyMetricName(got) {
			t.Errorf("InfoName(%q) = %q, want %q", ns, got, want)
		}
	}
}

// scopeLookup answers per account: resources of the accounts in res, the
// error of the accounts in errs; it counts calls per account and region.
type scopeLookup struct {
	mu    sync.Mutex
	res   map[string][]Resource
	errs  map[string]error
	calls map[string]int
}

func (l *scopeLookup) Resources(_ context.Context, account, region string, _ []string) ([]Resource, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[account+" "+region]++
	if err := l.errs[account]; err != nil {
		return nil, err
	}
	return l.res[account], nil
}

func (l *scopeLookup) count(scope string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[scope]
}

// With tags.role_arn a lookup covers an account's region. An account the
// Lookup says it cannot look up (no role) is asked once and never again,
// and is no lookup error; one that fails is tried again; an "account" that
// is no account id is never asked.
func TestLookupsPerAccount(t *testing.T) {
	tag := func(v string) []Tag { return []Tag{{"Team", v}} }
	l := &scopeLookup{
		res: map[string][]Resource{
			"111111111111": {{ARN: "arn:aws:rds:eu-west-1:111111111111:db:a", Tags: tag("a")}},
			"222222222222": {{ARN: "arn:aws:rds:eu-west-1:222222222222:db:b", Tags: tag("b")}},
		},
		errs: map[string]error{
			"333333333333": fmt.Errorf("wrapped: %w", ErrNoRole),
			"not-an-id":    fmt.Errorf("wrapped: %w", ErrNotAnAccount),
			"444444444444": errors.New("AccessDenied"),
		},
		calls: map[string]int{},
	}
	clock := &fakeClock{t: time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)}
	e := New(enabled(t, "role_arn: 'arn:aws:iam::{account}:role/cwstream-tags'\nrefresh: 5m"), l, Options{Now: clock.Now, Wait: time.Minute})
	round := func(ts int64) []string {
		for _, acct := range []string{"111111111111", "222222222222", "333333333333", "not-an-id", "444444444444"} {
			for _, db := range []string{"a", "b"} {
				e.Observe(&cw.Update{AccountID: acct, Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
					Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: db}}})
			}
		}
		return infoText(e.Append(context.Background(), nil, ts))
	}
	got := round(1)
	if len(got) != 2 || !strings.Contains(got[0], `account_id="111111111111"`) || !strings.Contains(got[0], `tag_Team="a"`) ||
		!strings.Contains(got[1], `account_id="222222222222"`) || !strings.Contains(got[1], `tag_Team="b"`) {
		t.Fatalf("info series: each account's own DB, want 2:\n%s", strings.Join(got, "\n"))
	}
	if st := e.Stats(); st.Lookups != 4 || st.LookupErrors != 1 || st.Overflow != 0 {
		t.Errorf("first round: %+v, want 4 lookups, 1 error (444444444444's), no overflow", st)
	}
	clock.Add(5 * time.Minute)
	e.Begin()
	round(2)
	for scope, want := range map[string]int{"111111111111 eu-west-1": 2, "222222222222 eu-west-1": 2, "444444444444 eu-west-1": 2,
		"333333333333 eu-west-1": 1, "not-an-id eu-west-1": 0} {
		if n := l.count(scope); n != want {
			t.Errorf("%s looked up %d times, want %d", scope, n, want)
		}
	}

	// Without role_arn a lookup covers a region, for the own account.
	own := &scopeLookup{res: map[string][]Resource{"": l.res["111111111111"]}, calls: map[string]int{}}
	e = New(enabled(t, ""), own, Options{Wait: time.Minute})
	e.Observe(&cw.Update{AccountID: "111111111111", Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
		Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "a"}}})
	e.Observe(&cw.Update{AccountID: "222222222222", Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
		Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "b"}}})
	if got := e.Append(context.Background(), nil, 1); len(got) != 1 || own.count(" eu-west-1") != 1 || len(own.calls) != 1 {
		t.Errorf("without role_arn: %d info series, lookups %v; want 1 and one lookup of the region", len(got), own.calls)
	}
}

// Past MaxScopes accounts and regions, new ones are neither looked up nor
// given info series, and are counted as overflow.
func TestMaxScopes(t *testing.T) {
	l := &scopeLookup{calls: map[string]int{}}
	e := New(enabled(t, "role_arn: 'arn:aws:iam::{account}:role/cwstream-tags'"), l, Options{Wait: time.Minute})
	for i := range MaxScopes + 10 {
		e.Observe(&cw.Update{AccountID: fmt.Sprintf("%012d", i), Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
			Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "db"}}})
	}
	e.Append(context.Background(), nil, 1)
	if st := e.Stats(); st.Lookups != MaxScopes || st.Overflow != 10 || len(l.calls) != MaxScopes {
		t.Errorf("stats %+v, %d scopes looked up; want %d lookups and 10 overflowing", st, len(l.calls), MaxScopes)
	}
}

// gatedLookup blocks every lookup until released, noting how many run at
// once.
type gatedLookup struct {
	started, release chan struct{}
	mu               sync.Mutex
	running, most    int
}

func (l *gatedLookup) Resources(context.Context, string, string, []string) ([]Resource, error) {
	l.mu.Lock()
	l.running++
	l.most = max(l.most, l.running)
	l.mu.Unlock()
	l.started <- struct{}{}
	<-l.release
	l.mu.Lock()
	l.running--
	l.mu.Unlock()
	return nil, nil
}

// Refreshes of many accounts fall due together; at most concurrentLookups
// of them run at once. With concurrentLookups lookups blocked, the others
// get every chance to start (the scheduler is yielded to many times) and
// must not; with the bound gone they do.
func TestConcurrentLookups(t *testing.T) {
	const accounts = 20
	l := &gatedLookup{started: make(chan struct{}, accounts), release: make(chan struct{})}
	e := New(enabled(t, "role_arn: 'arn:aws:iam::{account}:role/cwstream-tags'"), l, Options{Wait: time.Hour})
	for i := range accounts {
		e.Observe(&cw.Update{AccountID: fmt.Sprintf("%012d", i+1), Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
			Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "db"}}})
	}
	done := make(chan struct{})
	go func() { e.Append(context.Background(), nil, 1); close(done) }()
	for range concurrentLookups {
		<-l.started
	}
	for range 10_000 {
		runtime.Gosched()
	}
	if n := len(l.started); n != 0 {
		t.Errorf("%d more lookups started while %d ran", n, concurrentLookups)
	}
	close(l.release)
	<-done
	if l.most > concurrentLookups || e.Stats().Lookups != accounts {
		t.Errorf("%d lookups ran at once, want at most %d; stats %+v", l.most, concurrentLookups, e.Stats())
	}
}
