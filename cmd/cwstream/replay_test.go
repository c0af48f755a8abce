package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/source"
	"github.com/cwstream/cwstream/internal/testutil"
)

// replay into a real Prometheus: every input form, then read back; a
// second replay changes nothing; bad input is named and exits 1.
func TestReplayIntoPrometheus(t *testing.T) {
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
	p := func(n string) string { return testutil.Testdata(t, "payloads", n) }
	args := []string{"replay", "--to", prom.WriteURL(),
		"--query", "count(aws_applicationelb_request_count_sum)",
		p("event.json.gz"), p("processing-failed.jsonl"), p("raw-multi.bin.gz")}
	code, out, errs := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{"replayed 3 sources", "0 failed", "count(aws_applicationelb_request_count_sum)  @ 2024-03-12T10:16:00Z", "{} => 5"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	from, to := time.Date(2024, 3, 12, 10, 0, 0, 0, time.UTC), time.Date(2024, 3, 12, 11, 0, 0, 0, time.UTC)
	dump, err := prom.Dump(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	// The event's records are the processing-failed lines' and the raw
	// object's too: the store holds exactly the event's golden samples.
	golden, err := os.ReadFile(testutil.Testdata(t, "golden", "event.prom"))
	if err != nil {
		t.Fatal(err)
	}
	storeHolds(t, prom, string(golden))

	// Replaying again is harmless.
	if code, out, errs := runCLI(t, "", args...); code != 0 {
		t.Fatalf("second replay: exit %d\n%s\n%s", code, out, errs)
	}
	if again, _ := prom.Dump(context.Background(), from, to); again != dump {
		t.Fatal("a second replay changed the store")
	}

	// Bad input: every bad record named, good ones written, exit 1.
	code, out, errs = runCLI(t, "", "replay", "--to", prom.WriteURL(), p("bad/mixed-event.json"))
	if code != 1 || !strings.Contains(out, "6 records (4 ok, 2 failed)") {
		t.Fatalf("exit %d, stdout %s", code, out)
	}
	for _, want := range []string{"FAILED", "mixed-event.json: record 1 (id ", "at line 14, byte 1065: ", "record 2 (id ", "at line 16, byte 1093: malformed: its data, byte 0: frame length 1567", "2 of 6 records could not be written"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// A store that cannot be reached: every record is named as failed and the
// exit status is 1.
func TestReplayUnreachable(t *testing.T) {
	code, out, errs := runCLI(t, "", "replay", "--to", "http://127.0.0.1:1/api/v1/write", "--concurrency", "1", "--max-attempts", "2",
		testutil.Testdata(t, "payloads", "single.bin"))
	if code != 1 || !strings.Contains(out, "1 failed") || !strings.Contains(errs, "single.bin: at byte 0: retries_exhausted") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	// The summary is in words: no Go map, no "(s)".
	if !strings.Contains(out, "replayed 1 source: 1 record (0 ok, 1 failed), ") || !strings.Contains(out, "; failed: 1 retries exhausted") ||
		strings.Contains(out, "map[") || strings.Contains(out, "(s)") {
		t.Errorf("summary: %s", out)
	}
}

func TestReplayUsage(t *testing.T) {
	if code, _, errs := runCLI(t, "", "replay", "--sigv4", "--no-sigv4", "x"); code != 2 || !strings.Contains(errs, "contradict") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// TestReplaySignedQuery: against AMP (SigV4) the --query that verifies a
// replay is signed for the aps service like the writes, at the workspace's
// query path.
func TestReplaySignedQuery(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	var queried atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/aps/aws4_request") {
			t.Errorf("%s %s: Authorization %q is not SigV4 for aps in eu-west-1", r.Method, r.URL.Path, auth)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/workspaces/ws-1/api/v1/remote_write":
			w.WriteHeader(http.StatusNoContent)
		case "/workspaces/ws-1/api/v1/query":
			queried.Store(true)
			if r.URL.Query().Get("query") != "count(up)" {
				t.Errorf("query %q", r.URL.Query().Get("query"))
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1710238560,"7"]}]}}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	code, out, errs := runCLI(t, "", "replay", "--sigv4", "--region", "eu-west-1", "--query", "count(up)",
		"--to", srv.URL+"/workspaces/ws-1/api/v1/remote_write", testutil.Testdata(t, "payloads", "single.bin"))
	if code != 0 || !queried.Load() || !strings.Contains(out, "{} => 7") {
		t.Fatalf("exit %d, queried %v\nstdout: %s\nstderr: %s", code, queried.Load(), out, errs)
	}
}

// A record the store refuses because it already holds newer samples of a
// series (no out-of-order window) is named with cause conflict, and replay
// says that replaying it again cannot help, instead of leaving it to
// cycle through S3.
func TestReplayConflict(t *testing.T) {
	prom := promtest.Start(t)
	// The store gets a newer sample of the record's first series.
	path, _ := newerFirstSample(t, prom, time.Hour)
	code, out, errs := runCLI(t, "", "replay", "--to", prom.WriteURL(), "--concurrency", "1", path)
	if code != 1 || !strings.Contains(out, "1 failed") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{"single.bin: at byte 0: conflict:", "out of order sample", "replaying this record again cannot write it", "replaying them again cannot help"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// A record with a sample older than the store accepts (older than its
// newest by more than its out-of-order window, of a series it has) fails
// with cause too_old: its other samples are written, and replay says the
// old one cannot be written and how old it is.
func TestReplayTooOld(t *testing.T) {
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(10*time.Minute))
	// The store gets a sample of the record's first series 50 minutes
	// newer: the record's sample of that series is then 40 minutes older
	// than the window allows; its other series are new and within the
	// head's hour.
	path, ss := newerFirstSample(t, prom, 50*time.Minute)
	code, out, errs := runCLI(t, "", "replay", "--to", prom.WriteURL(), "--concurrency", "1", path)
	if code != 1 || !strings.Contains(out, "1 failed") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{"single.bin: at byte 0: too_old:", "older than the store accepts", "the record's newer samples were written", "older than the store accepts and so never writable: 1 sample in 1 record"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	// Every other sample of the record is stored.
	got, err := prom.Series(context.Background(), `{__name__=~".+"}`, time.UnixMilli(ss[0].T-60_000), time.UnixMilli(ss[0].T+60_000))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(ss) - 1; len(got) < want {
		t.Errorf("%d series stored around the record's minute, want at least %d", len(got), want)
	}
}

// newerFirstSample writes into prom a sample of the first series of the
// single.bin fixture, d newer than the fixture's, and returns the
// fixture's path and samples.
func newerFirstSample(t *testing.T, prom *promtest.Server, d time.Duration) (string, []sample.Sample) {
	t.Helper()
	path := testutil.Testdata(t, "payloads", "single.bin")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ss, _, err := convert.New(config.Default()).Record(nil, data)
	if err != nil || len(ss) < 2 {
		t.Fatalf("fixture: %d samples, %v", len(ss), err)
	}
	s := ss[0]
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: s.Name}}, Samples: []prompb.Sample{{Timestamp: s.T + d.Milliseconds(), Value: 1}}}
	for _, l := range s.Labels {
		ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value})
	}
	slices.SortFunc(ts.Labels, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	if err := prom.Write(context.Background(), &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}); err != nil {
		t.Fatal(err)
	}
	return path, ss
}

