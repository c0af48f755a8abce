package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/sample"
)

// Point is one sample: T in milliseconds since the Unix epoch.
type Point struct {
	T int64
	V float64
}

// Series is one series with its points in time order. Labels include
// __name__.
type Series struct {
	Labels map[string]string
	Points []Point
}

// APIError is an answer other than success from Prometheus.
type APIError struct {
	Endpoint  string // e.g. /api/v1/query
	Status    int    // HTTP status
	ErrorType string // Prometheus's errorType, e.g. bad_data; empty for remote write
	Message   string // Prometheus's error text (or the start of the body)
}

func (e *APIError) Error() string {
	if e.ErrorType != "" {
		return fmt.Sprintf("prometheus %s: HTTP %d (%s): %s", e.Endpoint, e.Status, e.ErrorType, e.Message)
	}
	return fmt.Sprintf("prometheus %s: HTTP %d: %s", e.Endpoint, e.Status, e.Message)
}

// maxErrorBody caps how much of an error answer is kept.
const maxErrorBody = 4 << 10

// Write sends req to the remote-write receiver as a remote-write 1.0 client
// does (protobuf, snappy). An answer other than 2xx is an *APIError.
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
		return &APIError{Endpoint: "/api/v1/write", Status: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	return nil
}

// Series lists the label sets of the series matching the selector match that
// have samples in [start, end], sorted.
func (s *Server) Series(ctx context.Context, match string, start, end time.Time) ([]map[string]string, error) {
	form := url.Values{
		"match[]": {match},
		"start":   {apiTime(start.UnixMilli())},
		"end":     {apiTime(end.UnixMilli())},
	}
	var out []map[string]string
	if err := s.api(ctx, "/api/v1/series", form, &out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b map[string]string) int { return strings.Compare(labelKey(a), labelKey(b)) })
	return out, nil
}

// Samples returns every raw sample in [start, end] (both inclusive, to the
// millisecond) of the series matching the vector selector match, e.g.
// `{__name__=~".+"}` or `aws_alb_request_count_sum{region="eu-west-1"}`.
//
// It evaluates the range selector match[<end-start>ms] at end, which yields
// the stored samples themselves: no lookback, no step, no interpolation.
// Staleness markers are not returned (PromQL leaves them out of ranges).
// The whole answer is one query, bounded by --query.max-samples (MaxSamples).
func (s *Server) Samples(ctx context.Context, match string, start, end time.Time) ([]Series, error) {
	from, to := start.UnixMilli(), end.UnixMilli()
	if to < from {
		return nil, fmt.Errorf("promtest samples: end %v before start %v", end, start)
	}
	// A zero range is not valid PromQL; one millisecond more is filtered
	// out below.
	rng := max(to-from, 1)
	out, err := s.query(ctx, fmt.Sprintf("%s[%dms]", match, rng), to)
	if err != nil {
		return nil, fmt.Errorf("promtest samples: %w", err)
	}
	kept := out[:0]
	for _, ser := range out {
		ser.Points = slices.DeleteFunc(ser.Points, func(p Point) bool { return p.T < from || p.T > to })
		if len(ser.Points) > 0 {
			kept = append(kept, ser)
		}
	}
	return kept, nil
}

