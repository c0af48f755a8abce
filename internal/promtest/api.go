package promtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/promquery"
	"github.com/cwstream/cwstream/internal/sample"
)

// maxErrorBody caps how much of an error answer is kept.
const maxErrorBody = 4 << 10

// Write sends req to the remote-write receiver as a remote-write 1.0 client
// does (protobuf, snappy). An answer other than 2xx is a *promquery.APIError.
func (s *Server) Write(ctx context.Context, req *prompb.WriteRequest) error {
	raw, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("promtest write: marshal: %w", err)
	}
	return s.WriteRaw(ctx, snappy.Encode(nil, raw))
}

// WriteRaw posts an already snappy-compressed WriteRequest.
func (s *Server) WriteRaw(ctx context.Context, body []byte) error {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WriteURL(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("promtest write: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	hreq.Header.Set("User-Agent", "cwstream-promtest")
	resp, err := s.http.Do(hreq)
	if err != nil {
		return fmt.Errorf("promtest write: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return &promquery.APIError{Endpoint: "/api/v1/write", Status: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	return nil
}

// API is the server's HTTP API client.
func (s *Server) API() *promquery.Client { return s.api }

// Series lists the label sets of the series matching the selector match that
// have samples in [start, end], sorted.
func (s *Server) Series(ctx context.Context, match string, start, end time.Time) ([]map[string]string, error) {
	return s.api.Series(ctx, match, start, end)
}

// Samples returns every raw sample in [start, end] (both inclusive, to the
// millisecond) of the series matching the vector selector match, e.g.
// `{__name__=~".+"}` or `aws_alb_request_count_sum{region="eu-west-1"}`.
//
// It evaluates the range selector match[<end-start>ms] at end, which yields
// the stored samples themselves: no lookback, no step, no interpolation.
// Staleness markers are not returned (PromQL leaves them out of ranges).
// The whole answer is one query, bounded by --query.max-samples (MaxSamples).
func (s *Server) Samples(ctx context.Context, match string, start, end time.Time) ([]promquery.Series, error) {
	from, to := start.UnixMilli(), end.UnixMilli()
	if to < from {
		return nil, fmt.Errorf("promtest samples: end %v before start %v", end, start)
	}
	// A zero range is not valid PromQL; one millisecond more is filtered
	// out below.
	rng := max(to-from, 1)
	out, err := s.api.Query(ctx, fmt.Sprintf("%s[%dms]", match, rng), time.UnixMilli(to))
	if err != nil {
		return nil, fmt.Errorf("promtest samples: %w", err)
	}
	kept := out[:0]
	for _, ser := range out {
		ser.Points = slices.DeleteFunc(ser.Points, func(p promquery.Point) bool { return p.T < from || p.T > to })
		if len(ser.Points) > 0 {
			kept = append(kept, ser)
		}
	}
	return kept, nil
}

// Query evaluates an instant query at time at (see promquery.Client.Query).
// Instant vector selectors look back up to --query.lookback-delta (5m)
// before at, as in any instant query.
func (s *Server) Query(ctx context.Context, expr string, at time.Time) ([]promquery.Series, error) {
	return s.api.Query(ctx, expr, at)
}

// Dump renders every sample in [start, end] as text lines
// `name{label="value",...} value timestamp_ms` (labels sorted, values and
// escaping as the text exposition format writes them, see sample.AppendText),
// ordered by series then time. Each line ends in a newline.
func (s *Server) Dump(ctx context.Context, start, end time.Time) (string, error) {
	all, err := s.Samples(ctx, `{__name__=~".+"}`, start, end)
	if err != nil {
		return "", fmt.Errorf("promtest dump: %w", err)
	}
	type keyed struct {
		key    string // the line up to the value
		series promquery.Series
	}
	rows := make([]keyed, 0, len(all))
	for _, ser := range all {
		smp := toSample(ser.Labels)
		rows = append(rows, keyed{key: string(sample.AppendText(nil, smp)), series: ser})
	}
	slices.SortFunc(rows, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	var b []byte
	for _, r := range rows {
		smp := toSample(r.series.Labels)
		for _, p := range r.series.Points {
			smp.T, smp.V = p.T, p.V
			b = sample.AppendText(b, smp)
			b = append(b, '\n')
		}
	}
	return string(b), nil
}

// toSample turns an API label map into a sample with sorted labels.
func toSample(m map[string]string) sample.Sample {
	var smp sample.Sample
	for k, v := range m {
		if k == "__name__" {
			smp.Name = v
			continue
		}
		smp.Labels = append(smp.Labels, sample.Label{Name: k, Value: v})
	}
	slices.SortFunc(smp.Labels, func(a, b sample.Label) int { return strings.Compare(a.Name, b.Name) })
	return smp
}
