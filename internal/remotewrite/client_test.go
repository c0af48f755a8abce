package remotewrite

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/sample"
)

func someSamples(n int) []sample.Sample {
	ls := []sample.Label{{Name: "instance", Value: "a"}, {Name: "job", Value: "j"}}
	out := make([]sample.Sample, n)
	for i := range out {
		out[i] = sample.Sample{Name: "m_" + strconv.Itoa(i%3), Labels: ls, T: int64(1000 + i), V: float64(i)}
	}
	return out
}

// sampleFailure is one failed input sample.
type sampleFailure struct {
	Index int
	Err   error
}

// perSample lists the report's failures sample by sample, by index, and
// checks that no sample is in two.
func perSample(t testing.TB, rep Report) []sampleFailure {
	t.Helper()
	var out []sampleFailure
	for _, f := range rep.Failed {
		if len(f.Ranges) == 0 {
			t.Fatalf("a failure without samples: %v", f.Err)
		}
		for k, r := range f.Ranges {
			if r.Lo >= r.Hi || (k > 0 && f.Ranges[k-1].Hi >= r.Lo) {
				t.Fatalf("ranges %v are not ascending and apart", f.Ranges)
			}
			for i := r.Lo; i < r.Hi; i++ {
				out = append(out, sampleFailure{i, f.Err})
			}
		}
	}
	slices.SortFunc(out, func(a, b sampleFailure) int { return a.Index - b.Index })
	for i := 1; i < len(out); i++ {
		if out[i].Index == out[i-1].Index {
			t.Fatalf("sample %d failed twice", out[i].Index)
		}
	}
	n := 0
	for i := range rep.Failed {
		n += rep.Failed[i].Samples()
	}
	if n != len(out) {
		t.Fatalf("Samples() sum to %d, ranges hold %d", n, len(out))
	}
	return out
}

// allFailedWith checks that every input sample failed and that each cause
// matches.
func allFailedWith(t *testing.T, rep Report, n int, match func(error) bool) {
	t.Helper()
	failed := perSample(t, rep)
	if len(failed) != n {
		t.Fatalf("Failed has %d samples, want %d", len(failed), n)
	}
	for i, f := range failed {
		if f.Index != i {
			t.Fatalf("Failed[%d].Index = %d, want %d (sorted, every sample)", i, f.Index, i)
		}
		if !match(f.Err) {
			t.Fatalf("Failed[%d].Err = %v: wrong cause", i, f.Err)
		}
	}
	if rep.SamplesWritten != 0 {
		t.Fatalf("SamplesWritten = %d, want 0", rep.SamplesWritten)
	}
}

