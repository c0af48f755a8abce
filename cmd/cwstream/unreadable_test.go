package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// runCLIEnv is runCLI with the process environment (AWS_ENDPOINT_URL for
// moto_server).
func runCLIEnv(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: os.Getenv}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// prefixWithBadObjects is a recovery prefix as a user may find it: good
// objects with a corrupt gzip, an empty object and a truncated one between
// them. It returns the objects by name and, for the bad ones, what their
// reason must say.
func prefixWithBadObjects(t *testing.T) (objects map[string][]byte, reasons map[string]string) {
	t.Helper()
	read := func(n string) []byte {
		b, err := os.ReadFile(testutil.Testdata(t, "payloads", n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gz := testutil.Gzip(t, read("odd.bin"))
	corrupt := bytes.Clone(gz)
	for i := 20; i < len(corrupt)-8; i += 7 {
		corrupt[i] ^= 0xff
	}
	objects = map[string][]byte{
		"a-alb.bin":      read("alb.bin"),
		"b-corrupt.gz":   corrupt,
		"c-rds.bin.gz":   testutil.Gzip(t, read("rds.bin")),
		"d-empty":        nil,
		"e-truncated.gz": gz[:len(gz)/2],
		"f-ecs.bin":      read("ecs.bin"),
	}
	reasons = map[string]string{"b-corrupt.gz": "flate: corrupt input", "d-empty": "empty input", "e-truncated.gz": "unexpected EOF"}
	return objects, reasons
}

// goldenUnion is the samples of the good objects: those of their reviewed
// dryrun golden files.
func goldenUnion(t *testing.T, names ...string) string {
	var all []byte
	for _, n := range names {
		b, err := os.ReadFile(testutil.Testdata(t, "golden", n))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return string(all)
}

// One unreadable source in the middle of a directory or an s3:// prefix
// blocks nothing: replay writes every good one (read back from a real
// Prometheus), dryrun and cost read them all, and each command names every
// bad source with its reason and exits 1.
func TestUnreadableSourcesInTheMiddle(t *testing.T) {
	objects, reasons := prefixWithBadObjects(t)
	want := goldenUnion(t, "alb.prom", "rds.prom", "ecs.prom")

	dir := t.TempDir()
	for n, b := range objects {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url := testutil.StartMoto(t)
	awsEnv(t, url)
	t.Setenv("AWS_ENDPOINT_URL_S3", url)
	client := s3.New(s3.Options{BaseEndpoint: aws.String(url), UsePathStyle: true, Region: "us-east-1", Credentials: aws.AnonymousCredentials{}})
	const bucket = "cwstream-backup"
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for n, b := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("processing-failed/" + n), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct{ name, arg, prefix string }{
		{"directory", dir, dir + string(filepath.Separator)},
		{"s3 prefix", "s3://" + bucket + "/processing-failed/", "s3://" + bucket + "/processing-failed/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			named := func(what, stderr string) {
				t.Helper()
				for n, reason := range reasons {
					line := "UNREADABLE " + tc.prefix + n + ": "
					i := strings.Index(stderr, line)
					if i < 0 || !strings.Contains(stderr[i:], reason) {
						t.Errorf("%s: stderr does not name %s with %q:\n%s", what, n, reason, stderr)
					}
				}
				if !strings.Contains(stderr, "3 of 6 sources could not be read") {
					t.Errorf("%s: stderr lacks the count of unreadable sources:\n%s", what, stderr)
				}
			}

			prom := promtest.Start(t, promtest.WithOutOfOrderWindow(time.Hour))
			code, out, errs := runCLIEnv(t, "replay", "--to", prom.WriteURL(), tc.arg)
			if code != 1 || !strings.Contains(out, "replayed 6 sources (3 unreadable): 3 records (3 ok, 0 failed)") {
				t.Fatalf("replay: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errs)
			}
			named("replay", errs)
			storeHolds(t, prom, want)

			code, out, errs = runCLIEnv(t, "dryrun", tc.arg)
			if code != 1 {
				t.Errorf("dryrun: exit %d, want 1", code)
			}
			named("dryrun", errs)
			if got, wantN := strings.Count(out, "\n"), strings.Count(want, "\n"); got != wantN {
				t.Errorf("dryrun printed %d samples, the good sources hold %d", got, wantN)
			}
			_, summary, _ := runCLIEnv(t, "dryrun", "--summary", tc.arg)
			if !strings.Contains(summary, "sources: 6 (3 unreadable)\nrecords: 3 (0 malformed)") {
				t.Errorf("dryrun --summary:\n%s", summary)
			}

			code, out, errs = runCLIEnv(t, "cost", tc.arg)
			if code != 1 || !strings.Contains(out, "measured: 3 records (0 malformed)") {
				t.Errorf("cost: exit %d, want 1 with the estimate of the good sources\n%s", code, out)
			}
			named("cost", errs)

			// --suggest reads the sources twice and names each bad one once.
			code, _, errs = runCLIEnv(t, "cost", "--suggest", tc.arg)
			if n := strings.Count(errs, "UNREADABLE "); code != 1 || n != len(reasons) {
				t.Errorf("cost --suggest: exit %d, %d UNREADABLE lines, want 1 and %d:\n%s", code, n, len(reasons), errs)
			}
		})
	}
}