// Query evaluates an instant query at time at. A vector answer gives one
// point per series; a matrix (a range selector) gives all its points; a
// scalar gives one series without labels. Instant vector selectors look back
// up to --query.lookback-delta (5m) before at, as in any instant query.
func (s *Server) Query(ctx context.Context, expr string, at time.Time) ([]Series, error) {
	out, err := s.query(ctx, expr, at.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("promtest query: %w", err)
	}
	return out, nil
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
		series Series
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

// labelKey is a stable sort key for a label set.
func labelKey(m map[string]string) string {
	smp := toSample(m)
	return string(sample.AppendText(nil, smp))
}

// query runs /api/v1/query at the millisecond at.
func (s *Server) query(ctx context.Context, expr string, at int64) ([]Series, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	form := url.Values{"query": {expr}, "time": {apiTime(at)}}
	if err := s.api(ctx, "/api/v1/query", form, &data); err != nil {
		return nil, err
	}
	var out []Series
	switch data.ResultType {
	case "matrix":
		var m []struct {
			Metric map[string]string `json:"metric"`
			Values []apiPoint        `json:"values"`
		}
		if err := json.Unmarshal(data.Result, &m); err != nil {
			return nil, fmt.Errorf("decode matrix: %w", err)
		}
		for _, r := range m {
			ser := Series{Labels: r.Metric, Points: make([]Point, len(r.Values))}
			for i, v := range r.Values {
				ser.Points[i] = Point(v)
			}
			out = append(out, ser)
		}
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  apiPoint          `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, fmt.Errorf("decode vector: %w", err)
		}
		for _, r := range v {
			out = append(out, Series{Labels: r.Metric, Points: []Point{Point(r.Value)}})
		}
	case "scalar":
		var p apiPoint
		if err := json.Unmarshal(data.Result, &p); err != nil {
			return nil, fmt.Errorf("decode scalar: %w", err)
		}
		out = append(out, Series{Labels: map[string]string{}, Points: []Point{Point(p)}})
	default:
		return nil, fmt.Errorf("result type %q is not a vector, matrix or scalar", data.ResultType)
	}
	for i := range out {
		slices.SortFunc(out[i].Points, func(a, b Point) int { return cmpInt(a.T, b.T) })
	}
	slices.SortFunc(out, func(a, b Series) int { return strings.Compare(labelKey(a.Labels), labelKey(b.Labels)) })
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// api posts form to an HTTP API endpoint and decodes the data field of the
// envelope {"status","data","errorType","error"} into data.
func (s *Server) api(ctx context.Context, endpoint string, form url.Values, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", endpoint, err)
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Status != "success" || resp.StatusCode != http.StatusOK {
		e := &APIError{Endpoint: endpoint, Status: resp.StatusCode, ErrorType: env.ErrorType, Message: env.Error}
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(body[:min(len(body), maxErrorBody)]))
		}
		return e
	}
	if len(env.Data) == 0 {
		return fmt.Errorf("%s: %w", endpoint, errNoData)
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		return fmt.Errorf("%s: decode data: %w", endpoint, err)
	}
	return nil
}

// apiTime formats milliseconds as the API's seconds with a fraction.
func apiTime(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// apiPoint decodes the API's [seconds, "value"] pair.
type apiPoint Point

func (p *apiPoint) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("sample pair %s: %w", b, err)
	}
	t, err := parseMillis(string(pair[0]))
	if err != nil {
		return fmt.Errorf("sample pair %s: %w", b, err)
	}
	var vs string
	if err := json.Unmarshal(pair[1], &vs); err != nil {
		return fmt.Errorf("sample pair %s: value: %w", b, err)
	}
	// ParseFloat reads the API's "NaN", "+Inf" and "-Inf" as well.
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return fmt.Errorf("sample pair %s: value: %w", b, err)
	}
	p.T, p.V = t, v
	return nil
}

// parseMillis reads the API's timestamp (seconds, up to three decimals)
// exactly: through float64 a 13-digit millisecond value can come out one
// off.
func parseMillis(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(digits, ".")
	if whole == "" || len(frac) > 3 || strings.ContainsAny(digits, "eE+-") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("timestamp %q: %w", s, err)
		}
		return int64(math.Round(f * 1000)), nil
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q: %w", s, err)
	}
	var ms int64
	if frac != "" {
		ms, err = strconv.ParseInt((frac + "00")[:3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("timestamp %q: %w", s, err)
		}
	}
	t := sec*1000 + ms
	if neg {
		t = -t
	}
	return t, nil
}
