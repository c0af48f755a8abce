package grafana

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	amg "github.com/aws/aws-sdk-go-v2/service/grafana"
	"github.com/aws/aws-sdk-go-v2/service/grafana/types"
)

// fakeAMG is the AMG control plane of one workspace: service accounts and
// their tokens, with optional failures per operation.
type fakeAMG struct {
	t         *testing.T
	mu        sync.Mutex
	workspace string
	endpoint  string
	accounts  map[string]string // id → name
	tokens    map[string]string // token id → key (live tokens)
	nextID    int
	calls     []string
	fail      map[string]error // operation → error to return
	// statuses are what the next DescribeWorkspace calls report, one each,
	// before ACTIVE.
	statuses []types.WorkspaceStatus
}

var _ WorkspaceAPI = (*fakeAMG)(nil)

func newFakeAMG(t *testing.T, workspace, endpoint string) *fakeAMG {
	return &fakeAMG{t: t, workspace: workspace, endpoint: endpoint,
		accounts: map[string]string{}, tokens: map[string]string{}, fail: map[string]error{}}
}

// enter records the call, checks the workspace id and returns an injected failure.
func (f *fakeAMG) enter(op string, ws *string) error {
	f.calls = append(f.calls, op)
	if aws.ToString(ws) != f.workspace {
		f.t.Errorf("%s: workspace %q, want %q", op, aws.ToString(ws), f.workspace)
		return &types.ResourceNotFoundException{Message: aws.String("no such workspace")}
	}
	return f.fail[op]
}

func (f *fakeAMG) liveKey(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.tokens {
		if k == key {
			return true
		}
	}
	return false
}

func (f *fakeAMG) DescribeWorkspace(_ context.Context, in *amg.DescribeWorkspaceInput, _ ...func(*amg.Options)) (*amg.DescribeWorkspaceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DescribeWorkspace", in.WorkspaceId); err != nil {
		return nil, err
	}
	status := types.WorkspaceStatusActive
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	return &amg.DescribeWorkspaceOutput{Workspace: &types.WorkspaceDescription{Id: in.WorkspaceId, Endpoint: aws.String(f.endpoint), Status: status}}, nil
}

func (f *fakeAMG) ListWorkspaceServiceAccounts(_ context.Context, in *amg.ListWorkspaceServiceAccountsInput, _ ...func(*amg.Options)) (*amg.ListWorkspaceServiceAccountsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListWorkspaceServiceAccounts", in.WorkspaceId); err != nil {
		return nil, err
	}
	// One account per page, so the provisioner must follow NextToken.
	ids := make([]string, 0, len(f.accounts))
	for id := range f.accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	out := &amg.ListWorkspaceServiceAccountsOutput{WorkspaceId: in.WorkspaceId}
	if start < len(ids) {
		id := ids[start]
		out.ServiceAccounts = []types.ServiceAccountSummary{{Id: aws.String(id), Name: aws.String(f.accounts[id]), GrafanaRole: types.RoleAdmin}}
		if start+1 < len(ids) {
			out.NextToken = aws.String(fmt.Sprint(start + 1))
		}
	}
	return out, nil
}

func (f *fakeAMG) CreateWorkspaceServiceAccount(_ context.Context, in *amg.CreateWorkspaceServiceAccountInput, _ ...func(*amg.Options)) (*amg.CreateWorkspaceServiceAccountOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateWorkspaceServiceAccount", in.WorkspaceId); err != nil {
		return nil, err
	}
	if in.GrafanaRole != types.RoleAdmin {
		f.t.Errorf("service account role %s: creating data sources needs ADMIN", in.GrafanaRole)
	}
	for _, name := range f.accounts {
		if name == aws.ToString(in.Name) {
			return nil, &types.ConflictException{Message: aws.String("service account exists")}
		}
	}
	f.nextID++
	id := fmt.Sprintf("sa-%d", f.nextID)
	f.accounts[id] = aws.ToString(in.Name)
	return &amg.CreateWorkspaceServiceAccountOutput{Id: aws.String(id), Name: in.Name, GrafanaRole: in.GrafanaRole, WorkspaceId: in.WorkspaceId}, nil
}

func (f *fakeAMG) DeleteWorkspaceServiceAccount(_ context.Context, in *amg.DeleteWorkspaceServiceAccountInput, _ ...func(*amg.Options)) (*amg.DeleteWorkspaceServiceAccountOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteWorkspaceServiceAccount", in.WorkspaceId); err != nil {
		return nil, err
	}
	if _, ok := f.accounts[aws.ToString(in.ServiceAccountId)]; !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no such service account")}
	}
	delete(f.accounts, aws.ToString(in.ServiceAccountId))
	return &amg.DeleteWorkspaceServiceAccountOutput{}, nil
}

