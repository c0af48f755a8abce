package firehose_test

// The handler with real components: a real remotewrite.Client sending to an
// httptest remote-write receiver that decodes snappy + prompb.WriteRequest
// and answers each request as the case says. Every case also checks the
// invariants of issue 3: every recordId answered once, in order, with a
// valid result; every sample of a Dropped record acknowledged by the
// receiver ("nothing lost"); every failure's cause as its error says; the
// counts, the log lines and the EMF documents agreeing with the answers.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/telemetry"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// rwRequest is one request as the receiver decoded it.
type rwRequest struct {
	seq    int
	status int
	lines  []string // samples in the text format of sample.AppendText
	key    string   // the sorted lines: the body's identity, to spot a resend
}

// rwReceiver is a remote-write receiver on 127.0.0.1. answer picks the
// status of each request (seq counts arrivals from 0); nil answers 204.
type rwReceiver struct {
	t      testing.TB
	srv    *httptest.Server
	answer func(seq int, lines []string) int
	hang   time.Duration // sleep before answering (cut short when the client leaves)

	mu   sync.Mutex
	reqs []rwRequest
}

func startReceiver(t testing.TB, answer func(seq int, lines []string) int) *rwReceiver {
	rc := &rwReceiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *rwReceiver) url() string { return rc.srv.URL + "/api/v1/write" }

