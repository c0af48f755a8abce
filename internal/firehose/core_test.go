package firehose_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/sample"
)

// The core without the Firehose JSON: one outcome per record, in order;
// a record that could not be read and one that does not decode are
// malformed, whatever the error's type; the good ones are written.
func TestProcess(t *testing.T) {
	single := readFile(t, "payloads", "single.bin")
	rc := startReceiver(t, nil)
	client, err := remotewrite.New(remotewrite.Config{URL: rc.url()}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	core := firehose.NewCore(config.Default(), client, firehose.Options{})
	unread := errors.New("bad base64 at byte 7")
	recs := []firehose.Record{
		{ID: "good", Data: single},
		{ID: "unread", Err: unread},
		{ID: "not frames", Data: bytes.Repeat([]byte{0xff}, 40)},
		{ID: "good again", Data: single},
	}
	outs := core.Process(context.Background(), recs)
	want := []cause.Cause{cause.None, cause.Malformed, cause.Malformed, cause.None}
	if len(outs) != len(want) {
		t.Fatalf("%d outcomes for %d records", len(outs), len(recs))
	}
	for i, o := range outs {
		if o.Cause != want[i] || o.Result != firehose.Result(want[i]) || (o.Err == nil) != (want[i] == cause.None) {
			t.Errorf("record %s: %+v, want cause %q", recs[i].ID, o, want[i])
		}
	}
	if !errors.Is(outs[1].Err, unread) {
		t.Errorf("the read error is lost: %v", outs[1].Err)
	}
	if outs[0].Result != envelope.Dropped || len(rc.acked()) == 0 {
		t.Errorf("nothing written: %+v", outs[0])
	}
}

// The response is the caller's: the next invocation does not change it.
func TestInvokeResponseIsTheCallers(t *testing.T) {
	hs := newHarness(t, harnessOpts{})
	event := readFile(t, "payloads", "event.json")
	mixed := readFile(t, "payloads", "bad", "mixed-event.json")
	first, err := hs.h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	kept := bytes.Clone(first)
	if _, err := hs.h.Invoke(context.Background(), mixed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, kept) {
		t.Fatal("the second invocation overwrote the first response")
	}
}

// failingWriter fails the samples it is given as failures says: each
// failure over the fraction [lo, hi) of them, with its error.
type failingWriter struct {
	failures []struct {
		lo, hi float64
		err    error
	}
}

func (w *failingWriter) Write(_ context.Context, samples []sample.Sample) remotewrite.Report {
	var rep remotewrite.Report
	n := float64(len(samples))
	for _, f := range w.failures {
		rep.Failed = append(rep.Failed, remotewrite.Failure{
			Ranges: []remotewrite.Range{{Lo: int(f.lo * n), Hi: int(f.hi * n)}}, Err: f.err,
		})
	}
	return rep
}

// A record whose samples failed in several requests takes a cause a replay
// can cure over one it cannot, whichever sample came first: `cwstream
// replay` must not say that replaying again cannot help when part of the
// record only ran out of retries. Among causes alike, the first sample's.
func TestProcessRecordCausePrefersReplayable(t *testing.T) {
	single := readFile(t, "payloads", "single.bin")
	tooOld := &remotewrite.RejectedError{StatusCode: 400, Body: "out of bounds"}
	exhausted := &remotewrite.RetriesExhaustedError{Attempts: 3, Last: errors.New("HTTP 503")}
	conflict := &remotewrite.RejectedError{StatusCode: 400, Body: "duplicate sample for timestamp"}
	type fail = struct {
		lo, hi float64
		err    error
	}
	for _, tc := range []struct {
		name     string
		failures []fail
		want     cause.Cause
	}{
		{"too old first, then retries exhausted", []fail{{0, 0.5, tooOld}, {0.5, 1, exhausted}}, cause.RetriesExhausted},
		{"retries exhausted first, then too old", []fail{{0.5, 1, exhausted}, {0, 0.5, tooOld}}, cause.RetriesExhausted},
		{"conflict first, then too old", []fail{{0, 0.5, conflict}, {0.5, 1, tooOld}}, cause.Conflict},
		{"too old on the later samples, conflict on the first", []fail{{0.5, 1, tooOld}, {0, 0.5, conflict}}, cause.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core := firehose.NewCore(config.Default(), &failingWriter{failures: tc.failures}, firehose.Options{})
			outs := core.Process(context.Background(), []firehose.Record{{ID: "r", Data: single}})
			if outs[0].Cause != tc.want || outs[0].Result != envelope.ProcessingFailed {
				t.Errorf("cause %v, result %v; want %v, ProcessingFailed", outs[0].Cause, outs[0].Result, tc.want)
			}
		})
	}
}