func (f *fakeAMG) CreateWorkspaceServiceAccountToken(_ context.Context, in *amg.CreateWorkspaceServiceAccountTokenInput, _ ...func(*amg.Options)) (*amg.CreateWorkspaceServiceAccountTokenOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateWorkspaceServiceAccountToken", in.WorkspaceId); err != nil {
		return nil, err
	}
	if _, ok := f.accounts[aws.ToString(in.ServiceAccountId)]; !ok {
		f.t.Errorf("token for unknown service account %q", aws.ToString(in.ServiceAccountId))
	}
	if ttl := aws.ToInt32(in.SecondsToLive); ttl <= 0 || ttl > 3600 {
		f.t.Errorf("token secondsToLive %d: want a short-lived token (≤ 1 h)", ttl)
	}
	if aws.ToString(in.Name) == "" {
		f.t.Error("token without a name")
	}
	f.nextID++
	id := fmt.Sprint(f.nextID)
	key := fmt.Sprintf("glsa_secret_%d", f.nextID)
	f.tokens[id] = key
	return &amg.CreateWorkspaceServiceAccountTokenOutput{
		ServiceAccountId:    in.ServiceAccountId,
		WorkspaceId:         in.WorkspaceId,
		ServiceAccountToken: &types.ServiceAccountTokenSummaryWithKey{Id: aws.String(id), Key: aws.String(key), Name: in.Name},
	}, nil
}

func (f *fakeAMG) DeleteWorkspaceServiceAccountToken(_ context.Context, in *amg.DeleteWorkspaceServiceAccountTokenInput, _ ...func(*amg.Options)) (*amg.DeleteWorkspaceServiceAccountTokenOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteWorkspaceServiceAccountToken", in.WorkspaceId); err != nil {
		return nil, err
	}
	if _, ok := f.tokens[aws.ToString(in.TokenId)]; !ok {
		f.t.Errorf("delete of unknown token %q", aws.ToString(in.TokenId))
	}
	delete(f.tokens, aws.ToString(in.TokenId))
	return &amg.DeleteWorkspaceServiceAccountTokenOutput{}, nil
}

// fakeGrafana is the Grafana HTTP API of a workspace, in memory. It accepts
// only requests with a live token of amg, checks bodies, and fails the test
// on any request it does not know.
type fakeGrafana struct {
	t           *testing.T
	amg         *fakeAMG
	mu          sync.Mutex
	dataSources map[string]map[string]any // uid → model
	folders     map[string]folder
	dashboards  map[string]map[string]any // uid → save request
	requests    []string                  // "METHOD path"
	failPath    string                    // answer 500 to requests for this path
	// answers queue, per "METHOD path", statuses to answer (and consume)
	// before serving it; status 0 drops the connection unanswered.
	answers map[string][]int
}

