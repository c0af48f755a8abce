// Package promquery is cwstream's one client of the Prometheus HTTP API
// (Prometheus, or AMP through a signing client): instant queries (vector,
// matrix and scalar answers) and series look-ups, plus a human rendering of
// a result. The CLI uses it to show what a replay wrote; the test harness
// (internal/promtest) reads the store back through it.
package promquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
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

// APIError is an answer other than success from the API.
type APIError struct {
	Endpoint  string // e.g. /api/v1/query
	Status    int    // HTTP status
	ErrorType string // the API's errorType, e.g. bad_data; empty when the body was not the API's
	Message   string // the API's error text (or the start of the body)
}

func (e *APIError) Error() string {
	if e.ErrorType != "" {
		return fmt.Sprintf("prometheus %s: HTTP %d (%s): %s", e.Endpoint, e.Status, e.ErrorType, e.Message)
	}
	return fmt.Sprintf("prometheus %s: HTTP %d: %s", e.Endpoint, e.Status, e.Message)
}

// maxBody caps what is read of an answer, and maxErrorBody what an error
// quotes of it.
const (
	maxBody      = 64 << 20
	maxErrorBody = 4 << 10
)

// DefaultTimeout bounds one request of a Client made without an
// http.Client of its own.
const DefaultTimeout = 30 * time.Second

var errNoData = errors.New("no data in the answer")

// Client queries one API.
type Client struct {
	base string
	http *http.Client
}

// New returns a Client for the API at base (e.g. http://127.0.0.1:9090, or
// an AMP workspace URL ending in /workspaces/ws-…). A nil client means an
// http.Client with DefaultTimeout; one given should have a timeout too.
func New(base string, client *http.Client) *Client {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{base: strings.TrimSuffix(base, "/"), http: client}
}

// Query evaluates expr at time at. A vector answer gives one point per
// series; a matrix (a range selector) gives all its points; a scalar gives
// one series without labels. Series come sorted by their labels.
func (c *Client) Query(ctx context.Context, expr string, at time.Time) ([]Series, error) {
	return c.result(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {apiTime(at.UnixMilli())}})
}

// QueryRange evaluates expr over [start, end] every step, as a Grafana
// panel does; the answer is a matrix.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	return c.result(ctx, "/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {apiTime(start.UnixMilli())},
		"end":   {apiTime(end.UnixMilli())},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
}

// result runs a query endpoint and decodes its result, sorted.
func (c *Client) result(ctx context.Context, endpoint string, q url.Values) ([]Series, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := c.Get(ctx, endpoint, q, &data); err != nil {
		return nil, fmt.Errorf("query %q: %w", q.Get("query"), err)
	}
	out, err := decodeResult(data.ResultType, data.Result)
	if err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", q.Get("query"), endpoint, err)
	}
	return out, nil
}

// Series lists the label sets of the series matching the selector match
// that have samples in [start, end], sorted.
func (c *Client) Series(ctx context.Context, match string, start, end time.Time) ([]map[string]string, error) {
	q := url.Values{
		"match[]": {match},
		"start":   {apiTime(start.UnixMilli())},
		"end":     {apiTime(end.UnixMilli())},
	}
	var out []map[string]string
	if err := c.Get(ctx, "/api/v1/series", q, &out); err != nil {
		return nil, fmt.Errorf("series %q: %w", match, err)
	}
	slices.SortFunc(out, func(a, b map[string]string) int { return strings.Compare(labelKey(a), labelKey(b)) })
	return out, nil
}

func decodeResult(typ string, raw json.RawMessage) ([]Series, error) {
	var out []Series
	switch typ {
	case "matrix":
		var m []struct {
			Metric map[string]string `json:"metric"`
			Values []apiPoint        `json:"values"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
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
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decode vector: %w", err)
		}
		for _, r := range v {
			out = append(out, Series{Labels: r.Metric, Points: []Point{Point(r.Value)}})
		}
	case "scalar":
		var p apiPoint
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("decode scalar: %w", err)
		}
		out = append(out, Series{Labels: map[string]string{}, Points: []Point{Point(p)}})
	default:
		return nil, fmt.Errorf("result type %q is not a vector, matrix or scalar", typ)
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

// labelKey is a stable sort key for a label set: its pairs sorted by name.
func labelKey(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0xfe)
		b.WriteString(m[k])
		b.WriteByte(0xff)
	}
	return b.String()
}

// Get calls an API endpoint (e.g. /api/v1/rules) with the query q and
// decodes the data field of its answer {"status","data","errorType","error"}
// into data. Answers other than success are *APIError.
func (c *Client) Get(ctx context.Context, endpoint string, q url.Values, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
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

// Format writes a result one series a line, labels sorted, lines sorted:
// {a="x", b="y"} => 12.5 (a series with several points lists each value
// with its time in milliseconds: => 1 @1710238560000, 2 @1710238620000).
func Format(w io.Writer, res []Series) error {
	lines := make([]string, 0, len(res))
	for _, s := range res {
		keys := slices.Sorted(maps.Keys(s.Labels))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%q", k, s.Labels[k])
		}
		vals := make([]string, len(s.Points))
		for i, p := range s.Points {
			vals[i] = strconv.FormatFloat(p.V, 'g', -1, 64)
			if len(s.Points) > 1 {
				vals[i] += " @" + strconv.FormatInt(p.T, 10)
			}
		}
		lines = append(lines, fmt.Sprintf("{%s} => %s", strings.Join(parts, ", "), strings.Join(vals, ", ")))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		lines = append(lines, "(empty result)")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
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
