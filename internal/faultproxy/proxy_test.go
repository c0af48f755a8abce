package faultproxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/promtest"
)

// upstream is a real HTTP server that counts what reaches it and answers
// 202 with a header and the request's path, so a test can tell a forwarded
// answer from one the proxy made up.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "upstream %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// post sends body with a fresh connection each time: the Go transport may
// replay a request on a reused connection that was reset, which would hide
// what the proxy did.
func post(client *http.Client, url, body string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Close = true
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestModes(t *testing.T) {
	cases := []struct {
		name          string
		fault         Fault
		wantStatus    int    // 0: the client gets no answer
		wantRetry     string // Retry-After
		wantBody      string // substring
		wantForwarded bool
		wantNote      string // substring of Record.Err
	}{
		{name: "pass", fault: Fault{Mode: Pass}, wantStatus: 202, wantBody: "upstream POST /api/v1/write", wantForwarded: true},
		{name: "429 with Retry-After", fault: Fault{Mode: TooManyRequests, RetryAfter: 1500 * time.Millisecond}, wantStatus: 429, wantRetry: "2", wantBody: "injected 429"},
		{name: "429 without Retry-After", fault: Fault{Mode: TooManyRequests}, wantStatus: 429},
		{name: "500", fault: Fault{Mode: InternalError}, wantStatus: 500, wantBody: "injected 500"},
		{name: "503 with Retry-After", fault: Fault{Mode: Unavailable, RetryAfter: 3 * time.Second}, wantStatus: 503, wantRetry: "3"},
		{name: "400 with body", fault: Fault{Mode: BadRequest, Body: "out of order sample"}, wantStatus: 400, wantBody: "out of order sample"},
		{name: "500 ignores Retry-After", fault: Fault{Mode: InternalError, RetryAfter: time.Second}, wantStatus: 500},
		{name: "reset", fault: Fault{Mode: Reset}},
		{name: "hang until the client gives up", fault: Fault{Mode: Hang}, wantNote: "client gave up"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			up, hits := upstream(t)
			p := Start(t, up.URL, Script{Times(1, c.fault)})
			client := &http.Client{Timeout: 300 * time.Millisecond}
			resp, body, err := post(client, p.URL()+"/api/v1/write", "payload "+c.name)
			if c.wantStatus == 0 {
				if err == nil {
					t.Fatalf("got HTTP %d, want no answer", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != c.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, c.wantStatus)
				}
				if got := resp.Header.Get("Retry-After"); got != c.wantRetry {
					t.Errorf("Retry-After %q, want %q", got, c.wantRetry)
				}
				if !strings.Contains(body, c.wantBody) {
					t.Errorf("body %q does not contain %q", body, c.wantBody)
				}
				if got := resp.Header.Get("X-Upstream") == "yes"; got != c.wantForwarded {
					t.Errorf("answer from upstream: %v, want %v", got, c.wantForwarded)
				}
			}
			if got := hits.Load() == 1; got != c.wantForwarded {
				t.Errorf("reached upstream: %v, want %v", got, c.wantForwarded)
			}
			recs := waitDone(t, p, 1)
			r := recs[0]
			sum := sha256.Sum256([]byte("payload " + c.name))
			if r.Seq != 0 || r.Method != "POST" || r.Path != "/api/v1/write" || r.BodySHA256 != hex.EncodeToString(sum[:]) ||
				r.BodyBytes != len("payload "+c.name) || r.Samples != -1 || r.Fault != c.fault || r.Status != c.wantStatus {
				t.Errorf("record %+v", r)
			}
			if !strings.Contains(r.Err, c.wantNote) {
				t.Errorf("record note %q, want %q", r.Err, c.wantNote)
			}
			// The script is spent: the next request passes.
			resp, _, err = post(client, p.URL()+"/x", "next")
			if err != nil || resp.StatusCode != 202 {
				t.Errorf("second request: %v %v, want 202 from upstream", resp, err)
			}
		})
	}
}

