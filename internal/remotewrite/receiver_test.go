package remotewrite

import (
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// received is one request as the fake receiver decoded it.
type received struct {
	n             int // 0-based arrival number
	header        http.Header
	host          string
	start, end    time.Time
	compressedLen int
	rawLen        int
	req           prompb.WriteRequest
}

// receiver is a remote-write receiver on 127.0.0.1 that decodes every body
// with snappy and prompb.WriteRequest.Unmarshal (the oracle for the
// hand-written encoder) and answers with respond, or 204.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []received
	count   int
	respond func(n int, w http.ResponseWriter, r *http.Request) bool // true: it answered
	delay   func(n int) time.Duration
}

func newReceiver(t testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request) bool) *receiver {
	rc := &receiver{t: t, respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/api/v1/write" }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rc.mu.Lock()
	n := rc.count
	rc.count++
	rc.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The client went away (a timeout test); nothing to record.
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		rc.t.Errorf("request %d: snappy decode: %v", n, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		rc.t.Errorf("request %d: prompb unmarshal: %v", n, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.delay != nil {
		time.Sleep(rc.delay(n))
	}
	rec := received{n: n, header: r.Header.Clone(), host: r.Host, start: start, compressedLen: len(body), rawLen: len(raw), req: wr}
	answered := rc.respond != nil && rc.respond(n, w, r)
	if !answered {
		w.WriteHeader(http.StatusNoContent)
	}
	rec.end = time.Now()
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := slices.Clone(rc.reqs)
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out
}

// testConfig is a fast config for a loopback receiver.
func testConfig(url string) Config {
	return Config{
		URL:            url,
		Concurrency:    1, // one shard: request counts are exact; sharding tests raise it
		RequestTimeout: 2 * time.Second,
		MinBackoff:     5 * time.Millisecond,
		MaxBackoff:     20 * time.Millisecond,
		MaxAttempts:    4,
	}.WithDefaults()
}

func newTestClient(t testing.TB, cfg Config, opts ...Option) (*Client, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, logs
}

// seriesKey renders wire labels as a map key.
func seriesKey(ls []prompb.Label) string {
	var b []byte
	for _, l := range ls {
		b = append(b, l.Name...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, l.Value)
		b = append(b, ',')
	}
	return string(b)
}

// inputKey renders an input sample's series the way the wire must show it:
// all labels plus __name__, sorted by name.
func inputKey(s sample.Sample) string {
	ls := []prompb.Label{{Name: "__name__", Value: s.Name}}
	for _, l := range s.Labels {
		ls = append(ls, prompb.Label{Name: l.Name, Value: l.Value})
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return seriesKey(ls)
}

type tv struct {
	t int64
	v uint64
}

// wireSamples collects, per series, the samples in arrival order.
func wireSamples(reqs []received) map[string][]tv {
	out := map[string][]tv{}
	for _, r := range reqs {
		for _, ts := range r.req.Timeseries {
			k := seriesKey(ts.Labels)
			for _, s := range ts.Samples {
				out[k] = append(out[k], tv{s.Timestamp, math.Float64bits(s.Value)})
			}
		}
	}
	return out
}

// datapoints builds n datapoint-shaped groups: 6 samples sharing one label
// slice of `labels` labels, over `series` distinct label sets. As
// internal/series builds them, the samples of one series share its label
// slice and carry its hash (sample.Sample.Hash).
func datapoints(groups, series, labels int) []sample.Sample {
	names := []string{"aws_ec2_cpuutilization_sum", "aws_ec2_cpuutilization_minimum", "aws_ec2_cpuutilization_maximum",
		"aws_ec2_cpuutilization_sample_count", "aws_ec2_cpuutilization_average", "aws_ec2_cpuutilization_p99"}
	out := make([]sample.Sample, 0, groups*len(names))
	shared := map[int][]sample.Label{}
	for g := range groups {
		ls, seen := shared[g%series]
		if seen {
			emit(&out, names, ls, g, series)
			continue
		}
		ls = make([]sample.Label, labels)
		for j := range ls {
			ls[j] = sample.Label{Name: "label_" + strconv.Itoa(j), Value: "value-" + strconv.Itoa(j)}
		}
		ls[0] = sample.Label{Name: "account_id", Value: "123456789012"}
		ls[len(ls)-1] = sample.Label{Name: "region", Value: "eu-west-1"}
		if labels > 2 {
			ls[1] = sample.Label{Name: "dimension_InstanceId", Value: "i-" + strconv.Itoa(g%series)}
		}
		slices.SortFunc(ls, func(a, b sample.Label) int {
			if a.Name < b.Name {
				return -1
			}
			if a.Name > b.Name {
				return 1
			}
			return 0
		})
		shared[g%series] = ls
		emit(&out, names, ls, g, series)
	}
	return out
}

// emit appends group g's samples, one per name.
func emit(out *[]sample.Sample, names []string, ls []sample.Label, g, series int) {
	t := int64(1_700_000_000_000 + (g/series)*60_000)
	for k, name := range names {
		*out = append(*out, sample.Sample{Name: name, Labels: ls, T: t, V: float64(g*10 + k), Hash: sample.SeriesHash(name, ls)})
	}
}