func (rc *rwReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client gave up
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		rc.t.Errorf("receiver: snappy: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		rc.t.Errorf("receiver: prompb: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lines := wireLines(&wr)
	sorted := slices.Sorted(slices.Values(lines))
	rc.mu.Lock()
	req := rwRequest{seq: len(rc.reqs), status: http.StatusNoContent, lines: lines, key: strings.Join(sorted, "\n")}
	if rc.answer != nil {
		req.status = rc.answer(req.seq, lines)
	}
	if rc.hang > 0 {
		req.status = 0 // never answered in time
	}
	rc.reqs = append(rc.reqs, req)
	rc.mu.Unlock()
	if rc.hang > 0 {
		select {
		case <-time.After(rc.hang):
		case <-r.Context().Done():
			return
		}
	}
	if req.status >= 400 {
		http.Error(w, fmt.Sprintf("test receiver answers %d", req.status), req.status)
		return
	}
	w.WriteHeader(req.status)
}

func (rc *rwReceiver) requests() []rwRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// acked is every sample line of a request answered 2xx.
func (rc *rwReceiver) acked() map[string]bool {
	out := map[string]bool{}
	for _, r := range rc.requests() {
		if r.status/100 == 2 {
			for _, l := range r.lines {
				out[l] = true
			}
		}
	}
	return out
}

// sentWith is every sample line of a request answered status.
func (rc *rwReceiver) sentWith(status int) map[string]bool {
	out := map[string]bool{}
	for _, r := range rc.requests() {
		if r.status == status {
			for _, l := range r.lines {
				out[l] = true
			}
		}
	}
	return out
}

// wireLines renders a decoded WriteRequest's samples as sample.AppendText
// does, so they compare with dryrun's output and the golden files.
func wireLines(wr *prompb.WriteRequest) []string {
	var out []string
	for _, ts := range wr.Timeseries {
		s := sample.Sample{}
		for _, l := range ts.Labels {
			if l.Name == "__name__" {
				s.Name = l.Value
				continue
			}
			s.Labels = append(s.Labels, sample.Label{Name: l.Name, Value: l.Value})
		}
		for _, p := range ts.Samples {
			s.T, s.V = p.Timestamp, p.Value
			out = append(out, string(sample.AppendText(nil, s)))
		}
	}
	return out
}

// fxRecord is one record of an event as the test sees it, decoded with
// encoding/json and base64 (not internal/envelope) and converted on its own.
type fxRecord struct {
	id      string
	data    []byte
	bad     bool            // data not base64, or a malformed frame
	samples []sample.Sample // of a good record; of the frames before the bad one otherwise
	lines   []string
}

func loadRecords(t testing.TB, event []byte, cfg *config.Config) []fxRecord {
	t.Helper()
	var ev struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Data     string `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatalf("test event: %v", err)
	}
	out := make([]fxRecord, len(ev.Records))
	for i, r := range ev.Records {
		out[i].id = r.RecordID
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			out[i].bad = true
			continue
		}
		out[i].data = data
		// A converter per record: its samples stay valid for the test.
		ss, _, err := convert.New(cfg).Record(nil, data)
		out[i].bad = err != nil
		out[i].samples = ss
		for _, s := range ss {
			out[i].lines = append(out[i].lines, string(sample.AppendText(nil, s)))
		}
	}
	return out
}

// makeEvent builds a Firehose event with the given ids and data.
func makeEvent(t testing.TB, ids []string, data [][]byte) []byte {
	t.Helper()
	ev := events.KinesisFirehoseEvent{
		InvocationID: "test-invocation", DeliveryStreamArn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/test", Region: "us-east-1",
		Records: []events.KinesisFirehoseEventRecord{},
	}
	for i := range ids {
		ev.Records = append(ev.Records, events.KinesisFirehoseEventRecord{RecordID: ids[i], ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(1710238620000)}, Data: data[i]})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFile(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Testdata(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goldenLines(t testing.TB, name string) map[string]bool {
	out := map[string]bool{}
	for l := range strings.Lines(string(readFile(t, "golden", name))) {
		out[strings.TrimSuffix(l, "\n")] = true
	}
	return out
}

// jsonLines parses every line of text as a JSON object.
func jsonLines(t testing.TB, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(text) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %v: %q", err, line)
		}
		out = append(out, m)
	}
	return out
}

// failure is one record reported by Options.OnFailed.
type failure struct {
	id, cause string
	err       error
}

// run is one invocation's observable outcome.
type run struct {
	resp events.KinesisFirehoseResponse
	raw  []byte
	err  error
	// ctxErr is the invocation context's error right after Invoke
	// returned: nil when the answer beat the context's deadline.
	ctxErr error
	// deadline is the invocation context's, zero if none.
	deadline time.Time
	inv      *telemetry.Invocation
	failed   []failure
	logs     []map[string]any
	emf      []map[string]any
}

// harness is a handler wired to a receiver, collecting everything the
// handler reports.
type harness struct {
	h      *firehose.Handler
	rc     *rwReceiver
	logs   *testutil.SyncBuffer
	emf    *testutil.SyncBuffer
	inv    *telemetry.Invocation
	failed []failure
}

type harnessOpts struct {
	cfg     *config.Config
	rw      remotewrite.Config // URL filled in; zero fields get fast test defaults
	answer  func(seq int, lines []string) int
	reserve time.Duration
	writer  func(*remotewrite.Client) firehose.Writer // wraps the real client
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	hs := &harness{rc: startReceiver(t, o.answer), logs: &testutil.SyncBuffer{}, emf: &testutil.SyncBuffer{}}
	rw := o.rw
	rw.URL = hs.rc.url()
	if rw.MinBackoff == 0 {
		rw.MinBackoff, rw.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	}
	if rw.MaxAttempts == 0 {
		rw.MaxAttempts = 4
	}
	if rw.RequestTimeout == 0 {
		rw.RequestTimeout = 2 * time.Second
	}
	client, err := remotewrite.New(rw.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	var w firehose.Writer = client
	if o.writer != nil {
		w = o.writer(client)
	}
	cfg := o.cfg
	if cfg == nil {
		cfg = config.Default()
	}
	log, err := telemetry.NewLogger(hs.logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	hs.h = firehose.New(cfg, w, firehose.Options{
		Logger: log, Metrics: hs.emf, FunctionName: "cwstream-test", Reserve: o.reserve,
		OnInvocation: func(inv *telemetry.Invocation) { hs.inv = inv },
		OnFailed:     func(id string, c cause.Cause, err error) { hs.failed = append(hs.failed, failure{id, c.String(), err}) },
	})
	return hs
}

// invoke runs one invocation and parses what came out of it.
func (hs *harness) invoke(t testing.TB, ctx context.Context, event []byte) run {
	t.Helper()
	hs.logs.Reset()
	hs.emf.Reset()
	hs.inv, hs.failed = nil, nil
	raw, err := hs.h.Invoke(ctx, event)
	r := run{raw: slices.Clone(raw), err: err, ctxErr: ctx.Err(), inv: hs.inv, failed: hs.failed}
	r.deadline, _ = ctx.Deadline()
	r.logs, r.emf = jsonLines(t, hs.logs.String()), jsonLines(t, hs.emf.String())
	if err == nil {
		if err := json.Unmarshal(raw, &r.resp); err != nil {
			t.Fatalf("response is not a KinesisFirehoseResponse: %v\n%.300s", err, raw)
		}
	}
	return r
}

// checkInvariants checks what must hold for every invocation and returns
// the cause of each record ("" for Dropped).
func checkInvariants(t *testing.T, recs []fxRecord, r run, rc *rwReceiver) []string {
	t.Helper()
	if r.err != nil {
		t.Fatalf("Invoke: %v", r.err)
	}
	// Every recordId exactly once, in order, with a valid result.
	if len(r.resp.Records) != len(recs) {
		t.Fatalf("%d answers for %d records", len(r.resp.Records), len(recs))
	}
	causes := make([]string, len(recs))
	var failedIdx []int
	for i, a := range r.resp.Records {
		if a.RecordID != recs[i].id {
			t.Errorf("answer %d is for record %q, want %q", i, a.RecordID, recs[i].id)
		}
		if len(a.Data) != 0 {
			t.Errorf("record %d: answer carries %d bytes of data", i, len(a.Data))
		}
		switch a.Result {
		case events.KinesisFirehoseTransformedStateDropped:
		case events.KinesisFirehoseTransformedStateProcessingFailed:
			failedIdx = append(failedIdx, i)
		default:
			t.Errorf("record %d: result %q", i, a.Result)
		}
	}
	// Every failed record reported once with its cause, which its error
	// says (cause.Of).
	if len(r.failed) != len(failedIdx) {
		t.Fatalf("OnFailed called %d times for %d failed records", len(r.failed), len(failedIdx))
	}
	for k, i := range failedIdx {
		f := r.failed[k]
		if f.id != recs[i].id {
			t.Errorf("OnFailed %d: record %q, want %q", k, f.id, recs[i].id)
		}
		c := cause.Of(f.err)
		if res := firehose.Result(c); res != envelope.ProcessingFailed || c.String() != f.cause || c == cause.None {
			t.Errorf("record %d: cause %q, but its error %v says %q (%s)", i, f.cause, f.err, c, res)
		}
		causes[i] = f.cause
	}
	// Nothing lost: every sample of a Dropped record was acknowledged.
	if rc != nil {
		acked := rc.acked()
		for i := range recs {
			if causes[i] != "" {
				continue
			}
			if recs[i].bad {
				t.Errorf("record %d is malformed but was answered Dropped", i)
			}
			for _, l := range recs[i].lines {
				if !acked[l] {
					t.Errorf("record %d answered Dropped but the receiver never acknowledged %s", i, l)
					break
				}
			}
		}
	}
	// The counts agree with the answers.
	inv := r.inv
	if inv == nil {
		t.Fatal("OnInvocation not called")
	}
	if inv.RecordsIn != len(recs) || inv.RecordsOK != len(recs)-len(failedIdx) || inv.TotalFailed() != len(failedIdx) {
		t.Errorf("counts: in %d ok %d failed %d, want %d, %d, %d", inv.RecordsIn, inv.RecordsOK, inv.TotalFailed(), len(recs), len(recs)-len(failedIdx), len(failedIdx))
	}
	byCause := map[string]int{}
	for _, c := range causes {
		if c != "" {
			byCause[c]++
		}
	}
	if !maps.Equal(byCause, inv.RecordsFailed) && (len(byCause) > 0 || len(inv.RecordsFailed) > 0) {
		t.Errorf("RecordsFailed %v, answers say %v", inv.RecordsFailed, byCause)
	}
	if inv.SamplesWritten+inv.TotalDropped() != inv.Samples {
		t.Errorf("samples: %d written + %d dropped != %d built", inv.SamplesWritten, inv.TotalDropped(), inv.Samples)
	}
	checkLogs(t, recs, causes, r.logs, inv)
	checkEMF(t, r.emf, inv)
	return causes
}

// checkLogs: one warning per failed record (up to the handler's cap of 20)
// naming the record and its cause, then one invocation summary.
func checkLogs(t *testing.T, recs []fxRecord, causes []string, logs []map[string]any, inv *telemetry.Invocation) {
	t.Helper()
	var warned []string
	summaries := 0
	for _, l := range logs {
		switch l["msg"] {
		case "record failed; Firehose keeps it for replay":
			i := int(l["record"].(float64))
			if l["level"] != "WARN" || l["record_id"] != recs[i].id || l["cause"] != causes[i] {
				t.Errorf("log line for record %d: %v (cause %q)", i, l, causes[i])
			}
			warned = append(warned, fmt.Sprint(i))
		case "invocation":
			summaries++
			if int(l["records"].(float64)) != inv.RecordsIn || int(l["datapoints"].(float64)) != inv.Datapoints || int(l["samples_written"].(float64)) != inv.SamplesWritten {
				t.Errorf("summary line %v disagrees with %+v", l, inv)
			}
		}
	}
	var want []string
	for i, c := range causes {
		if c != "" && len(want) < 20 {
			want = append(want, fmt.Sprint(i))
		}
	}
	if !slices.Equal(warned, want) {
		t.Errorf("failed records logged %v, want %v", warned, want)
	}
	if summaries != 1 {
		t.Errorf("%d invocation summary lines, want 1", summaries)
	}
}

// checkEMF parses the EMF documents: the totals first, then one per cause.
func checkEMF(t *testing.T, docs []map[string]any, inv *telemetry.Invocation) {
	t.Helper()
	if len(docs) == 0 {
		t.Fatal("no EMF document")
	}
	directive := func(doc map[string]any) (ns string, dims []any, metrics []any) {
		aws, _ := doc["_aws"].(map[string]any)
		cwm, _ := aws["CloudWatchMetrics"].([]any)
		if len(cwm) != 1 {
			t.Fatalf("EMF _aws.CloudWatchMetrics: %v", aws)
		}
		if _, ok := aws["Timestamp"].(float64); !ok {
			t.Errorf("EMF without a numeric Timestamp: %v", aws)
		}
		m := cwm[0].(map[string]any)
		ns, _ = m["Namespace"].(string)
		dims, _ = m["Dimensions"].([]any)
		metrics, _ = m["Metrics"].([]any)
		for _, x := range metrics {
			name := x.(map[string]any)["Name"].(string)
			if _, ok := doc[name].(float64); !ok {
				t.Errorf("EMF metric %s has no number at the top level: %v", name, doc[name])
			}
		}
		for _, d := range dims {
			for _, name := range d.([]any) {
				if _, ok := doc[name.(string)].(string); !ok {
					t.Errorf("EMF dimension %s has no string value", name)
				}
			}
		}
		return ns, dims, metrics
	}
	totals := docs[0]
	ns, dims, metrics := directive(totals)
	if ns != "CWStream" || fmt.Sprint(dims) != "[[FunctionName]]" || totals["FunctionName"] != "cwstream-test" {
		t.Errorf("EMF totals: namespace %q dimensions %v function %v", ns, dims, totals["FunctionName"])
	}
	var names []string
	for _, m := range metrics {
		names = append(names, m.(map[string]any)["Name"].(string))
	}
	want := map[string]float64{
		"RecordsIn": float64(inv.RecordsIn), "Datapoints": float64(inv.Datapoints), "Series": float64(inv.Series),
		"SamplesWritten": float64(inv.SamplesWritten), "Requests": float64(inv.Requests), "Retries": float64(inv.Retries),
		"RecordsFailed": float64(inv.TotalFailed()), "SamplesDropped": float64(inv.TotalDropped()),
		"WriteLatency": float64(inv.WriteLatency.Microseconds()) / 1000,
	}
	for name, v := range want {
		if !slices.Contains(names, name) {
			t.Errorf("EMF totals lack metric %s (have %v)", name, names)
		}
		if totals[name] != v {
			t.Errorf("EMF %s = %v, want %v", name, totals[name], v)
		}
	}
	causes := slices.Sorted(maps.Keys(inv.RecordsFailed))
	for c := range inv.SamplesDropped {
		if !slices.Contains(causes, c) {
			causes = append(causes, c)
		}
	}
	slices.Sort(causes)
	if len(docs) != 1+len(causes) {
		t.Fatalf("%d EMF documents, want 1 + one per cause %v", len(docs), causes)
	}
	for k, c := range causes {
		doc := docs[1+k]
		ns, dims, _ := directive(doc)
		if ns != "CWStream" || fmt.Sprint(dims) != "[[FunctionName Cause]]" || doc["Cause"] != c {
			t.Errorf("EMF cause document %d: namespace %q dimensions %v cause %v, want %q", k, ns, dims, doc["Cause"], c)
		}
		if doc["RecordsFailed"] != float64(inv.RecordsFailed[c]) || doc["SamplesDropped"] != float64(inv.SamplesDropped[c]) {
			t.Errorf("EMF cause %s: RecordsFailed %v SamplesDropped %v, want %d, %d", c, doc["RecordsFailed"], doc["SamplesDropped"], inv.RecordsFailed[c], inv.SamplesDropped[c])
		}
	}
}

// containsAny reports whether any of lines is in set.
func containsAny(set map[string]bool, lines []string) bool {
	for _, l := range lines {
		if set[l] {
			return true
		}
	}
	return false
}

// writeWatch wraps a Writer and notes, when Write returns, its context's
// deadline and whether a retry could still have been sent before it: the
// transport may give up only when the next wait (at most maxBackoff) would
// end past the deadline.
type writeWatch struct {
	w          firehose.Writer
	maxBackoff time.Duration

	calls    int
	deadline time.Time // of the last Write's context; zero if none
	roomLeft bool      // the last Write returned with time for one more retry
}

func (ww *writeWatch) Write(ctx context.Context, ss []sample.Sample) remotewrite.Report {
	rep := ww.w.Write(ctx, ss)
	ww.calls++
	ww.deadline, _ = ctx.Deadline()
	ww.roomLeft = !ww.deadline.IsZero() && !time.Now().Add(ww.maxBackoff).After(ww.deadline)
	return rep
}

// panicOnce panics in its first Write, then writes with the real client.
type panicOnce struct {
	w     firehose.Writer
	calls int
}

func (p *panicOnce) Write(ctx context.Context, ss []sample.Sample) remotewrite.Report {
	p.calls++
	if p.calls == 1 {
		panic("test writer: boom")
	}
	return p.w.Write(ctx, ss)
}

func TestInvoke(t *testing.T) {
	event := readFile(t, "payloads", "event.json")
	mixed := readFile(t, "payloads", "bad", "mixed-event.json")
	const limitLen = 40 // label value bytes; some event.json series have longer ones

	type tc struct {
		name    string
		event   []byte
		opts    harnessOpts
		timeout time.Duration // of the invocation's ctx; 0 = none
		// want gives each record's expected cause ("" = Dropped), from the
		// records and what the receiver saw.
		want  func(recs []fxRecord, rc *rwReceiver) []string
		check func(t *testing.T, recs []fxRecord, r run, hs *harness)
	}
	all := func(cause string) func([]fxRecord, *rwReceiver) []string {
		return func(recs []fxRecord, _ *rwReceiver) []string {
			out := make([]string, len(recs))
			for i := range out {
				out[i] = cause
			}
			return out
		}
	}
	statusCount := func(rc *rwReceiver, status int) int {
		n := 0
		for _, r := range rc.requests() {
			if r.status == status {
				n++
			}
		}
		return n
	}
	// The write of the "503 forever with a deadline" case, watched.
	var deadlineWrite *writeWatch
	const (
		deadlineReserve    = 5 * time.Second
		deadlineMaxBackoff = 50 * time.Millisecond
	)
	cases := []tc{
		{
			name:  "event.json: all Dropped, the receiver holds exactly dryrun's golden",
			event: event,
			want:  all(""),
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				compareLineSets(t, hs.rc.acked(), goldenLines(t, "event.prom"))
				if n := len(hs.rc.requests()); n != r.inv.Requests || r.inv.Retries != 0 {
					t.Errorf("receiver got %d requests; handler counted %d requests, %d retries", n, r.inv.Requests, r.inv.Retries)
				}
				if r.inv.Datapoints != 244 || r.inv.SamplesWritten != len(goldenLines(t, "event.prom")) {
					t.Errorf("datapoints %d (README: 244), samples written %d", r.inv.Datapoints, r.inv.SamplesWritten)
				}
			},
		},
		{
			name:  "mixed-event.json: records 1 and 2 malformed, the good ones (0.7 and JSON) written",
			event: mixed,
			want:  func(recs []fxRecord, _ *rwReceiver) []string { return malformedOnly(recs) },
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				var bad []int
				good := map[string]bool{}
				for i, rec := range recs {
					if rec.bad {
						bad = append(bad, i)
						continue
					}
					for _, l := range rec.lines {
						good[l] = true
					}
				}
				if !slices.Equal(bad, []int{1, 2}) {
					t.Fatalf("fixture: malformed records %v, README says 1 and 2", bad)
				}
				// Exactly the good records' samples: nothing of a bad one,
				// not even the frames before its bad frame.
				compareLineSets(t, hs.rc.acked(), good)
				if r.inv.SamplesDropped[cause.Malformed.String()] != 0 {
					t.Errorf("malformed records count as dropped samples: %v", r.inv.SamplesDropped)
				}
			},
		},
		{
			name:  "400 for requests holding one series: exactly their records rejected",
			event: event,
			opts: harnessOpts{
				rw: remotewrite.Config{MaxSamplesPerRequest: 100, Concurrency: 2},
				answer: func(_ int, lines []string) int {
					for _, l := range lines {
						if strings.HasPrefix(l, "aws_applicationelb_request_count_sum{") {
							return http.StatusBadRequest
						}
					}
					return http.StatusNoContent
				},
			},
			want: func(recs []fxRecord, rc *rwReceiver) []string {
				rejected := rc.sentWith(http.StatusBadRequest)
				out := make([]string, len(recs))
				for i, r := range recs {
					if containsAny(rejected, r.lines) {
						out[i] = cause.Rejected.String()
					}
				}
				return out
			},
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				reqs := hs.rc.requests()
				n400 := 0
				for _, a := range reqs {
					if a.status != http.StatusBadRequest {
						continue
					}
					n400++
					for _, b := range reqs {
						if b.seq != a.seq && b.key == a.key {
							t.Errorf("request %d was answered 400 and sent again as request %d", a.seq, b.seq)
						}
					}
				}
				if n400 == 0 || r.inv.Retries != 0 || r.inv.RecordsOK == 0 || r.inv.RecordsOK == len(recs) {
					t.Errorf("want some 400s, no retries and both outcomes: %d 400s, %d retries, %d of %d ok", n400, r.inv.Retries, r.inv.RecordsOK, len(recs))
				}
				if len(reqs) < 4 {
					t.Errorf("%d requests: the case needs several per shard", len(reqs))
				}
			},
		},
		{
			name:  "503 for the first 3 requests, then success: all Dropped, retries counted",
			event: event,
			opts: harnessOpts{
				rw: remotewrite.Config{MaxSamplesPerRequest: 300},
				answer: func(seq int, _ []string) int {
					if seq < 3 {
						return http.StatusServiceUnavailable
					}
					return http.StatusNoContent
				},
			},
			want: all(""),
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				n503 := statusCount(hs.rc, http.StatusServiceUnavailable)
				if n503 != 3 || r.inv.Retries != n503 || r.inv.Requests+r.inv.Retries != len(hs.rc.requests()) {
					t.Errorf("%d answered 503 of %d requests; handler counted %d requests, %d retries", n503, len(hs.rc.requests()), r.inv.Requests, r.inv.Retries)
				}
				compareLineSets(t, hs.rc.acked(), goldenLines(t, "event.prom"))
			},
		},
		{
			// The reserve is long, so the answer that must come before the
			// deadline has seconds to spare: only a handler that writes into
			// the reserve misses it, never a slow machine.
			name:    "503 forever with a deadline: cause deadline, retried until the reserve, answered before the deadline",
			event:   event,
			timeout: deadlineReserve + 500*time.Millisecond,
			opts: harnessOpts{
				rw:      remotewrite.Config{MaxAttempts: 1 << 20, MinBackoff: 10 * time.Millisecond, MaxBackoff: deadlineMaxBackoff},
				answer:  func(int, []string) int { return http.StatusServiceUnavailable },
				reserve: deadlineReserve,
				writer: func(c *remotewrite.Client) firehose.Writer {
					deadlineWrite = &writeWatch{w: c, maxBackoff: deadlineMaxBackoff}
					return deadlineWrite
				},
			},
			want: all(cause.Deadline.String()),
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				if r.ctxErr != nil {
					t.Errorf("answered only after the invocation's deadline: %v", r.ctxErr)
				}
				ww := deadlineWrite
				if ww.calls != 1 || !ww.deadline.Equal(r.deadline.Add(-deadlineReserve)) {
					t.Errorf("%d writes, the last with deadline %v; want one write stopping the reserve (%v) before the invocation's deadline %v", ww.calls, ww.deadline, deadlineReserve, r.deadline)
				}
				if ww.roomLeft {
					t.Errorf("the write gave up with time left for another retry before its deadline %v", ww.deadline)
				}
				if r.inv.Retries == 0 || r.inv.SamplesDropped[cause.Deadline.String()] != r.inv.Samples {
					t.Errorf("retries %d, dropped %v of %d samples", r.inv.Retries, r.inv.SamplesDropped, r.inv.Samples)
				}
				t.Logf("%d requests, %d retries", r.inv.Requests, r.inv.Retries)
			},
		},
		{
			name:  "503 until attempts run out: cause retries_exhausted",
			event: event,
			opts: harnessOpts{
				rw:     remotewrite.Config{MaxAttempts: 3},
				answer: func(int, []string) int { return http.StatusServiceUnavailable },
			},
			want: all(cause.RetriesExhausted.String()),
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				if r.inv.Retries != 2*r.inv.Requests {
					t.Errorf("%d requests, %d retries; want 2 retries each", r.inv.Requests, r.inv.Retries)
				}
			},
		},
		{
			name:  "a label value over the client's limit: its records limit_exceeded",
			event: event,
			opts:  harnessOpts{rw: remotewrite.Config{MaxLabelValueLength: limitLen}},
			want: func(recs []fxRecord, _ *rwReceiver) []string {
				out := make([]string, len(recs))
				for i, r := range recs {
					for _, s := range r.samples {
						long := len(s.Name) > limitLen
						for _, l := range s.Labels {
							long = long || len(l.Value) > limitLen
						}
						if long {
							out[i] = cause.Limit.String()
						}
					}
				}
				return out
			},
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				if r.inv.RecordsOK == 0 || r.inv.TotalFailed() == 0 {
					t.Errorf("the limit should fail some records and not others: %d ok, %d failed", r.inv.RecordsOK, r.inv.TotalFailed())
				}
				acked := hs.rc.acked()
				for _, rec := range recs {
					for k, s := range rec.samples {
						long := len(s.Name) > limitLen
						for _, l := range s.Labels {
							long = long || len(l.Value) > limitLen
						}
						if long && acked[rec.lines[k]] {
							t.Errorf("a sample over the limit was sent: %s", rec.lines[k])
						}
					}
				}
				if r.inv.SamplesDropped[cause.Limit.String()] == 0 {
					t.Errorf("no samples dropped for the limit: %v", r.inv.SamplesDropped)
				}
			},
		},
		{
			name:  "a panicking writer: every record failed with cause panic, the next invocation works",
			event: event,
			opts:  harnessOpts{writer: func(c *remotewrite.Client) firehose.Writer { return &panicOnce{w: c} }},
			want:  all(cause.Panic.String()),
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				if n := len(hs.rc.requests()); n != 0 {
					t.Errorf("%d requests reached the receiver", n)
				}
				again := hs.invoke(t, context.Background(), event)
				if causes := checkInvariants(t, recs, again, hs.rc); slices.ContainsFunc(causes, func(c string) bool { return c != "" }) {
					t.Errorf("after the panic: causes %q, want all Dropped", causes)
				}
				compareLineSets(t, hs.rc.acked(), goldenLines(t, "event.prom"))
			},
		},
		{
			name: "duplicated recordIds are each answered, in order",
			event: func() []byte {
				recs := loadRecords(t, event, config.Default())
				return makeEvent(t, []string{"dup", "dup", "other", "dup"}, [][]byte{recs[0].data, recs[5].data, recs[6].data, recs[0].data})
			}(),
			want: all(""),
		},
		{
			name:  "an empty event: an empty answer",
			event: []byte(`{"invocationId":"x","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/x","region":"us-east-1","records":[]}`),
			want:  all(""),
			check: func(t *testing.T, recs []fxRecord, r run, hs *harness) {
				if string(r.raw) != `{"records":[]}` || len(hs.rc.requests()) != 0 {
					t.Errorf("response %s, %d requests", r.raw, len(hs.rc.requests()))
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.opts.cfg
			if cfg == nil {
				cfg = config.Default()
			}
			recs := loadRecords(t, c.event, cfg)
			hs := newHarness(t, c.opts)
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			r := hs.invoke(t, ctx, c.event)
			got := checkInvariants(t, recs, r, hs.rc)
			want := c.want(recs, hs.rc)
			if !slices.Equal(got, want) {
				t.Errorf("causes by record:\n got %q\nwant %q", got, want)
			}
			if c.check != nil {
				c.check(t, recs, r, hs)
			}
		})
	}
}

func compareLineSets(t *testing.T, got, want map[string]bool) {
	t.Helper()
	var missing, extra []string
	for l := range want {
		if !got[l] {
			missing = append(missing, l)
		}
	}
	for l := range got {
		if !want[l] {
			extra = append(extra, l)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		slices.Sort(missing)
		slices.Sort(extra)
		t.Errorf("received samples differ: %d missing, %d unexpected (of %d wanted)\nmissing: %.3q\nextra: %.3q", len(missing), len(extra), len(want), missing, extra)
	}
}

// An event that cannot be answered record by record fails the invocation,
// sends nothing, and leaves the handler fit for the next event.
func TestInvokeUnusableEvent(t *testing.T) {
	good := readFile(t, "payloads", "event.json")
	single := base64.StdEncoding.EncodeToString(readFile(t, "payloads", "single.bin"))
	cases := []struct {
		name, event string
		want        error // errors.Is target; nil: any error
	}{
		{"not JSON", "Firehose!", nil},
		{"truncated", `{"records":[{"recordId":"a","data":"` + single, nil},
		{"a JSON array", `[{"recordId":"a"}]`, nil},
		{"no records array", `{"invocationId":"x"}`, envelope.ErrNoRecords},
		{"records is a string", `{"records":"a"}`, envelope.ErrNoRecords},
		{"a record without recordId", `{"records":[{"recordId":"a","data":"` + single + `"},{"data":"` + single + `"}]}`, envelope.ErrNoID},
		{"a record with a null recordId", `{"records":[{"recordId":null,"data":"` + single + `"}]}`, envelope.ErrNoID},
		// The first fault of the record is its data; it has no id either.
		{"a record with bad data and no recordId", `{"records":[{"recordId":"a","data":"` + single + `"},{"data":"!!"}]}`, envelope.ErrBadBase64},
		{"a record whose recordId is a number", `{"records":[{"recordId":7,"data":"` + single + `"}]}`, envelope.ErrWrongType},
	}
	hs := newHarness(t, harnessOpts{})
	recs := loadRecords(t, good, config.Default())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sent := len(hs.rc.requests())
			r := hs.invoke(t, context.Background(), []byte(c.event))
			if r.err == nil {
				t.Fatalf("Invoke answered %s", r.raw)
			}
			if r.raw != nil {
				t.Errorf("an error and a response: %s", r.raw)
			}
			if c.want != nil && !errors.Is(r.err, c.want) {
				t.Errorf("error %v, want %v", r.err, c.want)
			}
			if n := len(hs.rc.requests()) - sent; n != 0 {
				t.Errorf("%d requests sent", n)
			}
			t.Logf("error: %v", r.err)
			// The handler is still fine.
			ok := hs.invoke(t, context.Background(), good)
			checkInvariants(t, recs, ok, hs.rc)
			if ok.inv.RecordsOK != len(recs) {
				t.Errorf("next event: %d of %d records ok", ok.inv.RecordsOK, len(recs))
			}
		})
	}
}