// waitDone waits until n requests are recorded and finished: the client can
// see a reset or give up before the handler has written its record.
func waitDone(t *testing.T, p *Proxy, n int) []Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := p.Records()
		done := len(recs) == n
		for _, r := range recs {
			done = done && r.Done
		}
		if done {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("records after 5 s: %+v, want %d done", recs, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHangEnds(t *testing.T) {
	t.Parallel()
	t.Run("max hang", func(t *testing.T) {
		t.Parallel()
		up, _ := upstream(t)
		p := Start(t, up.URL, Script{Times(1, Fault{Mode: Hang})}, WithMaxHang(100*time.Millisecond))
		// The client would give up long after the proxy: the proxy's note
		// says which ended the hang, with no clock in the test.
		_, _, err := post(&http.Client{Timeout: 30 * time.Second}, p.URL(), "x")
		if err == nil {
			t.Fatal("hang answered")
		}
		if r := waitDone(t, p, 1)[0]; !strings.Contains(r.Err, "max hang") {
			t.Errorf("note %q", r.Err)
		}
	})
	t.Run("proxy closed", func(t *testing.T) {
		t.Parallel()
		up, _ := upstream(t)
		p, err := New(up.URL, Script{Times(1, Fault{Mode: Hang})})
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { _, _, err := post(&http.Client{}, p.URL(), "x"); errc <- err }()
		waitRecords(t, p, 1)
		closed := make(chan struct{})
		go func() { p.Close(); close(closed) }()
		// No clock: a Close that waited for the hang instead of ending it
		// returns only at the max hang, and the record's note below then
		// says so.
		<-closed
		if err := <-errc; err == nil {
			t.Error("hang answered")
		}
		p.Close() // idempotent
		if r := p.Records()[0]; !r.Done || !strings.Contains(r.Err, "proxy closed") {
			t.Errorf("record %+v", r)
		}
	})
}

func waitRecords(t *testing.T, p *Proxy, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Records()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records after 5 s, want %d", len(p.Records()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	up, hits := upstream(t)
	p := Start(t, up.URL, Script{
		Times(3, Fault{Mode: Unavailable}),
		Times(1, Fault{Mode: TooManyRequests}),
		Times(0, Fault{Mode: Reset}), // an empty step is skipped
		Times(1, Fault{Mode: BadRequest}),
	})
	client := &http.Client{Timeout: 5 * time.Second}
	var got []int
	for i := range 7 {
		resp, _, err := post(client, p.URL(), fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.StatusCode)
	}
	if want := []int{503, 503, 503, 429, 400, 202, 202}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if hits.Load() != 2 || p.Count(Pass) != 2 || p.Count(Unavailable) != 3 {
		t.Errorf("upstream hits %d, passes %d, 503s %d", hits.Load(), p.Count(Pass), p.Count(Unavailable))
	}

	// A new plan counts from 0 again.
	p.SetPlan(Script{Times(1, Fault{Mode: InternalError})})
	resp, _, err := post(client, p.URL(), "after SetPlan")
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("after SetPlan: %v %v, want 500", resp, err)
	}
	if r := p.Records(); len(r) != 8 || r[7].Seq != 7 || r[7].Fault.Mode != InternalError {
		t.Errorf("records after SetPlan: %+v", r[len(r)-1])
	}
}

func TestRandom(t *testing.T) {
	choices := []Weighted{
		{P: 0.2, Fault: Fault{Mode: Unavailable}},
		{P: 0.1, Fault: Fault{Mode: TooManyRequests, RetryAfter: time.Second}},
		{P: 0.05, Fault: Fault{Mode: Reset}},
	}
	plan := func(seed uint64) *Random {
		r, err := NewRandom(seed, choices...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	seq := func(r *Random, n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(string(r.Decide(i).Mode) + " ")
		}
		return b.String()
	}

	t.Run("same seed, same decisions", func(t *testing.T) {
		if a, b := seq(plan(42), 500), seq(plan(42), 500); a != b {
			t.Error("two plans with one seed differ")
		}
		if a, b := seq(plan(42), 500), seq(plan(43), 500); a == b {
			t.Error("seeds 42 and 43 give the same 500 decisions")
		}
	})

	t.Run("shares", func(t *testing.T) {
		const n = 20000
		count := map[Mode]int{}
		r := plan(7)
		for i := range n {
			count[r.Decide(i).Mode]++
		}
		want := map[Mode]float64{Unavailable: 0.2, TooManyRequests: 0.1, Reset: 0.05, Pass: 0.65}
		for m, p := range want {
			// 5 standard deviations of a binomial share.
			if got := float64(count[m]) / n; got < p-0.02 || got > p+0.02 {
				t.Errorf("%s: share %.3f, want %.2f", m, got, p)
			}
		}
	})

	// Concurrent requests arrive in any order, yet request seq always gets
	// Decide(seq).
	t.Run("through the proxy, concurrently", func(t *testing.T) {
		up, hits := upstream(t)
		r := plan(99)
		p := Start(t, up.URL, r)
		client := &http.Client{Timeout: 5 * time.Second}
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() { _, _, _ = post(client, p.URL(), fmt.Sprint(i)) })
		}
		wg.Wait()
		recs := waitDone(t, p, 60)
		passed := 0
		for _, rec := range recs {
			if want := r.Decide(rec.Seq); rec.Fault != want {
				t.Errorf("request %d got %v, plan says %v", rec.Seq, rec.Fault, want)
			}
			if rec.Fault.Mode == Pass {
				passed++
			}
		}
		if int(hits.Load()) != passed {
			t.Errorf("upstream saw %d requests, %d passed", hits.Load(), passed)
		}
	})

	t.Run("invalid shares", func(t *testing.T) {
		cases := map[string][]Weighted{
			"sum above 1": {{P: 0.6, Fault: Fault{Mode: Reset}}, {P: 0.5, Fault: Fault{Mode: Hang}}},
			"negative":    {{P: -0.1, Fault: Fault{Mode: Reset}}},
			"above 1":     {{P: 1.5, Fault: Fault{Mode: Reset}}},
		}
		for name, c := range cases {
			if _, err := NewRandom(1, c...); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if _, err := NewRandom(1, Weighted{P: 1, Fault: Fault{Mode: Reset}}); err != nil {
			t.Errorf("share 1: %v", err)
		}
	})
}

// TestRemoteWrite puts the proxy in front of a real Prometheus: a 400
// answered by the proxy is visible in the records, a passed request reaches
// the store, the samples are counted, and a resend is seen as one body hash
// twice.
func TestRemoteWrite(t *testing.T) {
	t.Parallel()
	prom := promtest.Start(t)
	p := Start(t, prom.URL(), Script{Times(1, Fault{Mode: BadRequest, Body: "rejected"})})
	at := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: []prompb.Label{{Name: "__name__", Value: "m"}, {Name: "k", Value: "a"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: at}, {Value: 2, Timestamp: at + 60_000}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "m"}, {Name: "k", Value: "b"}}, Samples: []prompb.Sample{{Value: 3, Timestamp: at}}},
	}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := snappy.Encode(nil, raw)
	send := func() int {
		hreq, err := http.NewRequest(http.MethodPost, p.URL()+"/api/v1/write", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		hreq.Header.Set("Content-Encoding", "snappy")
		hreq.Header.Set("Content-Type", "application/x-protobuf")
		hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send(); got != 400 {
		t.Fatalf("first send: %d, want the injected 400", got)
	}
	if got := send(); got != 204 {
		t.Fatalf("second send: %d, want Prometheus's 204", got)
	}
	recs := p.Records()
	if len(recs) != 2 || recs[0].Samples != 3 || recs[1].Samples != 3 || recs[1].Status != 204 {
		t.Errorf("records %+v", recs)
	}
	if sent := p.Sent(); sent[recs[0].BodySHA256] != 2 {
		t.Errorf("Sent() = %v, want the body twice", sent)
	}
	dump, err := prom.Dump(context.Background(), time.UnixMilli(at), time.UnixMilli(at+60_000))
	if err != nil {
		t.Fatal(err)
	}
	want := "m{k=\"a\"} 1 1677628800000\nm{k=\"a\"} 2 1677628860000\nm{k=\"b\"} 3 1677628800000\n"
	if dump != want {
		t.Errorf("store:\n%s\nwant:\n%s", dump, want)
	}
}

func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := Start(t, up.URL, nil)
	up.Close()
	resp, _, err := post(&http.Client{Timeout: 5 * time.Second}, p.URL(), "x")
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %v %v, want 502", resp, err)
	}
	if r := waitDone(t, p, 1)[0]; r.Status != 502 || r.Err == "" {
		t.Errorf("record %+v, want 502 with the forwarding error", r)
	}
}

func TestNewRejectsBadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:9090", "ftp://x", "http://", "::"} {
		if p, err := New(target, nil); err == nil {
			p.Close()
			t.Errorf("New(%q): no error", target)
		} else if !strings.Contains(err.Error(), "faultproxy") {
			t.Errorf("New(%q): %v does not say where", target, err)
		}
	}
}
