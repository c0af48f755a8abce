package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

// runCLI runs one command line and returns its exit status and output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, testutil.Testdata(t, "golden", name), []byte(got))
}

// Every fixture's samples, in each input form, against reviewed golden files.
func TestDryrunGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"single.prom", []string{"testdata/payloads/single.bin"}},
		{"ecs.prom", []string{"testdata/payloads/ecs.bin"}},
		{"rds.prom", []string{"testdata/payloads/rds.bin"}},
		{"alb.prom", []string{"testdata/payloads/alb.bin"}},
		{"ecs-2.prom", []string{"testdata/payloads/ecs-2.bin"}},
		{"alb-2.prom", []string{"testdata/payloads/alb-2.bin"}},
		{"multi.prom", []string{"testdata/payloads/multi.bin"}},
		{"odd.prom", []string{"testdata/payloads/odd.bin"}},
		{"event.prom", []string{"testdata/payloads/event.json"}},
		{"processing-failed.prom", []string{"testdata/payloads/processing-failed.jsonl"}},
		{"alb-configured.prom", []string{"--config", "testdata/config/relabel.yaml", "testdata/payloads/alb.bin"}},
		{"summary.txt", []string{"--summary", "testdata/payloads/ecs.bin", "testdata/payloads/rds.bin", "testdata/payloads/alb.bin"}},
		// The recorded payloads in the shared folder (never copied into
		// the repository): their cardinality report is the golden file.
		{"real-payloads-summary.txt", []string{"--summary", "--top", "25",
			"real:otel07-firehose-http-delivery.bin", "real:otel07-firehose-http-delivery-2.bin"}},
	}
	root := testutil.RepoRoot(t)
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			args := []string{"dryrun"}
			for _, a := range tt.args {
				if strings.HasPrefix(a, "testdata/") {
					a = filepath.Join(root, a)
				} else if name, ok := strings.CutPrefix(a, "real:"); ok {
					a = testutil.RealPayloadPath(t, name)
				}
				args = append(args, a)
			}
			code, out, errs := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden(t, tt.golden, out)
		})
	}
}

// The same records in every form give the same samples: the event, its
// gzip, and the raw object Firehose would write (frames concatenated).
func TestDryrunFormsAgree(t *testing.T) {
	p := func(n string) string { return testutil.Testdata(t, "payloads", n) }
	_, event, _ := runCLI(t, "", "dryrun", p("event.json"))
	_, gz, _ := runCLI(t, "", "dryrun", p("event.json.gz"))
	_, raw, _ := runCLI(t, "", "dryrun", p("raw-multi.bin.gz"))
	b, err := os.ReadFile(p("event.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, stdin, _ := runCLI(t, string(b), "dryrun", "-")
	if event == "" || gz != event || raw != event || stdin != event {
		t.Fatalf("forms disagree: event %d bytes, gzip %d, raw %d, stdin %d", len(event), len(gz), len(raw), len(stdin))
	}
}

func TestDryrunErrors(t *testing.T) {
	p := func(n string) string { return testutil.Testdata(t, "payloads", n) }
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		wantLines  int // samples still printed
	}{
		{"truncated varint", []string{p("bad/truncated-varint.bin")}, 1, []string{"truncated-varint.bin: at byte 14706: frame: length prefix: unexpected EOF"}, -1},
		{"length past end", []string{p("bad/length-past-end.bin")}, 1, []string{"length-past-end.bin: at byte 11342: frame length 6048 runs past the end"}, -1},
		{"bad protobuf", []string{p("bad/bad-protobuf.bin")}, 1, []string{"bad-protobuf.bin: at byte 6493: in the frame at byte 6492: "}, -1},
		{"mixed event keeps the good records", []string{p("bad/mixed-event.json")}, 1,
			[]string{"record 1", "base64", "record 2 (id ", "runs past the end", "2 of 6 records"}, -1},
		{"not a metric stream", []string{testutil.Testdata(t, "config", "relabel.yaml")}, 1, []string{"relabel.yaml: at byte 0: not a metric-stream record", "found text starting with"}, 0},
		{"missing file", []string{p("nope.bin")}, 1, []string{"nope.bin"}, 0},
		{"no args", nil, 2, []string{"usage: cwstream dryrun"}, 0},
		{"bad flag", []string{"--frobnicate"}, 2, []string{"frobnicate"}, 0},
		{"bad config", []string{"--config", testutil.Testdata(t, "config", "invalid", "unknown-statistic.yaml"), p("single.bin")}, 1, []string{"unknown-statistic.yaml", "statistics"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", append([]string{"dryrun"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, errs)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			lines := strings.Count(out, "\n")
			if tt.wantLines == 0 && lines != 0 {
				t.Errorf("printed %d lines, want none", lines)
			}
			if tt.wantLines < 0 && lines == 0 {
				t.Errorf("printed nothing; the good frames and records must still be shown")
			}
		})
	}
}

func TestUsage(t *testing.T) {
	if code, _, errs := runCLI(t, ""); code != 2 || !strings.Contains(errs, "dryrun") {
		t.Errorf("no args: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "frob"); code != 2 || !strings.Contains(errs, `unknown command "frob"`) {
		t.Errorf("unknown: exit %d, stderr %q", code, errs)
	}
	code, out, _ := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "cwstream ") || !strings.Contains(out, "built with go") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, flag, _ := runCLI(t, "", "--version"); code != 0 || flag != out {
		t.Errorf("--version: exit %d, %q; want %q", code, flag, out)
	}
}