func TestWriteStatus(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		wantAttempts int // with MaxAttempts 4
		wantOK       bool
		wantRejected bool
	}{
		{"200 ok", 200, 1, true, false},
		{"204 no content", 204, 1, true, false},
		{"400 bad request", 400, 1, false, true},
		{"401 unauthorized", 401, 1, false, true},
		{"403 forbidden", 403, 1, false, true},
		{"404 not found", 404, 1, false, true},
		{"413 too large", 413, 1, false, true},
		{"500 internal", 500, 4, false, false},
		{"502 bad gateway", 502, 4, false, false},
		{"503 unavailable", 503, 4, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte("status body " + strconv.Itoa(tt.status)))
				return true
			})
			cfg := testConfig(rc.url())
			c, logs := newTestClient(t, cfg)
			in := someSamples(10)
			rep := c.Write(context.Background(), in)
			got := rc.received()
			if len(got) != tt.wantAttempts {
				t.Fatalf("server saw %d attempts, want %d", len(got), tt.wantAttempts)
			}
			if rep.Requests != 1 || rep.Retries != tt.wantAttempts-1 {
				t.Errorf("Requests, Retries = %d, %d; want 1, %d", rep.Requests, rep.Retries, tt.wantAttempts-1)
			}
			var sent int64
			for _, r := range got {
				sent += int64(r.compressedLen)
			}
			if rep.BytesSent != sent {
				t.Errorf("BytesSent = %d, server received %d", rep.BytesSent, sent)
			}
			switch {
			case tt.wantOK:
				if len(rep.Failed) != 0 || rep.SamplesWritten != 10 || rep.SeriesWritten != 3 {
					t.Fatalf("report = %+v, want all 10 samples / 3 series written", rep)
				}
			case tt.wantRejected:
				allFailedWith(t, rep, 10, func(err error) bool {
					var rj *RejectedError
					return errors.As(err, &rj) && rj.StatusCode == tt.status && rj.Body == "status body "+strconv.Itoa(tt.status)
				})
				if !strings.Contains(logs.String(), "status body "+strconv.Itoa(tt.status)) {
					t.Errorf("rejection body not logged; logs:\n%s", logs)
				}
			default:
				allFailedWith(t, rep, 10, func(err error) bool {
					var re *RetriesExhaustedError
					var se *StatusError
					return errors.As(err, &re) && re.Attempts == 4 && errors.As(err, &se) && se.StatusCode == tt.status
				})
				// Backoff: attempts are spaced by at least half the current backoff.
				for i := 1; i < len(got); i++ {
					if gap := got[i].start.Sub(got[i-1].end); gap < cfg.MinBackoff/2 {
						t.Errorf("attempt %d came %v after the previous answer, want >= %v", i+1, gap, cfg.MinBackoff/2)
					}
				}
			}
			for _, r := range got {
				for k, want := range map[string]string{
					"Content-Encoding":                  "snappy",
					"Content-Type":                      "application/x-protobuf",
					"X-Prometheus-Remote-Write-Version": "0.1.0",
					"User-Agent":                        cfg.UserAgent,
				} {
					if g := r.header.Get(k); g != want {
						t.Errorf("header %s = %q, want %q", k, g, want)
					}
				}
				if r.header.Get("Authorization") != "" {
					t.Errorf("unsigned client sent Authorization %q", r.header.Get("Authorization"))
				}
			}
		})
	}
}

func TestWriteRetriesThenSucceeds(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n < 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	c, _ := newTestClient(t, testConfig(rc.url()))
	rep := c.Write(context.Background(), someSamples(5))
	if len(rep.Failed) != 0 || rep.SamplesWritten != 5 || rep.Requests != 1 || rep.Retries != 2 {
		t.Fatalf("report = %+v, want 5 written after 1 request + 2 retries", rep)
	}
	if rep.Latency <= 0 {
		t.Fatalf("Latency = %v", rep.Latency)
	}
}

// Concurrent Writes on one client share its pools, not their data.
func TestConcurrentWrites(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := testConfig(rc.url())
	cfg.Concurrency = 3
	cfg.MaxSamplesPerRequest = 50
	c, _ := newTestClient(t, cfg)
	const writers = 4
	in := make([][]sample.Sample, writers)
	for w := range in {
		in[w] = datapoints(60, 20, 5)
		for i := range in[w] {
			in[w][i].Name += "_w" + strconv.Itoa(w)
		}
	}
	reps := make([]Report, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { reps[w] = c.Write(context.Background(), in[w]) })
	}
	wg.Wait()
	var total int
	for w, rep := range reps {
		if len(rep.Failed) != 0 || rep.SamplesWritten != len(in[w]) {
			t.Fatalf("writer %d: report %+v", w, rep)
		}
		total += len(in[w])
	}
	var onWire int
	for _, tvs := range wireSamples(rc.received()) {
		onWire += len(tvs)
	}
	if onWire != total {
		t.Fatalf("%d samples on the wire, want %d", onWire, total)
	}
}

