package tags

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeTagging speaks the Resource Groups Tagging API's JSON protocol
// (awsJson1_1, X-Amz-Target ResourceGroupsTaggingAPI_20170126.GetResources)
// for GetResources: the region from the request's SigV4 scope, resource
// type filters as service:type prefixes, pages of at most pageSize.
type fakeTagging struct {
	mu        sync.Mutex
	resources []Resource
	pageSize  int
	status    int           // when not 0, every request fails with it
	hang      chan struct{} // when not nil, requests wait for it (or the client to give up)
	requests  atomic.Int64
	filters   [][]string // ResourceTypeFilters of every request
}

var scopeRE = regexp.MustCompile(`Credential=[^/]+/[0-9]+/([^/]+)/`)

func (f *fakeTagging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	status, hang, pageSize := f.status, f.hang, f.pageSize
	f.filters = append(f.filters, in.ResourceTypeFilters)
	var matching []Resource
	m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization"))
	for _, res := range f.resources {
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
			mp.Tags = append(mp.Tags, tag(t))
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

func (f *fakeTagging) set(fn func(f *fakeTagging)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// startFake serves f and returns an API talking to it with static
// credentials and no retries (a retry would only repeat the fake's answer).
func startFake(t testing.TB, f *fakeTagging) *API {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return NewAPI(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}
