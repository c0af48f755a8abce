package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// A git worktree's .git is a file naming its git directory, whose
// commondir leads back to the main checkout's .git.
func TestMainCheckout(t *testing.T) {
	root := t.TempDir()
	main, wt := filepath.Join(root, "main"), filepath.Join(root, "wt", "x")
	gitdir := filepath.Join(main, ".git", "worktrees", "x")
	for _, d := range []string{gitdir, wt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(gitdir, "commondir"), "../..\n")
	write(filepath.Join(wt, ".git"), "gitdir: "+gitdir+"\n")
	if got := mainCheckout(wt); got != main {
		t.Errorf("worktree: mainCheckout = %q, want %q", got, main)
	}
	if got := mainCheckout(main); got != "" {
		t.Errorf("main checkout (a .git directory): mainCheckout = %q, want \"\"", got)
	}
	write(filepath.Join(wt, ".git"), "not a gitdir line")
	if got := mainCheckout(wt); got != "" {
		t.Errorf("unreadable .git file: mainCheckout = %q, want \"\"", got)
	}
}

// GitHub's heading anchors (the slugs its Markdown renderer gives
// headings): a {#id} suffix is heading text to it, not an id.
func TestMarkdownAnchors(t *testing.T) {
	doc := []byte("# cwstream operations\n" +
		"### LambdaErrors\n" +
		"## Replaying failed records\n" +
		"### System overview (`cwstream-overview`)\n" +
		"### ALBHigh5xxShare {#albhigh5xxshare}\n" +
		"<a id=\"replay\"></a>\n" +
		"#not-a-heading\n")
	got := MarkdownAnchors(doc)
	for _, want := range []string{
		"cwstream-operations", "lambdaerrors", "replaying-failed-records",
		"system-overview-cwstream-overview", "albhigh5xxshare-albhigh5xxshare", "replay",
	} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["albhigh5xxshare"] || got["not-a-heading"] || len(got) != 6 {
		t.Errorf("anchors %v", got)
	}
}
