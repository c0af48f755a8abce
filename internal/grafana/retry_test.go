package grafana

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/grafana/types"
)

const dashboardsPath = "POST /api/dashboards/db"

// count returns how often the fake Grafana saw "METHOD path".
func (g *fakeGrafana) count(req string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, r := range g.requests {
		if r == req {
			n++
		}
	}
	return n
}

// TestSyncRetriesTransientFailures: 5xx, 429, a dropped connection, DNS
// errors and a workspace that is not ACTIVE yet are retried with capped
// exponential backoff, and the sync then completes.
func TestSyncRetriesTransientFailures(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(*env)
		request   string // the request that failed, "" for none
		wantTries int
		wantWaits []time.Duration // with jitter at its maximum
	}{
		{"503 twice on a dashboard save", func(e *env) { e.graf.answers[dashboardsPath] = []int{503, 503} },
			dashboardsPath, 2 + len(e0Dashboards(t)), []time.Duration{time.Second, 2 * time.Second}},
		{"429 on the folder", func(e *env) { e.graf.answers["GET /api/folders/cwstream"] = []int{429} },
			"GET /api/folders/cwstream", 2, []time.Duration{time.Second}},
		{"connection dropped on the data source", func(e *env) { e.graf.answers["GET /api/datasources/uid/cwstream-amp"] = []int{0, 502} },
			"GET /api/datasources/uid/cwstream-amp", 3, []time.Duration{time.Second, 2 * time.Second}},
		{"workspace still updating", func(e *env) {
			e.amg.statuses = []types.WorkspaceStatus{types.WorkspaceStatusCreating, types.WorkspaceStatusUpdating, types.WorkspaceStatusUpgrading}
		}, "", 0, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			c.setup(e)
			res, err := e.prov.Sync(context.Background(), e.spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Dashboards) != len(e.spec.Dashboards) {
				t.Errorf("saved %d dashboards, want %d", len(res.Dashboards), len(e.spec.Dashboards))
			}
			if c.request != "" {
				if got := e.graf.count(c.request); got != c.wantTries {
					t.Errorf("%s sent %d times, want %d", c.request, got, c.wantTries)
				}
			}
			if !slices.Equal(e.waits, c.wantWaits) {
				t.Errorf("waits %v, want %v", e.waits, c.wantWaits)
			}
		})
	}
}

func e0Dashboards(t *testing.T) []string {
	spec, err := NewSpec(testWorkspace, "eu-west-1", testPromURL)
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, d := range spec.Dashboards {
		uids = append(uids, d.UID)
	}
	return uids
}

// TestSyncRetriesDNSErrors: a workspace endpoint that does not resolve
// yet (a new workspace's DNS) is retried.
func TestSyncRetriesDNSErrors(t *testing.T) {
	e := newEnv(t)
	var dnsFailures atomic.Int32
	dnsFailures.Store(2)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dnsFailures.Add(-1) >= 0 {
			return nil, &net.DNSError{Err: "no such host", Name: "g-abc123.grafana-workspace.eu-west-1.amazonaws.com", IsNotFound: true}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	e.prov.http = &http.Client{Transport: tr}
	if _, err := e.prov.Sync(context.Background(), e.spec); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(e.waits, want) {
		t.Errorf("waits %v, want %v", e.waits, want)
	}
}

// TestSyncDoesNotRetryClientErrors: a 4xx other than 429 is the request's
// fault and fails at once.
func TestSyncDoesNotRetryClientErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 412, 422} {
		e := newEnv(t)
		e.graf.answers[dashboardsPath] = []int{status}
		_, err := e.prov.Sync(context.Background(), e.spec)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != status {
			t.Errorf("%d: error %v", status, err)
		}
		if n := e.graf.count(dashboardsPath); n != 1 || len(e.waits) != 0 {
			t.Errorf("%d: sent %d times, waited %v; want once, no wait", status, n, e.waits)
		}
	}
}

