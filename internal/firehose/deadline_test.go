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
// at once, so the answer beats the Lambda timeout.
func TestNoTimeLeftFailsRecordsAtOnce(t *testing.T) {
	event, err := os.ReadFile(testutil.Testdata(t, "payloads", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := &countingWriter{}
	causes := map[string]int{}
	h := firehose.New(config.Default(), w, firehose.Options{
		Reserve:  time.Second,
		OnFailed: func(_ string, c cause.Cause, _ error) { causes[c.String()]++ },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	answers := invoke(t, h, ctx, event)
	if len(answers) == 0 || causes[cause.Deadline.String()] != len(answers) || w.calls != 0 {
		t.Fatalf("answers %v, causes %v, writer called %d times", answers, causes, w.calls)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("took %v with no time left", d)
	}
}
