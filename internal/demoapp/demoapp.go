package demoapp

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHandler serves the demo paths, counted and timed, and /metrics with
// them and the Go runtime and process metrics, registered in reg.
func NewHandler(reg *prometheus.Registry) http.Handler {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests served, by path and status code.",
	}, []string{"path", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Time to serve a request, by path.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
	}, []string{"path"})
	reg.MustRegister(requests, duration)
	mux := http.NewServeMux()
	page := func(path string, serve func(w http.ResponseWriter) int) {
		pattern := path
		if path == "/" {
			pattern = "/{$}" // exactly /, not every path
		}
		mux.HandleFunc("GET "+pattern, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			code := serve(w)
			duration.WithLabelValues(path).Observe(time.Since(start).Seconds())
			requests.WithLabelValues(path, strconv.Itoa(code)).Inc()
		})
	}
	page("/", func(w http.ResponseWriter) int {
		fmt.Fprintln(w, "cwstream demo: metrics on /metrics")
		return http.StatusOK
	})
	page("/slow", func(w http.ResponseWriter) int {
		time.Sleep(time.Duration(50+rand.IntN(200)) * time.Millisecond)
		fmt.Fprintln(w, "slow")
		return http.StatusOK
	})
	page("/error", func(w http.ResponseWriter) int {
		http.Error(w, "demo error", http.StatusInternalServerError)
		return http.StatusInternalServerError
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// SelfTraffic requests a mix of the demo paths until ctx ends: mostly /,
// some /slow, a few /error.
func SelfTraffic(ctx context.Context, log *slog.Logger, base string, every time.Duration) {
	client := &http.Client{Timeout: 5 * time.Second}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		path := "/"
		switch n := rand.IntN(20); {
		case n == 0:
			path = "/error"
		case n < 4:
			path = "/slow"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			log.Error("self traffic", "err", err)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("self traffic", "path", path, "err", err)
			}
			continue
		}
		resp.Body.Close()
	}
}

// Loopback turns a listen address (":8080") into one to call.
func Loopback(listen string) string {
	if len(listen) > 0 && listen[0] == ':' {
		return "127.0.0.1" + listen
	}
	return listen
}
