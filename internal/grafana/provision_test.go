package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/grafana/types"

	"github.com/cwstream/cwstream/internal/dashboards"
)

const (
	testWorkspace = "g-abc123"
	testPromURL   = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/"
)

type env struct {
	amg  *fakeAMG
	graf *fakeGrafana
	prov *Provisioner
	spec Spec
	// waits are the retry waits the provisioner asked for (it does not
	// really sleep in tests).
	waits []time.Duration
}

func newEnv(t *testing.T) *env {
	t.Helper()
	graf, srv := newFakeGrafana(t)
	f := newFakeAMG(t, testWorkspace, srv.URL)
	graf.amg = f
	spec, err := NewSpec(testWorkspace, "eu-west-1", testPromURL)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{amg: f, graf: graf, prov: NewProvisioner(f, srv.Client(), nil), spec: spec}
	e.prov.sleep = func(_ context.Context, d time.Duration) error {
		e.waits = append(e.waits, d)
		return nil
	}
	e.prov.jitter = func(max time.Duration) time.Duration { return max }
	t.Cleanup(func() {
		if len(f.tokens) != 0 {
			t.Errorf("tokens left behind: %v", f.tokens)
		}
	})
	return e
}

func TestSyncCreatesThenUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.prov.Sync(ctx, e.spec)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DataSourceCreated || !res.FolderCreated || len(res.Dashboards) != 4 {
		t.Errorf("first sync: %+v", res)
	}
	if len(e.graf.dashboards) != 4 || len(e.graf.dataSources) != 1 || len(e.graf.folders) != 1 {
		t.Fatalf("grafana holds %d dashboards, %d data sources, %d folders", len(e.graf.dashboards), len(e.graf.dataSources), len(e.graf.folders))
	}
	// Each saved dashboard is exactly the generated model, in our folder.
	models, _ := dashboards.JSON()
	for _, m := range models {
		saved := e.graf.dashboards[m.UID]
		if saved["folderUid"] != FolderUID {
			t.Errorf("%s in folder %v", m.UID, saved["folderUid"])
		}
		var want map[string]any
		_ = json.Unmarshal(m.JSON, &want)
		got, _ := json.Marshal(saved["dashboard"])
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Errorf("%s: saved model differs from dashboards.JSON", m.UID)
		}
	}
	ds := e.graf.dataSources[dashboards.DataSourceUID]
	if ds["url"] != testPromURL || ds["jsonData"].(map[string]any)["sigV4Region"] != "eu-west-1" {
		t.Errorf("data source %v", ds)
	}
	first := slices.Clone(e.graf.requests)
	wantFirst := []string{
		"GET /api/datasources/uid/cwstream-amp", "POST /api/datasources",
		"GET /api/folders/cwstream", "POST /api/folders",
		"POST /api/dashboards/db", "POST /api/dashboards/db", "POST /api/dashboards/db", "POST /api/dashboards/db",
	}
	if !slices.Equal(first, wantFirst) {
		t.Errorf("first sync requests:\n got %q\nwant %q", first, wantFirst)
	}

	// Again: same content, updates in place, the service account reused.
	e.graf.requests = nil
	res, err = e.prov.Sync(ctx, e.spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.DataSourceCreated || res.FolderCreated {
		t.Errorf("second sync created again: %+v", res)
	}
	wantSecond := []string{
		"GET /api/datasources/uid/cwstream-amp", "PUT /api/datasources/uid/cwstream-amp",
		"GET /api/folders/cwstream",
		"POST /api/dashboards/db", "POST /api/dashboards/db", "POST /api/dashboards/db", "POST /api/dashboards/db",
	}
	if !slices.Equal(e.graf.requests, wantSecond) {
		t.Errorf("second sync requests:\n got %q\nwant %q", e.graf.requests, wantSecond)
	}
	if n := count(e.amg.calls, "CreateWorkspaceServiceAccount"); n != 1 {
		t.Errorf("service account created %d times, want once", n)
	}
	if n, d := count(e.amg.calls, "CreateWorkspaceServiceAccountToken"), count(e.amg.calls, "DeleteWorkspaceServiceAccountToken"); n != 2 || d != 2 {
		t.Errorf("tokens created %d, deleted %d; want 2 and 2", n, d)
	}
	if len(e.graf.dashboards) != 4 || len(e.graf.dataSources) != 1 {
		t.Error("second sync changed the number of objects")
	}
}

