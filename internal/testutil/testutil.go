// Package testutil holds what tests across packages share: finding the
// repository and the recorded payloads beside it, golden files, the one
// rule for a missing prerequisite (skip on a developer machine, fail in CI),
// moto_server, and a buffer for a child process's output.
package testutil

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
)

// RepoRoot returns the directory holding the module's go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Missing reports a prerequisite a test cannot run without (a tool, the
// recorded payloads): it skips the test with msg on a developer machine,
// and fails it under CI=true, where a skip would hide a broken setup.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	tb.Skip(msg)
}

// RealPayloadNames are the recorded metric-stream objects in the team's
// shared folder (see SharedDir), never copied into the repository.
var RealPayloadNames = []string{
	"otel07-firehose-http-delivery.bin",
	"otel07-firehose-http-delivery-2.bin",
}

// SharedEnv names the variable that points at the shared folder when it is
// not beside the checkout.
const SharedEnv = "CWSTREAM_SHARED"

// SharedDir returns the team's shared folder, which holds the recorded
// payloads (real-payloads/): $CWSTREAM_SHARED, else ../shared beside the
// repository, else ../shared beside the main checkout of a git worktree.
// When there is none it calls Missing.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	root := RepoRoot(tb)
	candidates := []string{os.Getenv(SharedEnv), filepath.Join(root, "..", "shared")}
	if main := mainCheckout(root); main != "" {
		candidates = append(candidates, filepath.Join(main, "..", "shared"))
	}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, "real-payloads")); err == nil && fi.IsDir() {
			return dir
		}
	}
	Missing(tb, "the recorded payloads are not here: they live in the team's shared folder, "+
		"shared/real-payloads beside the repository (set "+SharedEnv+" to that shared folder to use another place)")
	return ""
}

// mainCheckout returns the main checkout's directory when root is a git
// worktree (its .git is a file naming the worktree's git directory), else "".
func mainCheckout(root string) string {
	b, err := os.ReadFile(filepath.Join(root, ".git"))
	if err != nil {
		return "" // a directory (the main checkout itself) or no git at all
	}
	gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if !ok {
		return ""
	}
	if !filepath.IsAbs(gitdir) {
		gitdir = filepath.Join(root, gitdir)
	}
	common := filepath.Join(gitdir, "..", "..") // <main>/.git/worktrees/<name>
	if c, err := os.ReadFile(filepath.Join(gitdir, "commondir")); err == nil {
		common = strings.TrimSpace(string(c))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitdir, common)
		}
	}
	return filepath.Dir(filepath.Clean(common))
}

// RealPayloadPath returns the path of one recorded payload (see SharedDir).
func RealPayloadPath(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(SharedDir(tb), "real-payloads", name)
}

// RealPayload reads one recorded payload (see SharedDir).
func RealPayload(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(RealPayloadPath(tb, name))
	if err != nil {
		tb.Fatalf("recorded payload: %v", err)
	}
	return b
}

// RealPayloads reads every recorded payload, in RealPayloadNames order.
func RealPayloads(tb testing.TB) [][]byte {
	tb.Helper()
	out := make([][]byte, len(RealPayloadNames))
	for i, n := range RealPayloadNames {
		out[i] = RealPayload(tb, n)
	}
	return out
}

// Testdata returns the path of a file under the repository's testdata/.
func Testdata(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{RepoRoot(tb), "testdata"}, elem...)...)
}

// update is the -update flag of every test binary that checks golden
// files; `make golden` sets it for all of them.
var update = flag.Bool("update", false, "rewrite the golden files this package checks (review the diff)")

// Golden compares got with the golden file at path, or with -update
// rewrites the file. A difference names the first line that differs.
func Golden(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run make golden to create it, then review it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			tb.Fatalf("%s differs at line %d (review, then make golden):\n got  %s\n want %s", path, i+1, gl[i], wl[i])
		}
	}
	tb.Fatalf("%s: got %d lines, want %d (review, then make golden)", path, len(gl), len(wl))
}

// FirehoseEvent builds a Firehose data-transformation event holding one
// record per element of data, with the given record ids (r0, r1, … when
// ids is nil).
func FirehoseEvent(data [][]byte, ids []string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"invocationId":"test","deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/cw","region":"us-east-1","records":[`)
	for i, d := range data {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf("r%d", i)
		if ids != nil {
			id = ids[i]
		}
		fmt.Fprintf(&b, `{"recordId":%q,"approximateArrivalTimestamp":1710238620000,"data":%q}`, id, base64.StdEncoding.EncodeToString(d))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// ProcessingFailedLines builds the JSON lines Firehose writes under its
// processing-failed prefix for records a Lambda transformation failed, one
// line per element of data.
func ProcessingFailedLines(data [][]byte) []byte {
	var b bytes.Buffer
	for i, d := range data {
		line, err := json.Marshal(map[string]any{
			"attemptsMade":           4,
			"arrivalTimestamp":       1700000000000 + i,
			"errorCode":              "Lambda.FunctionError",
			"errorMessage":           fmt.Sprintf("The Lambda function was successfully invoked but it returned an error result. (%d)", i),
			"attemptEndingTimestamp": 1700000060000,
			"rawData":                base64.StdEncoding.EncodeToString(d),
			"lambdaArn":              "arn:aws:lambda:us-east-1:123456789012:function:cwstream:$LATEST",
		})
		if err != nil {
			panic(err) // a map of strings and numbers always marshals
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Gzip returns b compressed as a gzip stream, as Firehose writes S3
// objects and `cwstream` reads any input.
func Gzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// StartMoto starts moto_server on a free loopback port and returns its URL.
// Without moto_server the test is skipped, except under CI, where that is a
// failure.
func StartMoto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		Missing(t, "moto_server is not on PATH: this test needs it (pip install 'moto[server]')")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so cleanup ends its children too
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("moto_server exited: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := client.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server not ready at %s after 60s\n%s", url, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CPUTime is the CPU time the process has used (user and system), for
// benchmarks that report work per CPU-second: on a machine shared with other
// work, wall time also counts the waits for a CPU.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StaticAWSCredentials makes the SDK's default chain find static test
// credentials in the environment and nothing from the machine (no profile,
// no shared files, no instance metadata) until the test ends.
func StaticAWSCredentials(tb testing.TB) {
	tb.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	tb.Setenv("AWS_SESSION_TOKEN", "")
	tb.Setenv("AWS_PROFILE", "")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

var (
	markdownHeadingRE = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t#]*$`)
	markdownAnchorRE  = regexp.MustCompile(`<a (?:id|name)="([^"]+)"`)
)

// MarkdownAnchors returns the fragment ids GitHub gives a Markdown
// document: one per heading, its text lower-cased with punctuation removed
// and spaces turned into hyphens, and any <a id="…"> or <a name="…">. GitHub
// has no {#id} heading attribute: such a heading's anchor includes the
// braces' text, so a link to #id lands at the top of the page.
func MarkdownAnchors(doc []byte) map[string]bool {
	anchors := map[string]bool{}
	for _, m := range markdownHeadingRE.FindAllSubmatch(doc, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(string(m[1])) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		anchors[b.String()] = true
	}
	for _, m := range markdownAnchorRE.FindAllSubmatch(doc, -1) {
		anchors[string(m[1])] = true
	}
	return anchors
}