// The wait before a retry is what Retry-After asks for, in either form,
// when that is longer than the backoff. The transport's wait is replaced to
// record the waits it chose, so nothing here depends on how long a real
// sleep takes.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 0 {
					w.Header().Set("Retry-After", tt.value)
					http.Error(w, "ingestion rate limit exceeded", http.StatusTooManyRequests)
					return true
				}
				return false
			})
			c, _ := newTestClient(t, testConfig(rc.url()), WithClock(func() time.Time { return now }))
			var waits []time.Duration
			c.tr.wait = func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}
			rep := c.Write(context.Background(), someSamples(3))
			if got := rc.received(); len(got) != 2 || len(rep.Failed) != 0 || rep.Retries != 1 {
				t.Fatalf("attempts = %d, report = %+v; want 2 attempts and success", len(got), rep)
			}
			if len(waits) != 1 || waits[0] != tt.want {
				t.Fatalf("waits before the retry = %v, want [%v] as Retry-After %q asks", waits, tt.want, tt.value)
			}
		})
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &transport{now: func() time.Time { return now }}
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999999", 24 * time.Hour},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := c.retryAfter(tt.in); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// The first attempt hangs until the client's RequestTimeout cuts it, then
// the retry succeeds. The HTTP client sees the first attempt's context end
// on a deadline no sooner than the RequestTimeout after Write began (Write's
// own context has none), and the receiver sees that request abandoned before
// it answers the retry.
func TestTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	cut := make(chan struct{}) // closed when the first request is abandoned
	var retryAfterCut atomic.Bool
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			select { // hang past the client's RequestTimeout
			case <-r.Context().Done():
				close(cut)
			case <-release:
			}
			return true
		}
		// The server may notice the first connection closed only after the
		// retry arrived: wait for it, unless the client gives up on this
		// one too.
		select {
		case <-cut:
			retryAfterCut.Store(true)
		case <-r.Context().Done():
		}
		return false
	})
	cfg := testConfig(rc.url())
	cfg.RequestTimeout = 150 * time.Millisecond
	var first struct {
		seen     bool
		deadline time.Time
		err      error
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if !first.seen { // one shard: attempts are sequential
			first.seen = true
			first.deadline, _ = r.Context().Deadline()
			first.err = r.Context().Err()
		}
		return resp, err
	})}
	c, _ := newTestClient(t, cfg, WithHTTPClient(hc))
	began := time.Now()
	rep := c.Write(context.Background(), someSamples(4))
	if len(rep.Failed) != 0 || rep.Retries != 1 || rep.SamplesWritten != 4 {
		t.Fatalf("report = %+v, want success after one retry", rep)
	}
	if !retryAfterCut.Load() {
		t.Fatal("the retry was answered without the first request having been abandoned by the client")
	}
	if !errors.Is(first.err, context.DeadlineExceeded) || first.deadline.Before(began.Add(cfg.RequestTimeout)) {
		t.Fatalf("the first attempt's context ended with %v at deadline %v; want it cut by a deadline no sooner than the RequestTimeout (%v) after Write began (%v)", first.err, first.deadline, cfg.RequestTimeout, began)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestConnectionResetIsRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return true
			}
			_ = conn.Close()
			return true
		}
		return false
	})
	c, _ := newTestClient(t, testConfig(rc.url()))
	rep := c.Write(context.Background(), someSamples(4))
	if len(rep.Failed) != 0 || rep.Retries != 1 || rep.SamplesWritten != 4 {
		t.Fatalf("report = %+v, want success after one retry", rep)
	}
}

func TestConnectionResetEveryTime(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
		return true
	})
	c, _ := newTestClient(t, testConfig(rc.url()))
	rep := c.Write(context.Background(), someSamples(4))
	allFailedWith(t, rep, 4, func(err error) bool {
		var re *RetriesExhaustedError
		var se *StatusError
		return errors.As(err, &re) && re.Attempts == 4 && !errors.As(err, &se)
	})
}

func TestOversizedErrorBodyIsCapped(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(big))
		return true
	})
	c, logs := newTestClient(t, testConfig(rc.url()))
	rep := c.Write(context.Background(), someSamples(2))
	allFailedWith(t, rep, 2, func(err error) bool {
		var rj *RejectedError
		return errors.As(err, &rj) && len(rj.Body) == errorBodyLimit
	})
	if n := logs.Len(); n > 4*errorBodyLimit+2048 {
		t.Fatalf("logs are %d bytes for a 1 MiB error body; the body must be capped", n)
	}
}