func TestSyncRenamesFolder(t *testing.T) {
	e := newEnv(t)
	if _, err := e.prov.Sync(context.Background(), e.spec); err != nil {
		t.Fatal(err)
	}
	e.spec.FolderTitle = "Observability"
	if _, err := e.prov.Sync(context.Background(), e.spec); err != nil {
		t.Fatal(err)
	}
	if got := e.graf.folders[FolderUID].Title; got != "Observability" {
		t.Errorf("folder title %q", got)
	}
}

func TestSyncWithoutPrometheusURLLeavesDataSourceAlone(t *testing.T) {
	e := newEnv(t)
	e.spec.PrometheusURL = ""
	if _, err := e.prov.Sync(context.Background(), e.spec); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.graf.requests {
		if strings.Contains(r, "datasources") {
			t.Errorf("request %s without a Prometheus URL", r)
		}
	}
}

func TestRemoveIsRepeatable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.prov.Sync(ctx, e.spec); err != nil {
		t.Fatal(err)
	}
	e.graf.requests = nil
	if err := e.prov.Remove(ctx, e.spec); err != nil {
		t.Fatal(err)
	}
	if len(e.graf.dashboards)+len(e.graf.folders)+len(e.graf.dataSources) != 0 {
		t.Errorf("left behind: %v %v %v", e.graf.dashboards, e.graf.folders, e.graf.dataSources)
	}
	if len(e.amg.accounts) != 0 {
		t.Errorf("service accounts left: %v", e.amg.accounts)
	}
	want := []string{
		"DELETE /api/dashboards/uid/cwstream-overview", "DELETE /api/dashboards/uid/cwstream-ecs-service",
		"DELETE /api/dashboards/uid/cwstream-rds", "DELETE /api/dashboards/uid/cwstream-alb",
		"DELETE /api/folders/cwstream", "DELETE /api/datasources/uid/cwstream-amp",
	}
	if !slices.Equal(e.graf.requests, want) {
		t.Errorf("remove requests:\n got %q\nwant %q", e.graf.requests, want)
	}
	// Everything already gone: 404s are fine.
	if err := e.prov.Remove(ctx, e.spec); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(*env)
		want    []string // substrings of the error
		wantAPI int      // status of a wrapped *APIError, 0: none
	}{
		{
			name:    "dashboard save fails",
			setup:   func(e *env) { e.graf.failPath = "/api/dashboards/db" },
			want:    []string{"workspace g-abc123", "dashboard cwstream-overview", "POST /api/dashboards/db", "status 500"},
			wantAPI: 500,
		},
		{
			name:    "data source lookup fails",
			setup:   func(e *env) { e.graf.failPath = "/api/datasources/uid/cwstream-amp" },
			want:    []string{"data source cwstream-amp", "status 500"},
			wantAPI: 500,
		},
		{
			name: "no token",
			setup: func(e *env) {
				e.amg.fail["CreateWorkspaceServiceAccountToken"] = &types.AccessDeniedException{Message: aws.String("denied")}
			},
			want: []string{"create service account token", "denied"},
		},
		{
			name: "token not deleted",
			setup: func(e *env) {
				e.amg.fail["DeleteWorkspaceServiceAccountToken"] = errors.New("throttled")
			},
			want: []string{"delete service account token", "expires in 15m0s", "throttled"},
		},
		{
			name: "workspace without endpoint",
			setup: func(e *env) {
				e.amg.endpoint = ""
			},
			want: []string{"no endpoint"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			c.setup(e)
			_, err := e.prov.Sync(context.Background(), e.spec)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var apiErr *APIError
			if got := errors.As(err, &apiErr); got != (c.wantAPI != 0) || (got && apiErr.Status != c.wantAPI) {
				t.Errorf("APIError in chain: %v %+v", got, apiErr)
			}
			if c.name == "token not deleted" {
				e.amg.tokens = map[string]string{} // expected leftover; the cleanup check would flag it
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	base, err := NewSpec(testWorkspace, "eu-west-1", testPromURL)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"valid", func(*Spec) {}, ""},
		{"bad workspace", func(s *Spec) { s.WorkspaceID = "ws-1" }, "workspace id"},
		{"no region", func(s *Spec) { s.Region = "" }, "region"},
		{"bad url", func(s *Spec) { s.PrometheusURL = "aps-workspaces/ws-1" }, "prometheus url"},
		{"bad dashboard", func(s *Spec) { s.Dashboards = []dashboards.Model{{UID: "x", JSON: []byte("{")}} }, "dashboard 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base
			c.change(&s)
			err := s.Validate()
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("Validate() = %v, want error containing %q", err, c.want)
			}
		})
	}
}

