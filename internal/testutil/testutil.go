// Package testutil holds what tests across packages share: finding the
// repository and the recorded payloads beside it, starting moto_server.
package testutil

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
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

// RealPayloadNames are the recorded metric-stream objects in
// ../shared/real-payloads (beside the repository, never copied into it).
var RealPayloadNames = []string{
	"otel07-firehose-http-delivery.bin",
	"otel07-firehose-http-delivery-2.bin",
}

// RealPayload reads one recorded payload. It fails the test when the folder
// is missing: CI lays shared/ beside the checkout, so a missing folder is a
// broken setup, not a reason to skip.
func RealPayload(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(tb), "..", "shared", "real-payloads", name))
	if err != nil {
		tb.Fatalf("recorded payload (expected in ../shared/real-payloads beside the repository): %v", err)
	}
	return b
}

// Testdata returns the path of a file under the repository's testdata/.
func Testdata(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{RepoRoot(tb), "testdata"}, elem...)...)
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

// StartMoto starts moto_server on a free loopback port and returns its URL.
// Without moto_server the test is skipped, except under CI, where that is a
// failure.
func StartMoto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server is not on PATH, and CI is set: install moto (pip install 'moto[server]')")
		}
		t.Skip("moto_server is not on PATH: skipping this test (install moto to run it)")
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
