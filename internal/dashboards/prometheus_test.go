package dashboards

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/sample"
)

// This file holds what the proof needs from a real Prometheus beyond
// package promtest, which starts it and writes to it: range queries as
// Grafana runs them and the rules API.

// loadSamples is the one place data enters Prometheus: a remote write, the
// protocol AMP receives in production. Timestamps are shifted so the newest
// sample is now-30s: Prometheus evaluates the recording rules at wall-clock
// time, and only recent data gives them something to record. It returns the
// time of the newest sample.
func loadSamples(ctx context.Context, t *testing.T, p *promtest.Server, samples []sample.Sample) time.Time {
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
	if err := p.Write(ctx, req); err != nil {
		t.Fatalf("remote write of %d series: %v", len(req.Timeseries), err)
	}
	return end
}

// queryRange runs expr over [end-30m, end] at a one-minute step, as a
// dashboard panel does, and returns the number of series.
func queryRange(ctx context.Context, p *promtest.Server, expr string, end time.Time) (int, error) {
	res, err := p.API().QueryRange(ctx, expr, end.Add(-30*time.Minute), end, time.Minute)
	return len(res), err
}

// labelValues returns the values of label on the series matching selector
// in [end-30m, end], as Grafana's label_values() does.
func labelValues(ctx context.Context, p *promtest.Server, label, selector string, end time.Time) ([]string, error) {
	series, err := p.Series(ctx, selector, end.Add(-30*time.Minute), end)
	if err != nil {
		return nil, err
	}
	var values []string
	for _, s := range series {
		if v := s[label]; v != "" && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	return values, nil
}
