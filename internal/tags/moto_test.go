package tags

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// TestMoto looks the fixture payloads' resources up in moto_server's
// Resource Groups Tagging API (moto 5.2 serves it for rds:db, rds:cluster,
// ecs:cluster, ecs:service, elasticloadbalancing:loadbalancer and
// elasticloadbalancing:targetgroup) through the SDK, and checks the info
// series of what the fixtures stream.
func TestMoto(t *testing.T) {
	url := testutil.StartMoto(t)
	cfg := tagstest.MotoConfig(url)
	albARN := tagstest.SeedMoto(t, cfg)

	api := NewAPI(cfg, "")
	e := New(enabled(t, ""), api, Options{Wait: time.Minute})
	eachFixtureUpdate(t, e.Observe)
	// CloudWatch names an ALB by the final part of its ARN (app/<name>/<id>).
	lbDim := albARN[strings.Index(albARN, ":loadbalancer/")+len(":loadbalancer/"):]
	e.Observe(&cw.Update{AccountID: tagstest.Account, Region: "us-east-1", Namespace: "AWS/ApplicationELB", MetricName: "RequestCount",
		Dimensions: []cw.Dimension{{Name: "LoadBalancer", Value: lbDim}}})
	got := infoText(e.Append(context.Background(), nil, 1710238560000))

	has := func(name, arnSuffix, dims, tags string) {
		t.Helper()
		for _, line := range got {
			if strings.HasPrefix(line, name+"{") && strings.Contains(line, arnSuffix+`"`) && strings.Contains(line, dims) && strings.Contains(line, tags) {
				return
			}
		}
		t.Errorf("no %s for %s with %s and %s in\n%s", name, arnSuffix, dims, tags, strings.Join(got, "\n"))
	}
	has("aws_rds_info", ":db:orders-db-1", `dimension_DBInstanceIdentifier="orders-db-1"`, `tag_Environment="prod",tag_Team="payments"`)
	has("aws_rds_info", ":db:orders-db-2", `dimension_DBInstanceIdentifier="orders-db-2"`, `tag_Team="payments"`)
	has("aws_rds_info", ":db:analytics-mysql", `dimension_DBInstanceIdentifier="analytics-mysql"`, `tag_Team="data"`)
	has("aws_rds_info", ":db:orders-aurora-instance-1", `dimension_DBInstanceIdentifier="orders-aurora-instance-1"`, `tag_Team="payments"`)
	has("aws_rds_info", ":cluster:orders-aurora", `dimension_DBClusterIdentifier="orders-aurora"`, `tag_Team="payments"`)
	for _, ns := range []string{"aws_ecs_info", "aws_ecs_containerinsights_info"} {
		has(ns, ":cluster/prod-web", `dimension_ClusterName="prod-web"`, `tag_Team="web"`)
		has(ns, ":cluster/batch-jobs", `dimension_ClusterName="batch-jobs"`, `tag_Team="data"`)
		has(ns, ":service/prod-web/orders-api", `dimension_ClusterName="prod-web",dimension_ServiceName="orders-api"`, `tag_Team="payments"`)
		has(ns, ":service/batch-jobs/report-export", `dimension_ClusterName="batch-jobs",dimension_ServiceName="report-export"`, `tag_Team="data"`)
	}
	has("aws_applicationelb_info", albARN[strings.LastIndex(albARN, ":"):], `dimension_LoadBalancer="`+lbDim+`"`, `tag_Team="web"`)
	// 5 RDS, 2×8 ECS, 1 ALB; the DB and the target group the stream did
	// not carry have none.
	if len(got) != 5+16+1 || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "not-streamed") || strings.Contains(s, "web-tg") }) {
		t.Errorf("%d info series, want 22:\n%s", len(got), strings.Join(got, "\n"))
	}
	if st := e.Stats(); st.LookupErrors != 0 || st.Lookups != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestMotoOtherAccount: the Tagging API answers only for the caller's
