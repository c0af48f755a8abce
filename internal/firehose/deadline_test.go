package firehose_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/telemetry"
	"github.com/cwstream/cwstream/internal/testutil"
)

// countingWriter acknowledges everything and counts the calls.
type countingWriter struct{ calls int }

func (w *countingWriter) Write(_ context.Context, s []sample.Sample) remotewrite.Report {
	w.calls++
	return remotewrite.Report{SamplesWritten: len(s)}
}

// When the time left is already inside the reserve, no record is decoded
// or written: every one is answered ProcessingFailed with cause deadline,
// at once, so the answer beats the Lambda timeout. The invocation's
// deadline is generous (inside a longer reserve) so that only a handler
// that waits or works could miss it, never a slow machine.
func TestNoTimeLeftFailsRecordsAtOnce(t *testing.T) {
	event, err := os.ReadFile(testutil.Testdata(t, "payloads", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := &countingWriter{}
	causes := map[string]int{}
	var inv *telemetry.Invocation
	h := firehose.New(config.Default(), w, firehose.Options{
		Reserve:      time.Minute,
		OnFailed:     func(_ string, c cause.Cause, _ error) { causes[c.String()]++ },
		OnInvocation: func(i *telemetry.Invocation) { inv = i },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	answers := invoke(t, h, ctx, event)
	if err := ctx.Err(); err != nil {
		t.Fatalf("answered only after the invocation's deadline (%v): it waited instead of failing the records at once", err)
	}
	if len(answers) == 0 || causes[cause.Deadline.String()] != len(answers) || w.calls != 0 {
		t.Fatalf("answers %v, causes %v, writer called %d times", answers, causes, w.calls)
	}
	if inv == nil || inv.RecordsIn != len(answers) || inv.Datapoints != 0 || inv.Samples != 0 {
		t.Fatalf("invocation %+v: with no time left nothing may be decoded", inv)
	}
}