// A panic in the handler's own hooks, after the answers are made, does not
// cost the answer.
func TestInvokePanicAfterAnswering(t *testing.T) {
	rc := startReceiver(t, nil)
	client, err := remotewrite.New(remotewrite.Config{URL: rc.url()}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	mixed := readFile(t, "payloads", "bad", "mixed-event.json")
	recs := loadRecords(t, mixed, config.Default())
	h := firehose.New(config.Default(), client, firehose.Options{
		OnFailed:     func(string, cause.Cause, error) { panic("hook: boom") },
		OnInvocation: func(*telemetry.Invocation) { panic("hook: boom") },
	})
	resp, err := h.Invoke(context.Background(), mixed)
	if err != nil {
		t.Fatal(err)
	}
	var r events.KinesisFirehoseResponse
	if err := json.Unmarshal(resp, &r); err != nil || len(r.Records) != len(recs) {
		t.Fatalf("response %s: %v", resp, err)
	}
	for i, a := range r.Records {
		want := events.KinesisFirehoseTransformedStateDropped
		if recs[i].bad {
			want = events.KinesisFirehoseTransformedStateProcessingFailed
		}
		if a.RecordID != recs[i].id || a.Result != want {
			t.Errorf("record %d: %s %s, want %s %s", i, a.RecordID, a.Result, recs[i].id, want)
		}
	}
}

// Causes and results: every error the writer and the core report, as the
// remote-write client and the core wrap them, says its cause; one switch
// makes it a Firehose result.
func TestCauses(t *testing.T) {
	req := func(err error) error { return &remotewrite.RequestError{Shard: 1, Request: 2, Requests: 3, Err: err} }
	timeout := fmt.Errorf("POST http://x: %w", context.DeadlineExceeded)
	cases := []struct {
		name string
		err  error
		want cause.Cause
	}{
		{"nil", nil, cause.None},
		// The core wraps whatever the decoder returns: its type may change.
		{"a malformed frame", cause.Wrap(cause.Malformed, fmt.Errorf("record 3: %w", &wire.Error{})), cause.Malformed},
		{"a record the envelope could not read", cause.Wrap(cause.Malformed, &envelope.RecordError{Err: envelope.ErrBadBase64}), cause.Malformed},
		{"the limit guard", &remotewrite.LimitError{Reason: remotewrite.ReasonTooManyLabels}, cause.Limit},
		{"400", req(&remotewrite.RejectedError{StatusCode: 400, Body: "invalid metric"}), cause.Rejected},
		{"400 for a value the store holds", req(&remotewrite.RejectedError{StatusCode: 400, Body: "duplicate sample for timestamp"}), cause.Conflict},
		{"400 for an old sample", req(&remotewrite.RejectedError{StatusCode: 400, Body: "out of order sample"}), cause.Conflict},
		{"400 out of bounds", req(&remotewrite.RejectedError{StatusCode: 400, Body: "out of bounds"}), cause.TooOld},
		{"retries exhausted on 503", req(&remotewrite.RetriesExhaustedError{Attempts: 3, Last: &remotewrite.StatusError{StatusCode: 503}}), cause.RetriesExhausted},
		// Every attempt timed out, yet the invocation had time left.
		{"retries exhausted on attempt timeouts", req(&remotewrite.RetriesExhaustedError{Attempts: 3, Last: timeout}), cause.RetriesExhausted},
		{"the invocation's deadline", req(&remotewrite.DeadlineError{Attempts: 2, Last: &remotewrite.StatusError{StatusCode: 503}, Err: context.DeadlineExceeded}), cause.Deadline},
		{"a bare context error", context.Canceled, cause.Deadline},
		{"held back by order", req(&remotewrite.NotSentError{After: "shard 1 request 1/3"}), cause.NotSent},
		{"a panic while sending", &remotewrite.PanicError{Value: "boom"}, cause.Panic},
		{"anything else", req(errors.New("sigv4: sign: no")), cause.Write},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := cause.Of(c.err)
			wantRes := envelope.ProcessingFailed
			if c.err == nil {
				wantRes = envelope.Dropped
			}
			if res := firehose.Result(got); res != wantRes || got != c.want {
				t.Errorf("cause.Of(%v) = %q (%s); want %q (%s)", c.err, got, res, c.want, wantRes)
			}
		})
	}
}

