package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// dryrun, cost and replay cut an object into the same records (package
// source), so for every bad payload they count the same datapoints: the
// preview and the bill are what is written. A new file under
// testdata/payloads/bad/ is covered without touching this test.
func TestCommandsAgreeOnBadPayloads(t *testing.T) {
	dir := testutil.Testdata(t, "payloads", "bad")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if ent.IsDir() || strings.HasSuffix(ent.Name(), ".txt") { // .txt files say what is wrong with their payload
			continue
		}
		n++
		path := filepath.Join(dir, ent.Name())
		t.Run(ent.Name(), func(t *testing.T) {
			_, summary, errs := runCLI(t, "", "dryrun", "--summary", path)
			dry := intAfter(t, summary, `(?m)^datapoints: (\d+)`)
			_, samples, _ := runCLI(t, "", "dryrun", path)
			_, bill, cerrs := runCLI(t, "", "cost", path)
			billed := intAfter(t, bill, `measured: .*?(\d+) updates`)

			prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
			code, out, rerrs := runCLI(t, "", "replay", "--to", prom.WriteURL(), path)
			if code != 1 {
				t.Errorf("replay: exit %d, want 1 (the payload is bad)\n%s", code, rerrs)
			}
			written := intAfter(t, out, `(\d+) datapoints`)
			if dry == 0 || dry != billed || dry != written {
				t.Fatalf("datapoints: dryrun %d, cost %d, replay %d; want one number\ndryrun: %s\ncost: %s\nreplay: %s%s", dry, billed, written, errs, cerrs, out, rerrs)
			}
			// The bad frame or line is a record of its own, so every sample
			// dryrun shows is one replay writes: the store holds exactly
			// those.
			storeHolds(t, prom, samples)
			// And each command names the bad one at the same place.
			places := failedPlaces(errs)
			if len(places) == 0 {
				t.Fatalf("dryrun names no bad record:\n%s", errs)
			}
			for _, place := range places {
				if !strings.Contains(cerrs, place) || !strings.Contains(rerrs, place) {
					t.Errorf("dryrun names %q, which cost or replay does not:\ncost: %s\nreplay: %s", place, cerrs, rerrs)
				}
			}
		})
	}
	if n == 0 {
		t.Fatalf("no payloads in %s", dir)
	}
}

// intAfter returns the number the first group of re captures in s.
func intAfter(t *testing.T, s, re string) int {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// failedPlaces returns the "source: ... byte N" part of each located error
// line of stderr.
func failedPlaces(stderr string) []string {
	re := regexp.MustCompile(`(?m)^(\S+: (?:record \d+ .*?)?at (?:line \d+, )?byte \d+):`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(stderr, -1) {
		out = append(out, m[1])
	}
	return out
}
