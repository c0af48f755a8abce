// Package promquery runs an instant PromQL query against a Prometheus-
// compatible HTTP API (Prometheus, or AMP through a signing client) and
// formats the result for people. The CLI uses it to show what a replay
// wrote.
package promquery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sample is one element of an instant vector.
type Sample struct {
	Labels map[string]string
	T      time.Time
	V      float64
}

// maxBody caps what is read of an answer.
const maxBody = 16 << 20

// Query evaluates expr at t against the API whose base URL is base (e.g.
// http://127.0.0.1:9090, or an AMP workspace URL ending in /workspaces/ws-…).
// Only vector and scalar results are supported.
func Query(ctx context.Context, client *http.Client, base, expr string, t time.Time) ([]Sample, error) {
	u := strings.TrimSuffix(base, "/") + "/api/v1/query?" + url.Values{
		"query": {expr},
		"time":  {strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("query %q: reading the answer: %w", expr, err)
	}
	var ans struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d, not a Prometheus API answer: %.200s", expr, resp.StatusCode, body)
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("query %q: HTTP %d: %s: %s", expr, resp.StatusCode, ans.ErrorType, ans.Error)
	}
	switch ans.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string  `json:"metric"`
			Value  [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(ans.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: vector: %w", expr, err)
		}
		out := make([]Sample, 0, len(vec))
		for _, e := range vec {
			s, err := point(e.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", expr, err)
			}
			s.Labels = e.Metric
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		var v [2]json.RawMessage
		if err := json.Unmarshal(ans.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %q: scalar: %w", expr, err)
		}
		s, err := point(v)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		return []Sample{s}, nil
	default:
		return nil, fmt.Errorf("query %q: result type %q is not supported (use an instant vector)", expr, ans.Data.ResultType)
	}
}

// point reads [<unix seconds>, "<value>"].
func point(v [2]json.RawMessage) (Sample, error) {
	var ts float64
	var vs string
	if err := json.Unmarshal(v[0], &ts); err != nil {
		return Sample{}, fmt.Errorf("timestamp %s: %w", v[0], err)
	}
	if err := json.Unmarshal(v[1], &vs); err != nil {
		return Sample{}, fmt.Errorf("value %s: %w", v[1], err)
	}
	f, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("value %q: %w", vs, err)
	}
	return Sample{T: time.UnixMilli(int64(ts * 1000)).UTC(), V: f}, nil
}

// Format writes samples one a line, labels sorted, most significant first:
// {a="x", b="y"} => 12.5
func Format(w io.Writer, samples []Sample) error {
	lines := make([]string, 0, len(samples))
	for _, s := range samples {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%q", k, s.Labels[k])
		}
		lines = append(lines, fmt.Sprintf("{%s} => %s", strings.Join(parts, ", "), strconv.FormatFloat(s.V, 'g', -1, 64)))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		lines = append(lines, "(empty result)")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
