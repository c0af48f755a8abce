package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// replay into a real Prometheus: every input form, then read back; a
// second replay changes nothing; bad input is named and exits 1.
func TestReplayIntoPrometheus(t *testing.T) {
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
	p := func(n string) string { return testutil.Testdata(t, "payloads", n) }
	args := []string{"replay", "--to", prom.WriteURL(),
		"--query", "count(aws_applicationelb_request_count_sum)",
		p("event.json.gz"), p("processing-failed.jsonl"), p("raw-multi.bin.gz")}
	code, out, errs := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{"replayed 3 sources", "0 failed", "count(aws_applicationelb_request_count_sum)  @ 2024-03-12T10:16:00Z", "{} => 5"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	from, to := time.Date(2024, 3, 12, 10, 0, 0, 0, time.UTC), time.Date(2024, 3, 12, 11, 0, 0, 0, time.UTC)
	dump, err := prom.Dump(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	// The event's records are the processing-failed lines' and the raw
	// object's too: the store holds exactly the event's golden samples.
	golden, err := os.ReadFile(testutil.Testdata(t, "golden", "event.prom"))
	if err != nil {
		t.Fatal(err)
	}
	storeHolds(t, prom, string(golden))

	// Replaying again is harmless.
	if code, out, errs := runCLI(t, "", args...); code != 0 {
		t.Fatalf("second replay: exit %d\n%s\n%s", code, out, errs)
	}
	if again, _ := prom.Dump(context.Background(), from, to); again != dump {
		t.Fatal("a second replay changed the store")
	}

	// Bad input: every bad record named, good ones written, exit 1.
	code, out, errs = runCLI(t, "", "replay", "--to", prom.WriteURL(), p("bad/mixed-event.json"))
	if code != 1 || !strings.Contains(out, "6 records (4 ok, 2 failed)") {
		t.Fatalf("exit %d, stdout %s", code, out)
	}
	for _, want := range []string{"FAILED", "mixed-event.json: record 1 at byte", "record 2 (id ", "malformed: frame 0 at offset 0", "2 of 6 records could not be written"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// A store that cannot be reached: every record is named as failed and the
// exit status is 1.
func TestReplayUnreachable(t *testing.T) {
	code, out, errs := runCLI(t, "", "replay", "--to", "http://127.0.0.1:1/api/v1/write", "--concurrency", "1", "--max-attempts", "2",
		testutil.Testdata(t, "payloads", "single.bin"))
	if code != 1 || !strings.Contains(out, "1 failed") || !strings.Contains(errs, "frames at byte 0: retries_exhausted") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

func TestReplayUsage(t *testing.T) {
	if code, _, errs := runCLI(t, "", "replay", "--sigv4", "--no-sigv4", "x"); code != 2 || !strings.Contains(errs, "contradict") {
		t.Errorf("exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "replay", "--sigv4", "--query", "up", "--to", "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", "x"); code != 1 || !strings.Contains(errs, "unsigned endpoint") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