// TestRetryIsBounded: a failure that does not pass stops after the policy's
// attempts, its budget, or before a wait that would outlast the deadline,
// and the error says which.
func TestRetryIsBounded(t *testing.T) {
	cases := []struct {
		name      string
		policy    RetryPolicy
		deadline  time.Duration // 0: none
		wantWaits []time.Duration
		wantMsg   string
	}{
		{"attempts, backoff capped", DefaultRetryPolicy, 0,
			[]time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second, 15 * time.Second},
			"gave up after 8 attempts"},
		{"budget", RetryPolicy{Attempts: 8, Base: time.Second, Cap: 15 * time.Second, Budget: 5 * time.Second}, 0,
			[]time.Duration{time.Second, 2 * time.Second}, "retry budget is spent"},
		{"deadline", DefaultRetryPolicy, 6 * time.Second,
			[]time.Duration{time.Second, 2 * time.Second}, "deadline is nearer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.prov.retry = c.policy
			// The clock advances by exactly the waits.
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			e.prov.now = func() time.Time {
				var d time.Duration
				for _, w := range e.waits {
					d += w
				}
				return start.Add(d)
			}
			ctx := context.Background()
			if c.deadline > 0 {
				ctx = fakeDeadline{ctx, start.Add(c.deadline)}
			}
			e.graf.failPath = "/api/dashboards/db"
			_, err := e.prov.Sync(ctx, e.spec)
			if err == nil || !strings.Contains(err.Error(), c.wantMsg) || !strings.Contains(err.Error(), "status 500") {
				t.Fatalf("error %v, want %q", err, c.wantMsg)
			}
			if !slices.Equal(e.waits, c.wantWaits) {
				t.Errorf("waits %v, want %v", e.waits, c.wantWaits)
			}
			if n := e.graf.count(dashboardsPath); n != len(c.wantWaits)+1 {
				t.Errorf("%d tries, want %d", n, len(c.wantWaits)+1)
			}
			var total time.Duration
			for _, w := range e.waits {
				total += w
			}
			if total > c.policy.Budget {
				t.Errorf("waited %s in all, over the budget %s", total, c.policy.Budget)
			}
		})
	}
}

// fakeDeadline reports a deadline on the test's fake clock; it never ends
// by itself, so only the provisioner's arithmetic sees it.
type fakeDeadline struct {
	context.Context
	dl time.Time
}

func (f fakeDeadline) Deadline() (time.Time, bool) { return f.dl, true }

// TestDefaultRetryPolicyFitsTheCustomResource: the most a run can wait
// stays well inside the provisioning function's timeout (300 s, answered
// 10 s early), leaving time for the calls themselves.
func TestDefaultRetryPolicyFitsTheCustomResource(t *testing.T) {
	const functionTimeout = 300 * time.Second // infra/constructs.ProvisionerTimeoutSeconds
	p := DefaultRetryPolicy
	if p.Budget > (functionTimeout-deadlineMargin)/2 {
		t.Errorf("retry budget %s leaves less than half of the %s the handler has", p.Budget, functionTimeout-deadlineMargin)
	}
	if p.Cap > p.Budget/4 || p.Attempts < 3 {
		t.Errorf("policy %+v: a single wait may take a quarter of the budget, or too few tries", p)
	}
}

// TestFullJitter: waits are uniform in [0, max], never above.
func TestFullJitter(t *testing.T) {
	const max = 3 * time.Second
	var low, high bool
	for range 10000 {
		d := fullJitter(max)
		if d < 0 || d > max {
			t.Fatalf("jitter %s outside [0, %s]", d, max)
		}
		low = low || d < max/4
		high = high || d > 3*max/4
	}
	if !low || !high {
		t.Errorf("10000 draws never below %s or above %s", max/4, 3*max/4)
	}
}

// TestRemoveRetries: deleting survives a 502 as well.
func TestRemoveRetries(t *testing.T) {
	e := newEnv(t)
	if _, err := e.prov.Sync(context.Background(), e.spec); err != nil {
		t.Fatal(err)
	}
	e.graf.answers["DELETE /api/folders/cwstream"] = []int{502}
	if err := e.prov.Remove(context.Background(), e.spec); err != nil {
		t.Fatal(err)
	}
	if len(e.graf.folders) != 0 || len(e.waits) != 1 {
		t.Errorf("folders left %v, waits %v", e.graf.folders, e.waits)
	}
}
