package firehose_test

// End to end against a real Prometheus standing in for AMP: the handler on
// fixture events, read back through the HTTP API; and the same behind a
// proxy that fails a share of requests, checking that every record's answer
// tells the truth about what was stored.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/faultproxy"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/testutil"
)

// The fixtures hold 2024-03-12 10:16 and 10:17 UTC.
var (
	dumpFrom = time.Date(2024, 3, 12, 10, 0, 0, 0, time.UTC)
	dumpTo   = time.Date(2024, 3, 12, 11, 0, 0, 0, time.UTC)
)

// startPrometheus starts a real Prometheus with an out-of-order window, as
// the CDK app gives AMP, so that a replay of what is stored is a no-op.
func startPrometheus(t *testing.T) *promtest.Server {
	return promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
}

// eventJSON builds a Firehose transformation event with one record per
// data, ids r0, r1, …
func eventJSON(_ testing.TB, data [][]byte) []byte { return testutil.FirehoseEvent(data, nil) }

type answer struct {
	Records []struct {
		RecordID string `json:"recordId"`
		Result   string `json:"result"`
	} `json:"records"`
}

func invoke(t *testing.T, h *firehose.Handler, ctx context.Context, event []byte) map[string]string {
	t.Helper()
	resp, err := h.Invoke(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	var a answer
	if err := json.Unmarshal(resp, &a); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range a.Records {
		if _, dup := out[r.RecordID]; dup {
			t.Fatalf("record %s answered twice", r.RecordID)
		}
		out[r.RecordID] = r.Result
	}
	return out
}

// expected returns the text lines of the samples each record becomes.
func expected(t testing.TB, cfg *config.Config, data [][]byte) [][]string {
	c := convert.New(cfg)
	out := make([][]string, len(data))
	for i, d := range data {
		ss, _, err := c.Record(nil, d)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, s := range ss {
			out[i] = append(out[i], string(sample.AppendText(nil, s)))
		}
	}
	return out
}

func dumpLines(t *testing.T, p *promtest.Server) map[string]bool {
	t.Helper()
	d, err := p.Dump(context.Background(), dumpFrom, dumpTo)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for l := range strings.Lines(d) {
		got[strings.TrimSuffix(l, "\n")] = true
	}
	return got
}

func newHandler(t *testing.T, url string, rw remotewrite.Config) *firehose.Handler {
	t.Helper()
	rw.URL = url
	c, err := remotewrite.New(rw.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return firehose.New(config.Default(), c, firehose.Options{OnFailed: func(id string, c cause.Cause, err error) {
		t.Logf("record %s failed: %s: %v", id, c, err)
	}})
}

// fixtureRecords returns every .bin fixture, each cut into records of whole
// frames of at most max bytes, so records carry one or a few frames.
func fixtureRecords(t *testing.T, max int) [][]byte {
	files, err := filepath.Glob(testutil.Testdata(t, "payloads", "*.bin"))
	if err != nil || len(files) < 6 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	var recs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		decode.Split(b, max, func(chunk []byte, _ int) error {
			recs = append(recs, chunk)
			return nil
		})
	}
	return recs
}

// Every fixture through the handler into Prometheus: every record Dropped,
// and the store holds exactly the samples the golden files list, values and
// timestamps included.
func TestEndToEndPrometheus(t *testing.T) {
	prom := startPrometheus(t)
	h := newHandler(t, prom.WriteURL(), remotewrite.Config{})

	var data [][]byte
	for _, name := range []string{"single", "ecs", "rds", "alb", "multi", "odd"} {
		b, err := os.ReadFile(testutil.Testdata(t, "payloads", name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b)
	}
	answers := invoke(t, h, context.Background(), eventJSON(t, data))
	for id, res := range answers {
		if res != "Dropped" {
			t.Errorf("record %s: %s", id, res)
		}
	}
	// The golden files are the reviewed dryrun output of the same fixtures.
	want := map[string]bool{}
	for _, name := range []string{"single", "ecs", "rds", "alb", "multi", "odd"} {
		b, err := os.ReadFile(testutil.Testdata(t, "golden", name+".prom"))
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.Lines(string(b)) {
			want[strings.TrimSuffix(l, "\n")] = true
		}
	}
	got := dumpLines(t, prom)
	compareLineSets(t, got, want)

	// The event fixture, and writing everything again, change nothing.
	event, err := os.ReadFile(testutil.Testdata(t, "payloads", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	for id, res := range invoke(t, h, context.Background(), event) {
		if res != "Dropped" {
			t.Errorf("event.json record %s: %s", id, res)
		}
	}
	invoke(t, h, context.Background(), eventJSON(t, data))
	compareLineSets(t, dumpLines(t, prom), want)
}

// A proxy in front of Prometheus fails a share of requests with every kind
// of fault. Whatever happens, the answers must tell the truth: a Dropped
// record has all its samples stored, every missing sample belongs to a
// ProcessingFailed record, a 400 is never sent again, and replaying the
// failed records afterwards completes the data.
func TestFaultInjection(t *testing.T) {
	prom := startPrometheus(t)
	plan, err := faultproxy.NewRandom(7,
		faultproxy.Weighted{P: 0.08, Fault: faultproxy.Fault{Mode: faultproxy.TooManyRequests, RetryAfter: time.Second}},
		faultproxy.Weighted{P: 0.08, Fault: faultproxy.Fault{Mode: faultproxy.InternalError}},
		faultproxy.Weighted{P: 0.08, Fault: faultproxy.Fault{Mode: faultproxy.Unavailable}},
		faultproxy.Weighted{P: 0.06, Fault: faultproxy.Fault{Mode: faultproxy.Reset}},
		faultproxy.Weighted{P: 0.04, Fault: faultproxy.Fault{Mode: faultproxy.Hang}},
		faultproxy.Weighted{P: 0.06, Fault: faultproxy.Fault{Mode: faultproxy.BadRequest, Body: "out of bounds"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, prom.URL(), plan, faultproxy.WithMaxHang(5*time.Second))
	// One shard: requests then reach the proxy in a fixed order, so the
	// seeded plan gives every run the same faults (with several shards the
	// interleaving, and so the outcome, would vary from run to run).
	rw := remotewrite.Config{
		MaxSamplesPerRequest: 150, Concurrency: 1, RequestTimeout: 500 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 4,
	}
	h := newHandler(t, proxy.URL()+"/api/v1/write", rw)

	data := fixtureRecords(t, 8<<10)
	want := expected(t, config.Default(), data)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	answers := invoke(t, h, ctx, eventJSON(t, data))
	if len(answers) != len(data) {
		t.Fatalf("%d answers for %d records", len(answers), len(data))
	}

	got := dumpLines(t, prom)
	var failed [][]byte
	dropped := 0
	owner := map[string][]int{} // sample line → records that carry it
	for i := range data {
		for _, l := range want[i] {
			owner[l] = append(owner[l], i)
		}
	}
	for i := range data {
		id := fmt.Sprintf("r%d", i)
		switch answers[id] {
		case "Dropped":
			dropped++
			for _, l := range want[i] {
				if !got[l] {
					t.Errorf("record %s answered Dropped but its sample is not stored: %s", id, l)
				}
			}
		case "ProcessingFailed":
			failed = append(failed, data[i])
		default:
			t.Fatalf("record %s: answer %q", id, answers[id])
		}
	}
	for l, recs := range owner {
		if got[l] {
			continue
		}
		for _, i := range recs {
			if answers[fmt.Sprintf("r%d", i)] == "Dropped" {
				t.Errorf("sample missing from the store although record r%d was Dropped: %s", i, l)
			}
		}
	}
	// 4xx other than 429 are never retried: after a body was answered 400
	// it is not sent again (before, it may have been retried after a 5xx).
	recs := proxy.Records()
	for _, r := range recs {
		if r.Fault.Mode != faultproxy.BadRequest {
			continue
		}
		for _, later := range recs {
			if later.Seq > r.Seq && later.BodySHA256 == r.BodySHA256 {
				t.Errorf("request %d was answered 400 and sent again as request %d", r.Seq, later.Seq)
			}
		}
	}
	t.Logf("%d records: %d Dropped, %d ProcessingFailed; proxy: %d requests, 429 %d, 500 %d, 503 %d, reset %d, hang %d, 400 %d",
		len(data), dropped, len(failed), len(proxy.Records()), proxy.Count(faultproxy.TooManyRequests), proxy.Count(faultproxy.InternalError),
		proxy.Count(faultproxy.Unavailable), proxy.Count(faultproxy.Reset), proxy.Count(faultproxy.Hang), proxy.Count(faultproxy.BadRequest))
	if dropped == 0 || len(failed) == 0 {
		t.Fatalf("the fault plan should leave both outcomes: %d dropped, %d failed", dropped, len(failed))
	}

	// Replaying the failed records (as from S3) once the store is healthy
	// completes the data.
	proxy.SetPlan(faultproxy.PassAll{})
	for id, res := range invoke(t, h, ctx, eventJSON(t, failed)) {
		if res != "Dropped" {
			t.Errorf("replayed record %s: %s", id, res)
		}
	}
	all := map[string]bool{}
	for _, ls := range want {
		for _, l := range ls {
			all[l] = true
		}
	}
	compareLineSets(t, dumpLines(t, prom), all)
}