// account, so another account's resources are looked up with a role
// assumed there (moto_server runs each assumed role's calls in its
// account). Without tags.role_arn they get no info series, and no lookup
// is tried for them.
func TestMotoOtherAccount(t *testing.T) {
	const other = "210987654321"
	url := testutil.StartMoto(t)
	cfg := tagstest.MotoConfig(url)
	ctx := context.Background()
	role := "arn:aws:iam::{account}:role/cwstream-tags"
	// A tagged DB in the other account, created through the role.
	otherCfg := cfg.Copy()
	otherCfg.Region = "eu-west-1"
	otherCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), RoleARN(role, other)))
	if _, err := rds.NewFromConfig(otherCfg).CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("ledger-db"), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"),
		AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("password123"),
		Tags: []rdstypes.Tag{{Key: aws.String("Team"), Value: aws.String("finance")}},
	}); err != nil {
		t.Fatalf("moto CreateDBInstance in %s: %v", other, err)
	}
	tagstest.SeedMoto(t, cfg) // the own account's resources
	observe := func(e *Enricher) []string {
		eachFixtureUpdate(t, e.Observe)
		e.Observe(&cw.Update{AccountID: other, Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
			Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "ledger-db"}}})
		return infoText(e.Append(ctx, nil, 1710238560000))
	}
	ledger := `aws_rds_info{account_id="` + other + `",dimension_DBInstanceIdentifier="ledger-db",name="arn:aws:rds:eu-west-1:` + other + `:db:ledger-db",region="eu-west-1",tag_Team="finance"} 0 1710238560000`

	t.Run("role", func(t *testing.T) {
		e := New(enabled(t, "role_arn: '"+role+"'"), NewAPI(cfg, role), Options{Wait: time.Minute})
		got := observe(e)
		if !slices.Contains(got, ledger) {
			t.Errorf("no info series of the other account's DB:\n%s", strings.Join(got, "\n"))
		}
		// The own account's 22, as in TestMoto less the ALB it adds, and
		// the other account's one; a lookup per account and region.
		if len(got) != 5+16+1 {
			t.Errorf("%d info series, want 22:\n%s", len(got), strings.Join(got, "\n"))
		}
		if st := e.Stats(); st.LookupErrors != 0 || st.Lookups != 3 {
			t.Errorf("stats %+v, want 3 lookups (own account: eu-west-1, us-east-1; %s: eu-west-1), no error", st, other)
		}
	})
	t.Run("no role", func(t *testing.T) {
		e := New(enabled(t, ""), NewAPI(cfg, ""), Options{Wait: time.Minute})
		got := observe(e)
		if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, other) }) || len(got) != 5+16 {
			t.Errorf("without role_arn: %d info series, want the own account's 21:\n%s", len(got), strings.Join(got, "\n"))
		}
		if st := e.Stats(); st.LookupErrors != 0 || st.Lookups != 2 {
			t.Errorf("stats %+v, want a lookup per region of the own account", st)
		}
	})
	t.Run("API", func(t *testing.T) {
		self, err := NewAPI(cfg, "").Resources(ctx, tagstest.Account, "eu-west-1", []string{"rds:db"})
		if err != nil || len(self) != 5 || slices.ContainsFunc(self, func(r Resource) bool { return !strings.Contains(r.ARN, ":"+tagstest.Account+":") }) {
			t.Errorf("the own account asked by its id: %v, %v; want its 5 DB instances", self, err)
		}
		_, err = NewAPI(cfg, "").Resources(ctx, other, "eu-west-1", []string{"rds:db"})
		if !errors.Is(err, ErrNoRole) || !strings.Contains(err.Error(), "tag:GetResources in account "+other+", eu-west-1") {
			t.Errorf("another account without a role: %v, want ErrNoRole saying where", err)
		}
		// An account id from the payload goes into a role ARN only when it
		// is one.
		_, err = NewAPI(cfg, role).Resources(ctx, "123456789012:role/admin", "eu-west-1", []string{"rds:db"})
		if !errors.Is(err, ErrNotAnAccount) {
			t.Errorf("a payload account that is no account id: %v, want ErrNotAnAccount", err)
		}
	})
}

// stsStandIn answers STS's query protocol beside the fake Tagging API:
// GetCallerIdentity names account self, AssumeRole is denied.
func stsStandIn(t *testing.T, tagging http.Handler, self string) aws.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "" {
			tagging.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		switch r.Form.Get("Action") {
		case "GetCallerIdentity":
			fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:role/fn</Arn><UserId>AROA:fn</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, self, self)
		default:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole</Message></Error><RequestId>2</RequestId></ErrorResponse>`)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := tagstest.ClientConfig(srv.URL)
	cfg.Region = "eu-west-1"
	return cfg
}

// A role that cannot be assumed is a lookup error: counted, logged with the
// account, tried again after a minute; the own account's lookup is not
// affected.
func TestAssumeRoleDenied(t *testing.T) {
	const other = "210987654321"
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	cfg := stsStandIn(t, fake, tagstest.Account)
	var logs testutil.SyncBuffer
	clock := &fakeClock{t: time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)}
	role := "arn:aws:iam::{account}:role/cwstream-tags"
	e := New(enabled(t, "role_arn: '"+role+"'"), NewAPI(cfg, role), Options{Wait: time.Minute, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	round := func() []string {
		e.Observe(&cw.Update{AccountID: other, Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
			Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "ledger-db"}}})
		e.Observe(&cw.Update{AccountID: tagstest.Account, Region: "eu-west-1", Namespace: "AWS/RDS", MetricName: "CPUUtilization",
			Dimensions: []cw.Dimension{{Name: "DBInstanceIdentifier", Value: "orders-db-1"}}})
		return infoText(e.Append(context.Background(), nil, 1))
	}
	got := round()
	if len(got) != 1 || !strings.Contains(got[0], "orders-db-1") {
		t.Errorf("info series %v, want the own account's DB alone", got)
	}
	if st := e.Stats(); st.Lookups != 2 || st.LookupErrors != 1 {
		t.Errorf("stats %+v, want 2 lookups, 1 error", st)
	}
	if l := logs.String(); !strings.Contains(l, "account="+other) || !strings.Contains(l, "AccessDenied") || !strings.Contains(l, "tag:GetResources in account "+other+", eu-west-1") {
		t.Errorf("log lacks the account, the call and the error:\n%s", l)
	}
	clock.Add(time.Minute)
	e.Begin()
	round()
	if st := e.Stats(); st.Lookups != 3 || st.LookupErrors != 2 {
		t.Errorf("a minute later: %+v, want the denied account tried again (3 lookups, 2 errors)", st)
	}
}
