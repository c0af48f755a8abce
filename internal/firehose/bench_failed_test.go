package firehose_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// BenchmarkInvokeAllFailed is an event whose every request the store
// rejects (400): what it costs to account for failures, inside the time
// reserved to answer before the deadline.
func BenchmarkInvokeAllFailed(b *testing.B) {
	event, _ := benchEvent(b, 1_800_000)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "out of bounds", http.StatusBadRequest)
	}))
	defer sink.Close()
	client, err := remotewrite.New(remotewrite.Config{URL: sink.URL + "/api/v1/write"}.WithDefaults())
	if err != nil {
		b.Fatal(err)
	}
	var samples, ok int
	h := firehose.New(config.Default(), client, firehose.Options{
		OnInvocation: func(inv *telemetry.Invocation) { samples, ok = inv.Samples, inv.RecordsOK },
	})
	ctx := context.Background()
	if _, err := h.Invoke(ctx, event); err != nil {
		b.Fatal(err)
	}
	if ok != 0 {
		b.Fatalf("%d records ok, want none", ok)
	}
	b.Run(fmt.Sprintf("%dsamples", samples), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Invoke(ctx, event); err != nil {
				b.Fatal(err)
			}
		}
	})
}