// --timeout bounds a batch: a store that asks to come back later than that
// fails the records with cause deadline at once, rather than being waited
// for (Retry-After is honoured up to 24 h).
func TestReplayTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	code, out, errs := runCLI(t, "", "replay", "--to", srv.URL+"/api/v1/write", "--concurrency", "1", "--timeout", "5s",
		testutil.Testdata(t, "payloads", "single.bin"))
	if code != 1 || !strings.Contains(out, "1 failed") || !strings.Contains(errs, "single.bin: at byte 0: deadline:") || !strings.Contains(errs, "would pass the deadline") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d attempts, want 1: the retry wait was past the deadline", n)
	}
	if code, _, errs := runCLI(t, "", "replay", "--timeout", "0s", "x"); code != 2 || !strings.Contains(errs, "--timeout must be positive") {
		t.Errorf("--timeout 0s: exit %d: %s", code, errs)
	}
}

// A 404 or 405 from --to is a wrong path more often than a refusal: replay
// says which path Prometheus and AMP take writes at. Prometheus 2.42
// answers 404 at its base URL and 405 to a POST of its query API.
func TestReplayWrongPath(t *testing.T) {
	prom := promtest.Start(t)
	single := testutil.Testdata(t, "payloads", "single.bin")
	for _, tc := range []struct {
		path string
		code string
	}{{"/api/v1/remote_write", "HTTP 404"}, {"/api/v1/query_range/x", "HTTP 404"}, {"/api/v1/write/", "HTTP 40"}} {
		t.Run(tc.path, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "replay", "--to", prom.URL()+tc.path, "--max-attempts", "1", single)
			if code != 1 || !strings.Contains(out, "1 failed") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
			}
			for _, want := range []string{"--to answered " + tc.code, "Prometheus takes writes at /api/v1/write", "AMP at https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write"} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
		})
	}
}

// On a terminal replay shows a bar with a percentage when the sources'
// total size is known (a directory here; S3 listings too), moving as
// batches are written, so its rate is the replay's.
func TestReplayProgress(t *testing.T) {
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
	dir := t.TempDir()
	var total int
	for _, n := range []string{"alb.bin", "rds.bin", "ecs.bin"} {
		b, err := os.ReadFile(testutil.Testdata(t, "payloads", n))
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, isTerminal: true}
	if code := run(context.Background(), e, []string{"replay", "--to", prom.WriteURL(), dir}); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	bar := errb.String()
	t.Logf("progress output: %q", bar)
	if !strings.Contains(bar, "100%") {
		t.Errorf("no percentage in the progress bar: %q", bar)
	}
	if strings.Contains(bar, "GB/s") {
		t.Errorf("the bar claims GB/s: %q", bar)
	}
	if o, ok := (&source.Opener{}).Size(context.Background(), []string{dir}); !ok || o != int64(total) {
		t.Errorf("Size = %d, %v; want %d", o, ok, total)
	}
}
