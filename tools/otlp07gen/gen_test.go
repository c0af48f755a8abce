package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/golang/protobuf/proto"
	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
)

var update = flag.Bool("update", false, "rewrite the committed fixtures in ../../testdata/payloads")

const committed = "../../testdata/payloads"

func generated(t *testing.T) map[string]file {
	t.Helper()
	files, err := generate()
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	m := map[string]file{}
	for _, f := range files {
		if _, dup := m[f.Path]; dup {
			t.Fatalf("generated %s twice", f.Path)
		}
		m[f.Path] = f
	}
	return m
}

func readCommitted(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(committed, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

// TestCommittedFilesMatchGenerator regenerates into a temporary directory through the
// command's own Run and checks the committed fixtures are exactly what it writes.
func TestCommittedFilesMatchGenerator(t *testing.T) {
	if *update {
		m := Main{Out: committed, Stdout: io.Discard}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	m := Main{Stdout: io.Discard}
	if err := m.ParseFlags([]string{"-out", dir}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	list := func(root string) []string {
		var out []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := list(dir), list(committed)
	if !slices.Equal(want, got) {
		t.Fatalf("committed files differ from generated ones (run `go run . -out %s`):\ngenerated %v\ncommitted %v", committed, want, got)
	}
	for _, rel := range want {
		gen, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		com := readCommitted(t, rel)
		if strings.HasSuffix(rel, ".gz") {
			// compress/flate may change its output between Go releases; what must not
			// drift is the content.
			gen, com = gunzip(t, gen), gunzip(t, com)
		}
		if !bytes.Equal(gen, com) {
			t.Errorf("%s: committed file differs from the generator's output (%d vs %d bytes); regenerate with `go run . -out %s`", rel, len(com), len(gen), committed)
		}
	}
}

// TestGenerateIsDeterministic catches any randomness that would make the drift test flaky.
func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generated(t), generated(t)
	for p, f := range a {
		if !bytes.Equal(f.Data, b[p].Data) {
			t.Errorf("%s differs between two runs", p)
		}
	}
}

// TestFixturesRoundTrip unmarshals every frame of every committed fixture with the official
// types, re-marshals it to the same bytes, and checks the CloudWatch shape and the
// expected.json beside it.
func TestFixturesRoundTrip(t *testing.T) {
	for _, fx := range fixtures() {
		name := fx.Name
		t.Run(name, func(t *testing.T) {
			rec := readCommitted(t, name+".bin")
			spans, err := splitFrames(rec)
			if err != nil {
				t.Fatal(err)
			}
			var want []expectedPoint
			if err := json.Unmarshal(readCommitted(t, name+".expected.json"), &want); err != nil {
				t.Fatal(err)
			}
			n := 0
			for fi, sp := range spans {
				var req colpb.ExportMetricsServiceRequest
				if err := proto.Unmarshal(rec[sp.Start:sp.End], &req); err != nil {
					t.Fatalf("frame %d at byte %d: %v", fi, sp.Offset, err)
				}
				again, err := proto.Marshal(&req)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, rec[sp.Start:sp.End]) {
					t.Errorf("frame %d: re-marshalled bytes differ", fi)
				}
				for _, rm := range req.ResourceMetrics {
					var keys []string
					for _, kv := range rm.Resource.Attributes {
						keys = append(keys, kv.Key)
					}
					if !slices.Equal(keys, []string{"cloud.provider", "cloud.account.id", "cloud.region", "aws.exporter.arn"}) {
						t.Errorf("frame %d: resource attributes %v", fi, keys)
					}
					for _, ilm := range rm.InstrumentationLibraryMetrics {
						for _, m := range ilm.Metrics {
							for _, dp := range m.GetDoubleSummary().GetDataPoints() {
								if n >= len(want) {
									t.Fatalf("more data points than %s.expected.json has", name)
								}
								w := want[n]
								n++
								if w.Frame != fi || w.OtelName != m.Name || w.Count != dp.Count || w.Sum != dp.Sum || w.TimeUnixNano != dp.TimeUnixNano {
									t.Errorf("point %d: expected.json %+v does not match the frame", n-1, w)
								}
								if m.Name != "amazonaws.com/"+w.Namespace+"/"+w.MetricName || dp.Labels[0].Key != "Namespace" || dp.Labels[1].Key != "MetricName" {
									t.Errorf("point %d: name %q, labels %v", n-1, m.Name, dp.Labels[:2])
								}
								if dp.TimeUnixNano-dp.StartTimeUnixNano != 60e9 || dp.TimeUnixNano%60e9 != 0 {
									t.Errorf("point %d: window %d..%d", n-1, dp.StartTimeUnixNano, dp.TimeUnixNano)
								}
								qs := dp.QuantileValues
								if len(qs) < 2 || qs[0].Quantile != 0 || qs[len(qs)-1].Quantile != 1 {
									t.Errorf("point %d: quantiles %v", n-1, qs)
								}
								for i := 1; i < len(qs); i++ {
									if qs[i].Quantile <= qs[i-1].Quantile || qs[i].Value < qs[i-1].Value {
										t.Errorf("point %d: quantiles not ascending: %v", n-1, qs)
									}
								}
							}
						}
					}
				}
			}
			if n != len(want) {
				t.Errorf("frames hold %d data points, %s.expected.json %d", n, name, len(want))
			}
		})
	}
}

// pointsIn decodes a record with the official types and counts its data points.
func pointsIn(t *testing.T, rec []byte) int {
	t.Helper()
	pts, _, err := expected(rec)
	if err != nil {
		t.Fatal(err)
	}
	return len(pts)
}

func TestOtherForms(t *testing.T) {
	files := generated(t)
	t.Run("event.json", func(t *testing.T) {
		raw := readCommitted(t, "event.json")
		if !bytes.Equal(gunzip(t, readCommitted(t, "event.json.gz")), raw) {
			t.Error("event.json.gz is not event.json")
		}
		var ev struct {
			InvocationID      string `json:"invocationId"`
			DeliveryStreamArn string `json:"deliveryStreamArn"`
			Region            string `json:"region"`
			Records           []struct {
				RecordID                    string `json:"recordId"`
				ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"`
				Data                        []byte `json:"data"` // as aws-lambda-go decodes it
			} `json:"records"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) < 5 || !strings.HasPrefix(ev.DeliveryStreamArn, "arn:aws:firehose:") || ev.InvocationID == "" {
			t.Fatalf("event: %d records, stream %q", len(ev.Records), ev.DeliveryStreamArn)
		}
		n, ids := 0, map[string]bool{}
		for _, r := range ev.Records {
			if ids[r.RecordID] || len(r.RecordID) < 40 {
				t.Errorf("record id %q repeated or short", r.RecordID)
			}
			ids[r.RecordID] = true
			n += pointsIn(t, r.Data)
		}
		if n != files["event.json"].Points {
			t.Errorf("event holds %d points, README says %d", n, files["event.json"].Points)
		}
	})
	t.Run("processing-failed.jsonl", func(t *testing.T) {
		lines := strings.Split(strings.TrimSuffix(string(readCommitted(t, "processing-failed.jsonl")), "\n"), "\n")
		n := 0
		for i, l := range lines {
			var v map[string]any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			for _, k := range []string{"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp", "rawData", "lambdaArn"} {
				if _, ok := v[k]; !ok {
					t.Errorf("line %d: no %s", i+1, k)
				}
			}
			data, err := base64.StdEncoding.DecodeString(v["rawData"].(string))
			if err != nil {
				t.Fatalf("line %d: rawData: %v", i+1, err)
			}
			n += pointsIn(t, data)
		}
		if n != files["processing-failed.jsonl"].Points {
			t.Errorf("%d points, README says %d", n, files["processing-failed.jsonl"].Points)
		}
	})
	t.Run("raw-multi.bin.gz", func(t *testing.T) {
		var want []byte
		for _, name := range []string{"single", "ecs", "rds", "alb", "odd"} {
			want = append(want, readCommitted(t, name+".bin")...)
		}
		if !bytes.Equal(gunzip(t, readCommitted(t, "raw-multi.bin.gz")), want) {
			t.Error("raw-multi.bin.gz is not the concatenation of single, ecs, rds, alb and odd")
		}
	})
}

var frameAt = regexp.MustCompile(`^frame at byte (\d+)`)

// badOffset reads the offset the .txt beside a malformed fixture names.
func badOffset(t *testing.T, txt string) int {
	t.Helper()
	m := frameAt.FindStringSubmatch(string(readCommitted(t, txt)))
	if m == nil {
		t.Fatalf("%s does not start with \"frame at byte N\"", txt)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// firstBadFrame returns the offset of the first frame that does not split or does not
// unmarshal with the official types, or -1.
func firstBadFrame(rec []byte) int {
	spans, err := splitFrames(rec)
	for _, sp := range spans {
		if proto.Unmarshal(rec[sp.Start:sp.End], &colpb.ExportMetricsServiceRequest{}) != nil {
			return sp.Offset
		}
	}
	if err != nil {
		if len(spans) == 0 {
			return 0
		}
		return spans[len(spans)-1].End
	}
	return -1
}

func TestBadFixtures(t *testing.T) {
	for _, c := range []struct{ name, txt string }{
		{"bad/truncated-varint.bin", "bad/truncated-varint.txt"},
		{"bad/length-past-end.bin", "bad/length-past-end.txt"},
		{"bad/bad-protobuf.bin", "bad/bad-protobuf.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want := firstBadFrame(readCommitted(t, c.name)), badOffset(t, c.txt)
			if got != want {
				t.Errorf("first bad frame at byte %d, %s says %d", got, c.txt, want)
			}
		})
	}
	t.Run("bad/mixed-event.json", func(t *testing.T) {
		var ev struct {
			Records []struct {
				Data string `json:"data"`
			} `json:"records"`
		}
		if err := json.Unmarshal(readCommitted(t, "bad/mixed-event.json"), &ev); err != nil {
			t.Fatal(err)
		}
		var bad []int
		for i, r := range ev.Records {
			data, err := base64.StdEncoding.DecodeString(r.Data)
			if err != nil || firstBadFrame(data) >= 0 {
				bad = append(bad, i)
			}
		}
		if !slices.Equal(bad, []int{1, 2, 4}) || len(ev.Records) != 6 {
			t.Errorf("bad records %v of %d, want [1 2 4] of 6", bad, len(ev.Records))
		}
	})
}

// realPayloads finds shared/real-payloads ($CWSTREAM_SHARED, or a shared/
// folder above the module). Without it the test is skipped, except under
// CI=true, where it fails. (This module cannot import the main module's
// internal/testutil, which holds the same rule.)
func realPayloads(t *testing.T) []string {
	t.Helper()
	if dir := os.Getenv("CWSTREAM_SHARED"); dir != "" {
		if m, _ := filepath.Glob(filepath.Join(dir, "real-payloads", "*.bin")); len(m) > 0 {
			return m
		}
	}
	dir, _ := filepath.Abs(".")
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "shared", "real-payloads", "*.bin")); len(m) > 0 {
			return m
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			msg := "the recorded payloads are not here: they live in the team's shared folder, shared/real-payloads beside the repository (set CWSTREAM_SHARED to that shared folder)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg + " (CI=true: failing instead of skipping)")
			}
			t.Skip(msg)
		}
		dir = parent
	}
}

// TestRealPayloadsHaveTheMimickedShape holds the shape the generator copies to the real
// deliveries, so a wrong assumption in shape.go shows up here.
func TestRealPayloadsHaveTheMimickedShape(t *testing.T) {
	known := map[string]bool{"%": true, "1": true, "By": true, "By/s": true, "MBy": true, "s": true, "ms": true, "{Count}": true, "{Count}/s": true}
	for _, p := range realPayloads(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			rec, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := inspect(&out, p, rec); err != nil {
				t.Fatalf("inspect: %v", err)
			}
			if !strings.Contains(out.String(), "unsorted in 0\n") || !strings.Contains(out.String(), "name != amazonaws.com/<Namespace>/<MetricName>: 0\n") {
				t.Errorf("label order or naming differs from the generator's:\n%s", out.String())
			}
			pts, _, err := expected(rec)
			if err != nil {
				t.Fatal(err)
			}
			for i, pt := range pts {
				if !known[pt.Unit] || pt.TimeUnixNano-pt.StartUnixNano != 60e9 || pt.Quantiles[0].Quantile != 0 || pt.Quantiles[len(pt.Quantiles)-1].Quantile != 1 || pt.AccountID == "" || !strings.HasPrefix(pt.StreamARN, "arn:aws:cloudwatch:") {
					t.Errorf("point %d differs from the generator's shape: %+v", i, pt)
				}
			}
		})
	}
}