func newFakeGrafana(t *testing.T) (*fakeGrafana, *httptest.Server) {
	g := &fakeGrafana{t: t, dataSources: map[string]map[string]any{}, folders: map[string]folder{}, dashboards: map[string]map[string]any{},
		answers: map[string][]int{}}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *fakeGrafana) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !g.amg.liveKey(key) {
		g.t.Errorf("%s %s: Authorization %q is not a live service account token", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path == g.failPath {
		http.Error(w, `{"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	if q := g.answers[r.Method+" "+r.URL.Path]; len(q) > 0 {
		g.answers[r.Method+" "+r.URL.Path] = q[1:]
		if q[0] == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				g.t.Fatal(err)
			}
			conn.Close()
			return
		}
		http.Error(w, `{"message":"injected"}`, q[0])
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			g.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			g.t.Errorf("%s %s: body is not a JSON object: %v", r.Method, r.URL.Path, err)
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
	}
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func() { reply(http.StatusNotFound, map[string]string{"message": "not found"}) }
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/api/datasources":
		g.checkDataSource(body)
		uid, _ := body["uid"].(string)
		if _, ok := g.dataSources[uid]; ok {
			reply(http.StatusConflict, map[string]string{"message": "data source with the same uid already exists"})
			return
		}
		g.dataSources[uid] = body
		reply(http.StatusOK, map[string]any{"message": "Datasource added", "id": 1})
	case strings.HasPrefix(path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(path, "/api/datasources/uid/")
		ds, ok := g.dataSources[uid]
		switch r.Method {
		case http.MethodGet:
			if !ok {
				notFound()
				return
			}
			reply(http.StatusOK, ds)
		case http.MethodPut:
			g.checkDataSource(body)
			if !ok || body["uid"] != uid {
				notFound()
				return
			}
			g.dataSources[uid] = body
			reply(http.StatusOK, map[string]any{"message": "Datasource updated"})
		case http.MethodDelete:
			if !ok {
				notFound()
				return
			}
			delete(g.dataSources, uid)
			reply(http.StatusOK, map[string]any{"message": "Data source deleted"})
		default:
			g.unexpected(w, r)
		}
	case r.Method == http.MethodPost && path == "/api/folders":
		uid, _ := body["uid"].(string)
		title, _ := body["title"].(string)
		if uid == "" || title == "" {
			g.t.Errorf("folder create without uid or title: %v", body)
		}
		g.folders[uid] = folder{UID: uid, Title: title, Version: 1}
		reply(http.StatusOK, g.folders[uid])
	case strings.HasPrefix(path, "/api/folders/"):
		uid := strings.TrimPrefix(path, "/api/folders/")
		f, ok := g.folders[uid]
		switch r.Method {
		case http.MethodGet:
			if !ok {
				notFound()
				return
			}
			reply(http.StatusOK, f)
		case http.MethodPut:
			if !ok || body["overwrite"] != true {
				g.t.Errorf("folder update of %q: exists %v, body %v", uid, ok, body)
			}
			f.Title, _ = body["title"].(string)
			f.Version++
			g.folders[uid] = f
			reply(http.StatusOK, f)
		case http.MethodDelete:
			if !ok {
				notFound()
				return
			}
			for d, req := range g.dashboards {
				if req["folderUid"] == uid {
					g.t.Errorf("folder %s deleted while it still holds dashboard %s", uid, d)
				}
			}
			delete(g.folders, uid)
			reply(http.StatusOK, map[string]any{"message": "Folder deleted"})
		default:
			g.unexpected(w, r)
		}
	case r.Method == http.MethodPost && path == "/api/dashboards/db":
		d, _ := body["dashboard"].(map[string]any)
		uid, _ := d["uid"].(string)
		folderUID, _ := body["folderUid"].(string)
		switch {
		case uid == "" || d["title"] == nil:
			g.t.Errorf("dashboard save without uid or title")
		case body["overwrite"] != true:
			g.t.Errorf("dashboard %s saved without overwrite: true", uid)
		case d["id"] != nil:
			g.t.Errorf("dashboard %s saved with an id: ids are per instance, upserts go by uid", uid)
		}
		if _, ok := g.folders[folderUID]; !ok {
			g.t.Errorf("dashboard %s saved into missing folder %q", uid, folderUID)
		}
		g.dashboards[uid] = body
		reply(http.StatusOK, map[string]any{"status": "success", "uid": uid, "version": 1})
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/api/dashboards/uid/"):
		uid := strings.TrimPrefix(path, "/api/dashboards/uid/")
		if _, ok := g.dashboards[uid]; !ok {
			notFound()
			return
		}
		delete(g.dashboards, uid)
		reply(http.StatusOK, map[string]any{"title": uid, "message": "Dashboard deleted"})
	default:
		g.unexpected(w, r)
	}
}

func (g *fakeGrafana) unexpected(w http.ResponseWriter, r *http.Request) {
	g.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
	http.Error(w, "unexpected", http.StatusBadRequest)
}

// checkDataSource requires an AMP data source signed with the workspace role.
func (g *fakeGrafana) checkDataSource(body map[string]any) {
	jd, _ := body["jsonData"].(map[string]any)
	want := map[string]any{"type": "prometheus", "access": "proxy"}
	for k, v := range want {
		if body[k] != v {
			g.t.Errorf("data source %s = %v, want %v", k, body[k], v)
		}
	}
	if u, _ := body["url"].(string); !strings.Contains(u, "/workspaces/ws-") {
		g.t.Errorf("data source url %q is not an AMP workspace URL", u)
	}
	if jd["sigV4Auth"] != true || jd["sigV4AuthType"] != SigV4AuthType || jd["sigV4Region"] == "" || jd["sigV4Region"] == nil {
		g.t.Errorf("data source jsonData %v: want SigV4 with the workspace role and a region", jd)
	}
}
