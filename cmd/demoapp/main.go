// Command demoapp is the application of cwstream's ECS demo service: a tiny
// HTTP server that exposes Prometheus metrics on /metrics for the ADOT
// collector sidecar to scrape. It serves / (and /slow, /error) and, so
// that a fresh deployment's dashboards have data without a load balancer
// or a load generator, calls itself a few times a second.
//
//	demoapp [-listen :8080] [-self-traffic 250ms]
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cwstream/cwstream/internal/demoapp"
)

func main() {
	listen := flag.String("listen", ":8080", "address to serve on")
	every := flag.Duration("self-traffic", 250*time.Millisecond, "interval between requests the app sends itself (0: none)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *listen, *every); err != nil {
		log.Error("demoapp", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, listen string, every time.Duration) error {
	srv := &http.Server{Addr: listen, Handler: demoapp.NewHandler(prometheus.NewRegistry()), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "listen", listen)
	if every > 0 {
		go demoapp.SelfTraffic(ctx, log, "http://"+demoapp.Loopback(listen), every)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
