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
