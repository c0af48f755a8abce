package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cwstream/cwstream/internal/source"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// The summaries replay, dryrun and cost print are read by people: counts
// in words, never a Go value's default format.

// plural writes n and thing, with an s when n is not 1 ("retry" becomes
// "retries", "key" "keys").
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	if t, ok := strings.CutSuffix(thing, "y"); ok && !strings.ContainsAny(t[len(t)-1:], "aeiou") {
		return fmt.Sprintf("%d %sies", n, t)
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// sourcesText says how many sources were tried and how many of them could
// not be read.
func sourcesText(t source.Tally) string {
	s := plural(t.Sources, "source")
	if n := len(t.Unreadable); n > 0 {
		s += fmt.Sprintf(" (%d unreadable)", n)
	}
	return s
}

// replayText is a replay's counts: records, datapoints, samples, requests
// and the records that failed by cause, in words.
func replayText(inv *telemetry.Invocation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d ok, %d failed), %s, %d samples written of %d, %s, %s",
		plural(inv.RecordsIn, "record"), inv.RecordsOK, inv.TotalFailed(), plural(inv.Datapoints, "datapoint"),
		inv.SamplesWritten, inv.Samples, plural(inv.Requests, "request"), plural(inv.Retries, "retry"))
	if len(inv.RecordsFailed) > 0 {
		b.WriteString("; failed: ")
		for i, c := range slices.Sorted(maps.Keys(inv.RecordsFailed)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d %s", inv.RecordsFailed[c], strings.ReplaceAll(c, "_", " "))
		}
	}
	if t := inv.Tags; t != nil {
		fmt.Fprintf(&b, "; %d info series written (%d failed), %s (%d failed)", t.InfoSeries, t.InfoSeriesFailed, plural(t.Lookups, "tag lookup"), t.LookupErrors)
	}
	return b.String()
}

// listUnreadable writes a line to stderr for each source that gave no
// records, saying why, and returns the error that makes the exit status 1,
// or nil when every source was read.
func listUnreadable(e *env, t source.Tally) error {
	for _, u := range t.Unreadable {
		msg := u.Err.Error()
		if !strings.HasPrefix(msg, u.Source) {
			msg = u.Source + ": " + msg
		}
		fmt.Fprintln(e.stderr, "UNREADABLE", msg)
	}
	return t.Err()
}

// joinFailures joins a command's failures into one error for its exit
// status and last line; nil when there are none.
func joinFailures(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}
