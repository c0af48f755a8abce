package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

// errorMap returns the message patterns of the error map in
// docs/operations.md: the code spans of each row's first column, each cut
// at "…" and placeholders into the pieces a message must hold in order.
func errorMap(t *testing.T) [][]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Error messages: cause and fix\n")
	if !ok {
		t.Fatal("docs/operations.md has no error map section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	span := regexp.MustCompile("`([^`]+)`")
	var pats [][]string
	for line := range strings.Lines(section) {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| message") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, m := range span.FindAllStringSubmatch(first, -1) {
			var pieces []string
			// "…" and the placeholders N, L, M, I, X stand for anything.
			for p := range strings.SplitSeq(placeholder.ReplaceAllString(m[1], "…"), "…") {
				if p = strings.TrimSpace(p); p != "" {
					pieces = append(pieces, p)
				}
			}
			pats = append(pats, pieces)
		}
	}
	return pats
}

var placeholder = regexp.MustCompile(`\b[NLMIX]\b`)

// covered reports whether msg holds every piece of some pattern, in order.
func covered(msg string, pats [][]string) bool {
	for _, pieces := range pats {
		rest, ok := msg, true
		for _, p := range pieces {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

// Every error line the commands print for the bad payloads and the
// unreadable sources has its row in the error map, and the examples the
// README and the map quote are what dryrun prints.
func TestErrorMapCoversTheMessages(t *testing.T) {
	pats := errorMap(t)
	if len(pats) < 10 {
		t.Fatalf("%d patterns in the error map", len(pats))
	}
	objects, _ := prefixWithBadObjects(t)
	dir := t.TempDir()
	for n, b := range objects {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "g-text"), []byte("hello, not a payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{dir, testutil.Testdata(t, "config", "relabel.yaml")}
	bad, err := filepath.Glob(testutil.Testdata(t, "payloads", "bad") + "/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range bad {
		if !strings.HasSuffix(p, ".txt") {
			args = append(args, p)
		}
	}
	_, _, errs := runCLI(t, "", append([]string{"dryrun"}, args...)...)
	n := 0
	for line := range strings.Lines(errs) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "cwstream dryrun: ") { // the count, last
			continue
		}
		n++
		if !covered(line, pats) {
			t.Errorf("no row of the error map in docs/operations.md matches:\n%s", line)
		}
	}
	if n < 8 {
		t.Fatalf("only %d error lines:\n%s", n, errs)
	}

	readme, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, example := range []string{
		"truncated-varint.bin: at byte 14706: frame: length prefix: unexpected EOF",
		"missing-timestamp.jsonl: at line 3, byte 613: JSON: no timestamp",
	} {
		if !strings.Contains(string(readme), example) {
			t.Errorf("README.md no longer quotes %q", example)
		}
		if !strings.Contains(errs, "/bad/"+example) {
			t.Errorf("dryrun does not print the README's %q:\n%s", example, errs)
		}
	}
}
