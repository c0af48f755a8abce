package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/tags/tagstest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// receiver is a remote-write receiver on 127.0.0.1 that keeps every sample
// line and Authorization header it was sent.
type receiver struct {
	mu    sync.Mutex
	lines map[string]bool
	auth  []string
}

func startReceiver(t *testing.T) (*receiver, string) {
	rc := &receiver{lines: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		var wr prompb.WriteRequest
		if err == nil {
			err = wr.Unmarshal(raw)
		}
		if err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
		for _, ts := range wr.Timeseries {
			var s sample.Sample
			for _, l := range ts.Labels {
				if l.Name == "__name__" {
					s.Name = l.Value
				} else {
					s.Labels = append(s.Labels, sample.Label{Name: l.Name, Value: l.Value})
				}
			}
			for _, p := range ts.Samples {
				s.T, s.V = p.Timestamp, p.Value
				rc.lines[string(sample.AppendText(nil, s))] = true
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/api/v1/write"
}

// captureOutput points os.Stdout and os.Stderr at files until the test
// ends: setup hands them to the handler (EMF) and the logger.
func captureOutput(t *testing.T) (stdout, stderr func() string) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	out, errf := open("stdout"), open("stderr")
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, errf
	t.Cleanup(func() { os.Stdout, os.Stderr = oldOut, oldErr })
	read := func(f *os.File) func() string {
		return func() string {
			b, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	return read(out), read(errf)
}

// clearEnv unsets every setting, so the machine's environment cannot leak in.
func clearEnv(t *testing.T) {
	for _, k := range []string{"CWSTREAM_REMOTE_WRITE_URL", "CWSTREAM_CONFIG", "CWSTREAM_SIGV4", "CWSTREAM_REGION",
		"CWSTREAM_MAX_SAMPLES_PER_REQUEST", "CWSTREAM_MAX_BYTES_PER_REQUEST", "CWSTREAM_CONCURRENCY", "CWSTREAM_REQUEST_TIMEOUT",
		"CWSTREAM_LOG_LEVEL", "CWSTREAM_METRICS_NAMESPACE", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "CWSTREAM_CONFIG_YAML",
		"CWSTREAM_MAX_ATTEMPTS", "CWSTREAM_MAX_LABELS_PER_SERIES", "CWSTREAM_MAX_LABEL_NAME_LENGTH", "CWSTREAM_MAX_LABEL_VALUE_LENGTH"} {
		t.Setenv(k, "")
	}
	t.Setenv("LAMBDA_TASK_ROOT", t.TempDir()) // no bundled cwstream.yaml there
}

// wantLines converts every record of a Firehose event with cfg.
func wantLines(t *testing.T, event []byte, cfg *config.Config) (map[string]bool, []string) {
	var ev events.KinesisFirehoseEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	var ids []string
	for _, r := range ev.Records {
		ids = append(ids, r.RecordID)
		ss, _, err := convert.New(cfg).Record(nil, r.Data)
		if err != nil {
			t.Fatalf("record %s: %v", r.RecordID, err)
		}
		for _, s := range ss {
			want[string(sample.AppendText(nil, s))] = true
		}
	}
	return want, ids
}

// The cold start as the Lambda runs it, from environment variables, then
// one invocation with the event fixture through the configured relabelling.
func TestSetupAndInvoke(t *testing.T) {
	clearEnv(t)
	rc, url := startReceiver(t)
	cfgPath := testutil.Testdata(t, "config", "relabel.yaml")
	t.Setenv("CWSTREAM_REMOTE_WRITE_URL", url)
	t.Setenv("CWSTREAM_CONFIG", cfgPath)
	t.Setenv("CWSTREAM_SIGV4", "false")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "cwstream-ingest-test")
	stdout, stderr := captureOutput(t)

	h, log, err := setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if log == nil || h == nil {
		t.Fatal("setup returned no handler or logger")
	}
	event, err := os.ReadFile(testutil.Testdata(t, "payloads", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	var r events.KinesisFirehoseResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	want, ids := wantLines(t, event, cfg)
	if len(r.Records) != len(ids) {
		t.Fatalf("%d answers for %d records", len(r.Records), len(ids))
	}
	for i, a := range r.Records {
		if a.RecordID != ids[i] || a.Result != events.KinesisFirehoseTransformedStateDropped {
			t.Errorf("answer %d: %s %s, want %s Dropped", i, a.RecordID, a.Result, ids[i])
		}
	}
	rc.mu.Lock()
	got := rc.lines
	auth := rc.auth
	rc.mu.Unlock()
	for l := range want {
		if !got[l] {
			t.Errorf("not received: %s", l)
		}
	}
	for l := range got {
		if !want[l] {
			t.Errorf("received but not expected: %s", l)
		}
	}
	// The configuration applied: its external label and statistics.
	for l := range got {
		if !strings.Contains(l, `env="test"`) || strings.Contains(l, "_maximum{") {
			t.Errorf("sample ignores relabel.yaml: %s", l)
			break
		}
	}
	if len(auth) == 0 || auth[0] != "" {
		t.Errorf("CWSTREAM_SIGV4=false, yet requests were signed: %q", auth)
	}
	// EMF on stdout, JSON logs on stderr, both naming the function.
	if out := stdout(); !strings.Contains(out, `"Namespace":"CWStream"`) || !strings.Contains(out, `"FunctionName":"cwstream-ingest-test"`) {
		t.Errorf("stdout has no EMF document: %q", out)
	}
	if errs := stderr(); !strings.Contains(errs, `"msg":"configured"`) || !strings.Contains(errs, `"msg":"invocation"`) || !strings.Contains(errs, `"function":"cwstream-ingest-test"`) {
		t.Errorf("stderr lacks the JSON log lines: %q", errs)
	}
}

// With SigV4 on, the credentials come from the default chain (here the
// environment) and every request is signed for "aps" in the region given.
func TestSetupSigV4(t *testing.T) {
	clearEnv(t)
	rc, url := startReceiver(t)
	t.Setenv("CWSTREAM_REMOTE_WRITE_URL", url)
	t.Setenv("CWSTREAM_SIGV4", "true")
	t.Setenv("CWSTREAM_REGION", "eu-west-1")
	testutil.StaticAWSCredentials(t)
	captureOutput(t)

	h, _, err := setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	single, err := os.ReadFile(testutil.Testdata(t, "payloads", "single.bin"))
	if err != nil {
		t.Fatal(err)
	}
	event := `{"records":[{"recordId":"r0","approximateArrivalTimestamp":1710238620000,"data":"` + base64.StdEncoding.EncodeToString(single) + `"}]}`
	resp, err := h.Invoke(context.Background(), []byte(event))
	if err != nil || !strings.Contains(string(resp), `"Dropped"`) {
		t.Fatalf("response %s, error %v", resp, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.auth) == 0 || !strings.HasPrefix(rc.auth[0], "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(rc.auth[0], "/eu-west-1/aps/aws4_request") {
		t.Errorf("Authorization %q", rc.auth)
	}
}

// With tags enabled, the cold start builds the enrichment on the default
// chain's credentials and AWS_ENDPOINT_URL, and the invocation writes the
// info series of the records' resources beside their samples.
func TestSetupTags(t *testing.T) {
	clearEnv(t)
	rc, url := startReceiver(t)
	fake := &tagstest.Fake{Resources: tagstest.FixtureResources(), PageSize: 100}
	t.Setenv("AWS_ENDPOINT_URL", aws.ToString(tagstest.Start(t, fake).BaseEndpoint))
	t.Setenv("CWSTREAM_REMOTE_WRITE_URL", url)
	t.Setenv("CWSTREAM_SIGV4", "false")
	t.Setenv("CWSTREAM_CONFIG_YAML", "tags: {enabled: true}")
	t.Setenv("AWS_REGION", "us-east-1")
	testutil.StaticAWSCredentials(t)
	captureOutput(t)

	h, _, err := setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rds, err := os.ReadFile(testutil.Testdata(t, "payloads", "rds.bin"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Invoke(context.Background(), testutil.FirehoseEvent([][]byte{rds}, nil))
	if err != nil || !strings.Contains(string(resp), `"Dropped"`) {
		t.Fatalf("response %s, error %v", resp, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	info := 0
	for l := range rc.lines {
		if strings.HasPrefix(l, "aws_rds_info{") {
			info++
			if !strings.Contains(l, `tag_Team="`) {
				t.Errorf("info series without its tag: %s", l)
			}
		}
	}
	if info != 5 || fake.Requests() == 0 {
		t.Errorf("%d aws_rds_info series received (want the fixture's 4 instances and 1 cluster), %d tagging requests", info, fake.Requests())
	}
}

func TestSetupErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string // what the error must name
	}{
		{"no URL", map[string]string{}, []string{"CWSTREAM_REMOTE_WRITE_URL"}},
		{"bad number", map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "http://127.0.0.1:1/w", "CWSTREAM_CONCURRENCY": "lots"}, []string{`CWSTREAM_CONCURRENCY="lots"`}},
		{"bad level", map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "http://127.0.0.1:1/w", "CWSTREAM_LOG_LEVEL": "chatty"}, []string{`CWSTREAM_LOG_LEVEL="chatty"`}},
		{"missing config file", map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "http://127.0.0.1:1/w", "CWSTREAM_CONFIG": "/nonexistent/cwstream.yaml"}, []string{"/nonexistent/cwstream.yaml"}},
		{"invalid config file", map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "http://127.0.0.1:1/w", "CWSTREAM_CONFIG": "INVALID"}, []string{"unknown-statistic.yaml"}},
		{"invalid inline config", map[string]string{"CWSTREAM_REMOTE_WRITE_URL": "http://127.0.0.1:1/w", "CWSTREAM_CONFIG_YAML": "statistics: [mean]"}, []string{"CWSTREAM_CONFIG_YAML", `"mean"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				if v == "INVALID" {
					v = testutil.Testdata(t, "config", "invalid", "unknown-statistic.yaml")
				}
				t.Setenv(k, v)
			}
			captureOutput(t)
			h, _, err := setup(context.Background())
			if err == nil || h != nil {
				t.Fatalf("setup: handler %v, error %v", h, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q: %v", w, err)
				}
			}
		})
	}
}

// A bad setting at cold start is reported to the Runtime API's init error
// endpoint, message and type, as Lambda documents it.
func TestReportInitError(t *testing.T) {
	var got struct {
		method, path, errType string
		body                  map[string]string
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.errType = r.Method, r.URL.Path, r.Header.Get("Lambda-Runtime-Function-Error-Type")
		if err := json.NewDecoder(r.Body).Decode(&got.body); err != nil {
			t.Errorf("body: %v", err)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer api.Close()
	clearEnv(t)
	_, _, err := setup(context.Background())
	if err == nil {
		t.Fatal("setup without CWSTREAM_REMOTE_WRITE_URL succeeded")
	}
	if err := reportInitError(strings.TrimPrefix(api.URL, "http://"), err); err != nil {
		t.Fatal(err)
	}
	if got.method != http.MethodPost || got.path != "/2018-06-01/runtime/init/error" || got.errType == "" ||
		got.body["errorType"] != got.errType || !strings.Contains(got.body["errorMessage"], "CWSTREAM_REMOTE_WRITE_URL") {
		t.Errorf("the Runtime API got %+v", got)
	}

	// An endpoint that does not accept it is an error of its own.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer refuse.Close()
	if err := reportInitError(strings.TrimPrefix(refuse.URL, "http://"), err); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a 403 gave %v", err)
	}
}
