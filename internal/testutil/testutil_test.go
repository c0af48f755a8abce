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