func count(calls []string, op string) int {
	n := 0
	for _, c := range calls {
		if c == op {
			n++
		}
	}
	return n
}

// TestCustomResourceProtocol drives the handler through cfn.LambdaWrap, as
// Lambda runs it, with CloudFormation's response URL as an httptest server.
func TestCustomResourceProtocol(t *testing.T) {
	e := newEnv(t)
	responses := make(chan cfn.Response, 1)
	cfnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			t.Errorf("response with %s, want PUT", r.Method)
		}
		b, _ := io.ReadAll(r.Body)
		var resp cfn.Response
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Errorf("response body: %v", err)
		}
		responses <- resp
	}))
	defer cfnSrv.Close()

	cr := &CustomResource{Provisioner: e.prov, DefaultRegion: "eu-west-1"}
	handler := cfn.LambdaWrap(cr.Handle)
	send := func(reqType cfn.RequestType, physical string, props map[string]any) cfn.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ev := cfn.Event{
			RequestType: reqType, RequestID: "req-" + string(reqType), ResponseURL: cfnSrv.URL,
			LogicalResourceID: "Dashboards", StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1",
			PhysicalResourceID: physical, ResourceProperties: props,
		}
		if _, err := handler(ctx, ev); err != nil {
			t.Fatalf("%s: sending the response: %v", reqType, err)
		}
		return <-responses
	}
	props := map[string]any{"ServiceToken": "arn:aws:lambda:…", PropWorkspaceID: testWorkspace, PropPrometheusURL: testPromURL, "DashboardsHash": "abc"}

	r := send(cfn.RequestCreate, "", props)
	if r.Status != cfn.StatusSuccess || r.PhysicalResourceID != "cwstream-grafana:"+testWorkspace {
		t.Fatalf("create: %+v", r)
	}
	if r.Data["Dashboards"] != "cwstream-overview,cwstream-ecs-service,cwstream-rds,cwstream-alb" {
		t.Errorf("create data: %v", r.Data)
	}
	if len(e.graf.dashboards) != 4 {
		t.Errorf("after create: %d dashboards", len(e.graf.dashboards))
	}
	physical := r.PhysicalResourceID

	if r := send(cfn.RequestUpdate, physical, props); r.Status != cfn.StatusSuccess || r.PhysicalResourceID != physical {
		t.Errorf("update: %+v", r)
	}
	// A failed update keeps the old physical id and reports the cause.
	e.graf.failPath = "/api/dashboards/db"
	if r := send(cfn.RequestUpdate, physical, props); r.Status != cfn.StatusFailed || r.PhysicalResourceID != physical || !strings.Contains(r.Reason, "status 500") {
		t.Errorf("failed update: %+v", r)
	}
	e.graf.failPath = ""

	if r := send(cfn.RequestDelete, physical, props); r.Status != cfn.StatusSuccess {
		t.Errorf("delete: %+v", r)
	}
	if len(e.graf.dashboards)+len(e.graf.folders)+len(e.graf.dataSources) != 0 {
		t.Error("delete left content behind")
	}

	// A Create without a workspace fails with a clear reason; its rollback
	// Delete (physical id = request id) touches nothing.
	calls := len(e.amg.calls)
	r = send(cfn.RequestCreate, "", map[string]any{PropPrometheusURL: testPromURL})
	if r.Status != cfn.StatusFailed || !strings.Contains(r.Reason, "WorkspaceId is required") || r.PhysicalResourceID != "req-Create" {
		t.Errorf("create without workspace: %+v", r)
	}
	if r := send(cfn.RequestDelete, "req-Create", map[string]any{PropPrometheusURL: testPromURL}); r.Status != cfn.StatusSuccess {
		t.Errorf("rollback delete: %+v", r)
	}
	if len(e.amg.calls) != calls {
		t.Errorf("failed create or its rollback called AWS: %v", e.amg.calls[calls:])
	}
}

func TestRemoveOfDeletedWorkspaceSucceeds(t *testing.T) {
	e := newEnv(t)
	e.amg.fail["DescribeWorkspace"] = &types.ResourceNotFoundException{Message: aws.String("gone")}
	if err := e.prov.Remove(context.Background(), e.spec); err != nil {
		t.Fatalf("remove: %v", err)
	}
}