// A receiver slower than the request timeout: attempts run out long before
// the invocation's deadline, and the cause says so.
func TestInvokeAttemptTimeouts(t *testing.T) {
	event := readFile(t, "payloads", "event.json")
	recs := loadRecords(t, event, config.Default())
	hs := newHarness(t, harnessOpts{rw: remotewrite.Config{RequestTimeout: 50 * time.Millisecond, MaxAttempts: 2}})
	hs.rc.hang = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := hs.invoke(t, ctx, event)
	causes := checkInvariants(t, recs, r, hs.rc)
	for i, c := range causes {
		if c != cause.RetriesExhausted.String() {
			t.Errorf("record %d: cause %q, want %q", i, c, cause.RetriesExhausted.String())
		}
	}
}

// Firehose's largest event: 5,000 records with long ids. The answer, which
// never carries data, stays far below Lambda's 6 MB response limit.
func TestInvokeLargeEventResponseSize(t *testing.T) {
	const (
		records = 5000
		// Firehose record ids are 56–62 digits; 256 leaves room for any
		// format change.
		idLen = 256
		// The event itself is about Firehose's 6 MB invocation limit.
		eventSize = 6_000_000
	)
	single := readFile(t, "payloads", "single.bin")
	ids := make([]string, records)
	for i := range ids {
		ids[i] = fmt.Sprintf("%0*d", idLen, i)
	}
	// Every other record is single.bin; the others are not OTel frames
	// (answered ProcessingFailed, the longest result), sized to fill the
	// event: one build to measure the JSON around the data, one to fill.
	build := func(badLen int) []byte {
		data := make([][]byte, records)
		for i := range data {
			data[i] = single
			if i%2 == 1 {
				data[i] = bytes.Repeat([]byte{0xff}, badLen)
			}
		}
		return makeEvent(t, ids, data)
	}
	event := build(len(single))
	event = build(len(single) + (eventSize-len(event))/(records/2)*3/4)
	t.Logf("event: %d bytes", len(event))
	if len(event) > 6<<20 {
		t.Fatalf("test event of %d bytes is over 6 MiB", len(event))
	}
	recs := loadRecords(t, event, config.Default())
	hs := newHarness(t, harnessOpts{})
	r := hs.invoke(t, context.Background(), event)
	causes := checkInvariants(t, recs, r, hs.rc)
	if want := malformedOnly(recs); !slices.Equal(causes, want) {
		t.Errorf("causes differ from the malformed records")
	}
	if len(r.raw) >= 6_000_000 {
		t.Errorf("response of %d bytes is over 6 MB", len(r.raw))
	}
	t.Logf("response: %d bytes for %d records", len(r.raw), records)
}

func malformedOnly(recs []fxRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		if r.bad {
			out[i] = cause.Malformed.String()
		}
	}
	return out
}
