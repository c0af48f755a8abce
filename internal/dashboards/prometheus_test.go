package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/sample"
)

// This file runs a real Prometheus (Debian's 2.42 at /usr/bin/prometheus)
// for the tests: started on a free 127.0.0.1 port with a temporary data
// directory, stopped by the test's cleanup.

// lookTool finds a Prometheus binary. Missing is a skip on a developer
// machine and a failure in CI, where the proof must run.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (CI=true requires it; apt-get install prometheus): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return path
}

// promServer is a running Prometheus.
type promServer struct {
	url  string // http://127.0.0.1:port
	http *http.Client
}

// startPrometheus starts Prometheus with ruleFile loaded, rules evaluated
// every second, and the remote-write receiver enabled.
func startPrometheus(t *testing.T, ruleFile []byte) *promServer {
	t.Helper()
	bin := lookTool(t, "prometheus")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), ruleFile, 0o600); err != nil {
		t.Fatal(err)
	}
	// The out-of-order window lets the loader send fixtures whose series
	// are not globally time-ordered.
	config := "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nstorage:\n  tsdb:\n    out_of_order_time_window: 1d\n"
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	p := &promServer{url: "http://" + addr, http: &http.Client{Timeout: 10 * time.Second}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := p.http.Get(p.url + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// loadSamples is the one place data enters Prometheus: a remote write, the
// protocol AMP receives in production. Timestamps are shifted so the newest
// sample is now-30s: Prometheus evaluates the recording rules at wall-clock
// time, and only recent data gives them something to record.
func loadSamples(t *testing.T, p *promServer, samples []sample.Sample) time.Time {
	t.Helper()
	if len(samples) == 0 {
		t.Fatal("loadSamples: no samples")
	}
	newest := samples[0].T
	for _, s := range samples {
		newest = max(newest, s.T)
	}
	end := time.Now().Add(-30 * time.Second)
	shift := end.UnixMilli() - newest

	// One timeseries per distinct label set, samples in time order.
	byKey := map[string]*prompb.TimeSeries{}
	var keys []string
	for _, s := range samples {
		labels := make([]prompb.Label, 0, len(s.Labels)+1)
		labels = append(labels, prompb.Label{Name: "__name__", Value: s.Name})
		for _, l := range s.Labels {
			labels = append(labels, prompb.Label{Name: l.Name, Value: l.Value})
		}
		key := fmt.Sprint(labels)
		ts, ok := byKey[key]
		if !ok {
			ts = &prompb.TimeSeries{Labels: labels}
			byKey[key] = ts
			keys = append(keys, key)
		}
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: s.T + shift, Value: s.V})
	}
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, len(keys))}
	for _, k := range keys {
		ts := byKey[k]
		slices.SortFunc(ts.Samples, func(a, b prompb.Sample) int { return int(a.Timestamp - b.Timestamp) })
		req.Timeseries = append(req.Timeseries, *ts)
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	httpReq, err := http.NewRequest(http.MethodPost, p.url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	httpReq.Header.Set("Content-Encoding", "snappy")
	httpReq.Header.Set("Content-Type", "application/x-protobuf")
	httpReq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := p.http.Do(httpReq)
	if err != nil {
		t.Fatalf("remote write: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("remote write: %s: %s", resp.Status, body)
	}
	return end
}

// apiResult is the part of a /api/v1/query(_range) answer the tests read.
type apiResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// get calls a Prometheus API path and decodes the answer; a query error
// (bad PromQL) comes back as an error naming Prometheus' message.
func (p *promServer) get(ctx context.Context, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %s: %.200s", path, resp.Status, body)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %.500s", path, resp.Status, body)
	}
	return nil
}

// queryRange runs expr over [end-30m, end] at a one-minute step, as a
// dashboard panel does, and returns the number of series.
func (p *promServer) queryRange(ctx context.Context, expr string, end time.Time) (int, error) {
	var r apiResult
	err := p.get(ctx, "/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {unix(end.Add(-30 * time.Minute))},
		"end":   {unix(end)},
		"step":  {"60"},
	}, &r)
	if err != nil {
		return 0, err
	}
	return len(r.Data.Result), nil
}

// query runs expr as an instant query at t and returns the number of series.
func (p *promServer) query(ctx context.Context, expr string, t time.Time) (int, error) {
	var r apiResult
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {unix(t)}}, &r); err != nil {
		return 0, err
	}
	return len(r.Data.Result), nil
}

// labelValues returns the values of label on the series matching selector
// in [end-30m, end], as Grafana's label_values() does.
func (p *promServer) labelValues(ctx context.Context, label, selector string, end time.Time) ([]string, error) {
	var r struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	err := p.get(ctx, "/api/v1/label/"+label+"/values", url.Values{
		"match[]": {selector},
		"start":   {unix(end.Add(-30 * time.Minute))},
		"end":     {unix(end)},
	}, &r)
	return r.Data, err
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}