// The backoff after a 503 would end past the deadline: Write gives up at
// once instead of sleeping towards it. The deadline is generous, so only a
// client that waits can miss it; the backoff is longer still.
func TestDeadlineStopsBeforeLongBackoff(t *testing.T) {
	var attempts atomic.Int32
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		attempts.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	})
	const timeout = 30 * time.Second
	cfg := testConfig(rc.url())
	cfg.MinBackoff, cfg.MaxBackoff = 4*timeout, 4*timeout // half of it at least, with jitter
	c, _ := newTestClient(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rep := c.Write(ctx, someSamples(3))
	if err := ctx.Err(); err != nil {
		t.Fatalf("Write returned only after its context's deadline (%v): it slept towards a wait that passes the deadline instead of giving up at once", err)
	}
	if attempts.Load() != 1 {
		t.Fatalf("server saw %d attempts, want 1", attempts.Load())
	}
	allFailedWith(t, rep, 3, func(err error) bool {
		var de *DeadlineError
		var se *StatusError
		return errors.Is(err, context.DeadlineExceeded) && errors.As(err, &de) && de.Wait > timeout && errors.As(de.Last, &se)
	})
}

// The Write's deadline passes while the receiver hangs: the request is
// abandoned because of the context, not the much longer RequestTimeout.
// outer, which ends when the RequestTimeout of the attempt could first end
// it, must still be live when Write returns.
func TestDeadlineDuringHangingRequest(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	abandoned := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
			close(abandoned)
		case <-release:
		}
		return true
	})
	cfg := testConfig(rc.url())
	cfg.RequestTimeout = time.Minute
	c, _ := newTestClient(t, cfg)
	outer, cancelOuter := context.WithTimeout(context.Background(), cfg.RequestTimeout)
	defer cancelOuter()
	ctx, cancel := context.WithTimeout(outer, 200*time.Millisecond)
	defer cancel()
	rep := c.Write(ctx, someSamples(3))
	if err := outer.Err(); err != nil {
		t.Fatalf("Write returned only when the RequestTimeout could have cut the request (%v), not at its context's deadline", err)
	}
	select {
	case <-abandoned:
	case <-outer.Done():
		t.Fatal("the receiver never saw the hanging request abandoned")
	}
	allFailedWith(t, rep, 3, func(err error) bool {
		var de *DeadlineError
		return errors.Is(err, context.DeadlineExceeded) && errors.As(err, &de) && de.Attempts == 1
	})
}

