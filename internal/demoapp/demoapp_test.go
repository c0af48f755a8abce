package demoapp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestHandlerCountsRequests serves a mix of paths and reads them back from
// /metrics, parsed as Prometheus parses a scrape.
func TestHandlerCountsRequests(t *testing.T) {
	srv := httptest.NewServer(NewHandler(prometheus.NewRegistry()))
	defer srv.Close()
	for path, n := range map[string]int{"/": 3, "/error": 2, "/missing": 1} {
		for range n {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	got := map[string]float64{}
	for _, m := range families["http_requests_total"].GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			key += l.GetName() + "=" + l.GetValue() + " "
		}
		got[strings.TrimSpace(key)] = m.GetCounter().GetValue()
	}
	want := map[string]float64{"code=200 path=/": 3, "code=500 path=/error": 2}
	if len(got) != len(want) {
		t.Errorf("http_requests_total %v, want %v (unknown paths are not counted)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("http_requests_total{%s} = %v, want %v", k, got[k], v)
		}
	}
	if h := families["http_request_duration_seconds"]; h == nil || len(h.GetMetric()) != 2 {
		t.Errorf("http_request_duration_seconds: %v", h)
	}
	if families["process_cpu_seconds_total"] == nil && families["go_goroutines"] == nil {
		t.Error("no Go runtime or process metrics")
	}
}

func TestLoopback(t *testing.T) {
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "127.0.0.1:9000": "127.0.0.1:9000"} {
		if got := Loopback(in); got != want {
			t.Errorf("Loopback(%q) = %q, want %q", in, got, want)
		}
	}
}
