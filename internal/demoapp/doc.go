// Package demoapp is the application of cwstream's ECS demo service
// (cmd/demoapp): an HTTP server whose requests are counted and timed in
// Prometheus metrics on /metrics, for the ADOT collector sidecar to scrape.
// The collector's end-to-end test (internal/adot) scrapes this same
// handler, so the series the dashboards are proven against are the ones
// the demo really exposes.
package demoapp