func TestCanceledContextSendsNothing(t *testing.T) {
	rc := newReceiver(t, nil)
	c, _ := newTestClient(t, testConfig(rc.url()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := c.Write(ctx, someSamples(3))
	if n := len(rc.received()); n != 0 {
		t.Fatalf("server saw %d requests after cancel", n)
	}
	allFailedWith(t, rep, 3, func(err error) bool {
		var de *DeadlineError
		return errors.Is(err, context.Canceled) && errors.As(err, &de) && de.Attempts == 0
	})
}

// After a request fails for good, the shard's later requests are not sent.
// A request that fails for good holds back the later samples of its own
// series (ordering rule) and nothing else: other series of the same shard
// are still sent.
func TestFailedRequestHoldsBackOnlyItsSeries(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			http.Error(w, "bad sample", http.StatusBadRequest)
			return true
		}
		return false
	})
	cfg := testConfig(rc.url())
	cfg.Concurrency = 1
	cfg.MaxSamplesPerRequest = 3
	c, _ := newTestClient(t, cfg)
	// Series a, b, c with 4 samples each, cut 3 a request:
	// [a a a] [a b b] [b b c] [c c c]; the second request fails.
	var in []sample.Sample
	for _, name := range []string{"a", "b", "c"} {
		for i := range 4 {
			in = append(in, sample.Sample{Name: name, T: int64(1000 + i), V: float64(i)})
		}
	}
	rep := c.Write(context.Background(), in)
	got := rc.received()
	if len(got) != 4 {
		t.Fatalf("server saw %d requests, want 4", len(got))
	}
	if ts := got[2].req.Timeseries; len(ts) != 1 || ts[0].Labels[0].Value != "c" {
		t.Fatalf("third request = %+v, want only series c (b held back)", ts)
	}
	failed := perSample(t, rep)
	if rep.SamplesWritten != 7 || len(failed) != 5 || rep.Requests != 4 || rep.SeriesWritten != 1 {
		t.Fatalf("report = %+v; want 7 written, 5 failed, 4 requests, 1 series written", rep)
	}
	var rejected, notSent int
	for _, f := range failed {
		var rj *RejectedError
		var ns *NotSentError
		var re *RequestError
		if !errors.As(f.Err, &re) {
			t.Fatalf("failure %v is not a *RequestError", f.Err)
		}
		switch {
		case errors.As(f.Err, &ns):
			notSent++
			if in[f.Index].Name != "b" {
				t.Fatalf("sample %d of %s held back", f.Index, in[f.Index].Name)
			}
			if errors.As(f.Err, &rj) {
				t.Fatalf("NotSentError must not unwrap to the earlier RejectedError: %v", f.Err)
			}
			if !strings.Contains(f.Err.Error(), "shard 0 request 3/4") || !strings.Contains(f.Err.Error(), "request 2/4") {
				t.Fatalf("error does not say where: %v", f.Err)
			}
		case errors.As(f.Err, &rj):
			rejected++
			if !strings.Contains(f.Err.Error(), "shard 0 request 2/4") {
				t.Fatalf("error does not say where: %v", f.Err)
			}
		default:
			t.Fatalf("unexpected cause %v", f.Err)
		}
	}
	if rejected != 3 || notSent != 2 {
		t.Fatalf("rejected, not sent = %d, %d; want 3, 2", rejected, notSent)
	}
}

func TestWriteEmpty(t *testing.T) {
	rc := newReceiver(t, nil)
	c, _ := newTestClient(t, testConfig(rc.url()))
	rep := c.Write(context.Background(), nil)
	if rep.Requests != 0 || len(rc.received()) != 0 || len(rep.Failed) != 0 {
		t.Fatalf("empty Write sent something: %+v", rep)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	if _, err := New(Config{URL: "http://127.0.0.1:1/x"}); err == nil || !strings.Contains(err.Error(), "MaxSamplesPerRequest") {
		t.Fatalf("New without defaults = %v, want an error naming the field", err)
	}
}

type panickingTransport struct{}

func (panickingTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

// A panic while sending fails the shard's samples instead of ending the
// process (in Lambda it would lose the whole invocation's answer).
func TestPanicWhileSendingFailsSamples(t *testing.T) {
	cfg := Config{URL: "http://127.0.0.1:1/api/v1/write", Concurrency: 2}.WithDefaults()
	c, err := New(cfg, WithHTTPClient(&http.Client{Transport: panickingTransport{}}))
	if err != nil {
		t.Fatal(err)
	}
	samples := []sample.Sample{
		{Name: "a", T: 1, V: 1}, {Name: "b", T: 1, V: 2}, {Name: "c", T: 1, V: 3},
	}
	rep := c.Write(context.Background(), samples)
	failed := perSample(t, rep)
	if len(failed) != len(samples) || rep.SamplesWritten != 0 {
		t.Fatalf("report %+v: want every sample failed", rep)
	}
	for _, f := range failed {
		var pe *PanicError
		if !errors.As(f.Err, &pe) || !strings.Contains(f.Err.Error(), "transport bug") {
			t.Fatalf("failure %d: %v, want a PanicError", f.Index, f.Err)
		}
	}
}
