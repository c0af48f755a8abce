// Package tagstest holds what tests of the tag enrichment share: a server
// speaking the Resource Groups Tagging API's JSON protocol that can fail or
// hang on demand, the fixture payloads' resources with their tags, and
// moto_server seeded with them.
package tagstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Resource is one tagged resource the fake serves.
type Resource struct {
	ARN  string
	Tags [][2]string // key, value
}

// Fake speaks the Resource Groups Tagging API's JSON protocol
// (awsJson1_1, X-Amz-Target ResourceGroupsTaggingAPI_20170126.GetResources)
// for GetResources: the region from the request's SigV4 scope, resource
// type filters as service:type prefixes, pages of at most pageSize.
type Fake struct {
	mu        sync.Mutex
	Resources []Resource
	PageSize  int
	Status    int           // when not 0, every request fails with it
	Hang      chan struct{} // when not nil, requests wait for it (or the client to give up)
	requests  atomic.Int64
	filters   [][]string // ResourceTypeFilters of every request
}

// Requests is the number of requests served.
func (f *Fake) Requests() int64 { return f.requests.Load() }

// Filters returns the ResourceTypeFilters of every request so far.
func (f *Fake) Filters() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.filters)
}

var scopeRE = regexp.MustCompile(`Credential=[^/]+/[0-9]+/([^/]+)/`)

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if got := r.Header.Get("X-Amz-Target"); got != "ResourceGroupsTaggingAPI_20170126.GetResources" {
		http.Error(w, "unexpected target "+got, http.StatusBadRequest)
		return
	}
	var in struct {
		PaginationToken     string
		ResourcesPerPage    int
		ResourceTypeFilters []string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	status, hang, pageSize := f.Status, f.Hang, f.PageSize
	f.filters = append(f.filters, in.ResourceTypeFilters)
	var matching []Resource
	m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization"))
	for _, res := range f.Resources {
		if m != nil && strings.Split(res.ARN, ":")[3] == m[1] && matchesFilter(res.ARN, in.ResourceTypeFilters) {
			matching = append(matching, res)
		}
	}
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"__type":"InternalServiceException","message":"the fake is told to fail"}`))
		return
	}
	start, _ := strconv.Atoi(in.PaginationToken)
	n := min(in.ResourcesPerPage, pageSize)
	if n <= 0 {
		n = pageSize
	}
	end := min(start+n, len(matching))
	type tag struct{ Key, Value string }
	type mapping struct {
		ResourceARN string
		Tags        []tag
	}
	out := struct {
		PaginationToken        string
		ResourceTagMappingList []mapping
	}{}
	for _, res := range matching[start:end] {
		mp := mapping{ResourceARN: res.ARN, Tags: []tag{}}
		for _, t := range res.Tags {
			mp.Tags = append(mp.Tags, tag{t[0], t[1]})
		}
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, mp)
	}
	if end < len(matching) {
		out.PaginationToken = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// matchesFilter applies ResourceTypeFilters as the API documents them:
// "service" or "service:resourcetype".
func matchesFilter(arn string, filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	parts := strings.SplitN(arn, ":", 6)
	for _, f := range filters {
		svc, typ, _ := strings.Cut(f, ":")
		if svc != parts[2] {
			continue
		}
		if typ == "" || strings.HasPrefix(parts[5], typ+"/") || strings.HasPrefix(parts[5], typ+":") {
			return true
		}
	}
	return false
}

// Set changes f under its lock.
func (f *Fake) Set(fn func(f *Fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Start serves f until the test ends and returns an SDK configuration
// talking to it with static credentials and no retries (a retry would only
// repeat the fake's answer).
func Start(t testing.TB, f *Fake) aws.Config {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return ClientConfig(srv.URL)
}

// ClientConfig is the SDK configuration for a stand-in at url: static
// credentials, no retries, us-east-1.
func ClientConfig(url string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	}
}

// Account is the account of the fixture payloads.
const Account = "123456789012"

// FixtureResources are the tagged resources behind the fixture payloads,
// with ARNs as AWS writes them, plus resources the stream does not carry
// and ARNs that are not of a supported kind.
func FixtureResources() []Resource {
	team := func(v string, more ...[2]string) [][2]string { return append([][2]string{{"Team", v}}, more...) }
	rds := "arn:aws:rds:eu-west-1:" + Account + ":"
	elb := "arn:aws:elasticloadbalancing:us-east-1:" + Account + ":"
	ecs := "arn:aws:ecs:us-east-1:" + Account + ":"
	return []Resource{
		{rds + "db:orders-db-1", team("payments", [2]string{"Environment", "prod"}, [2]string{"aws:cloudformation:stack-name", "orders"})},
		{rds + "db:orders-db-2", team("payments")},
		{rds + "db:analytics-mysql", team("data", [2]string{"cost-center", "42"})},
		{rds + "db:orders-aurora-instance-1", team("payments")},
		{rds + "cluster:orders-aurora", team("payments")},
		{rds + "db:not-streamed", team("ghost")},
		{rds + "snapshot:orders-db-1-nightly", team("payments")},
		{elb + "loadbalancer/app/web/50dc6c495c0c9188", team("web")},
		{elb + "loadbalancer/app/internal-api/9c1b7a3e5d2f4b60", team("platform")},
		{elb + "loadbalancer/net/edge/1111111111111111", team("web")},
		{elb + "targetgroup/web-tg/73e2d6bc24d8a067", team("web")},
		{elb + "targetgroup/api-tg/1a2b3c4d5e6f7a8b", team("platform")},
		{elb + "targetgroup/web-canary-tg/0f1e2d3c4b5a6978", team("web")},
		{ecs + "cluster/prod-web", team("web")},
		{ecs + "cluster/batch-jobs", team("data")},
		{ecs + "service/prod-web/web-frontend", team("web")},
		{ecs + "service/prod-web/orders-api", team("payments")},
		{ecs + "service/prod-web/payments-worker", team("payments")},
		{ecs + "service/batch-jobs/ingest", team("data")},
		{ecs + "service/batch-jobs/transform", team("data")},
		{ecs + "service/batch-jobs/report-export", team("data")},
		{ecs + "service/legacy-short-arn", team("web")},
	}
}
