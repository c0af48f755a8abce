package source

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cwstream/cwstream/internal/testutil"
)

// badInputs are objects that hold no records, each with what its reason
// must say, to be put between good ones.
func badInputs(t *testing.T) (objects map[string][]byte, reasons map[string]string) {
	t.Helper()
	gz := testutil.Gzip(t, fixture(t, "alb.bin"))
	corrupt := bytes.Clone(gz)
	for i := 20; i < len(corrupt)-8; i += 7 { // the deflate stream, not the header
		corrupt[i] ^= 0xff
	}
	objects = map[string][]byte{
		"1-good.bin":            fixture(t, "single.bin"),
		"2-corrupt.gz":          corrupt,
		"3-good-event.json":     fixture(t, "event.json"),
		"4-empty":               nil,
		"5-good.jsonl.gz":       testutil.Gzip(t, fixture(t, "processing-failed.jsonl")),
		"6-truncated.gz":        gz[:len(gz)/2],
		"7-good-rds.bin":        fixture(t, "rds.bin"),
		"8-neither-json-nor-pb": []byte("hello, this is not a payload\n"),
		"9-good-last.bin":       fixture(t, "odd.bin"),
	}
	reasons = map[string]string{
		"2-corrupt.gz":          "gzip: ",
		"4-empty":               "empty input",
		"6-truncated.gz":        "gzip: after ",
		"8-neither-json-nor-pb": "neither gzip, JSON nor varint-length-delimited frames",
	}
	return objects, reasons
}

// recordSources runs Records and returns the sources records came from, in
// order, each once.
func recordSources(t *testing.T, o *Opener, args ...string) ([]string, Tally) {
	t.Helper()
	var got []string
	tally, err := o.Records(context.Background(), args, func(r Record) error {
		if len(got) == 0 || got[len(got)-1] != r.Source {
			got = append(got, r.Source)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, tally
}

// checkTally checks that every good input gave records, in order, and that
// each bad one is listed with its reason.
func checkTally(t *testing.T, got []string, tally Tally, name func(string) string, objects map[string][]byte, reasons map[string]string, extraSources, extraUnreadable int) {
	t.Helper()
	var want []string
	for _, n := range slices.Sorted(maps.Keys(objects)) {
		if _, bad := reasons[n]; !bad {
			want = append(want, name(n))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records came from\n%s\nwant every good source\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tally.Sources != len(objects)+extraSources {
		t.Errorf("%d sources tried, want %d", tally.Sources, len(objects)+extraSources)
	}
	if len(tally.Unreadable) != len(reasons)+extraUnreadable {
		t.Fatalf("unreadable: %v, want %d", tally.Unreadable, len(reasons)+extraUnreadable)
	}
	for _, u := range tally.Unreadable {
		for n, reason := range reasons {
			if u.Source == name(n) && (!strings.Contains(u.Err.Error(), reason) || !strings.HasPrefix(u.Err.Error(), u.Source)) {
				t.Errorf("%s: %q, want it to name the source and say %q", n, u.Err, reason)
			}
		}
	}
	if err := tally.Err(); !errors.Is(err, ErrSomeUnreadable) || !strings.Contains(err.Error(), "of "+strconv.Itoa(tally.Sources)+" sources") {
		t.Errorf("Tally.Err() = %v", err)
	}
}

// A directory with unreadable files between good ones: every good file is
// read, each bad one listed with its reason; an argument that names
// nothing is listed too and the next argument still read.
func TestRecordsDirectoryWithBadFiles(t *testing.T) {
	objects, reasons := badInputs(t)
	dir := t.TempDir()
	for n, b := range objects {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "no-such-file")
	after := fixture(t, "single.bin")
	afterPath := filepath.Join(t.TempDir(), "after.bin")
	if err := os.WriteFile(afterPath, after, 0o644); err != nil {
		t.Fatal(err)
	}
	got, tally := recordSources(t, &Opener{}, dir, missing, afterPath)
	if len(got) == 0 || got[len(got)-1] != afterPath {
		t.Fatalf("the argument after a missing one was not read: %v", got)
	}
	checkTally(t, got[:len(got)-1], tally, func(n string) string { return filepath.Join(dir, n) }, objects, reasons, 2, 1)
	last := tally.Unreadable[len(tally.Unreadable)-1]
	if last.Source != missing || !errors.Is(last.Err, fs.ErrNotExist) {
		t.Errorf("last unreadable %v, want %s not existing", last, missing)
	}
}

// The documented recovery flow, replay s3://bucket/processing-failed/,
// against moto_server: one bad object does not block the prefix.
func TestRecordsS3PrefixWithBadObjects(t *testing.T) {
	url := testutil.StartMoto(t)
	ctx := context.Background()
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(url), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	const bucket = "cw-failed"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	objects, reasons := badInputs(t)
	for n, b := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("processing-failed/" + n), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var want int64
	for _, b := range objects {
		want += int64(len(b))
	}
	o := &Opener{S3: client, ListPageSize: 3}
	if size, ok := o.Size(ctx, []string{"s3://" + bucket + "/processing-failed/"}); !ok || size != want {
		t.Errorf("Size = %d, %v; want %d from the listing", size, ok, want)
	}
	if _, ok := o.Size(ctx, []string{"-"}); ok {
		t.Error("Size of standard input is known")
	}
	var done int64
	o.Done = func(_ string, n int) { done += int64(n) }
	got, tally := recordSources(t, o, "s3://"+bucket+"/processing-failed/", "s3://"+bucket+"/nothing-here/")
	if done != want {
		t.Errorf("Done was told %d bytes, want %d: every object's, the unreadable ones too", done, want)
	}
	checkTally(t, got, tally, func(n string) string { return "s3://" + bucket + "/processing-failed/" + n }, objects, reasons, 1, 1)
	if last := tally.Unreadable[len(tally.Unreadable)-1]; !errors.Is(last.Err, ErrNoObjects) {
		t.Errorf("empty prefix: %v, want ErrNoObjects", last)
	}

	// An object whose GET fails (past the size limit here) is listed, and
	// the objects after it are read.
	small := &Opener{S3: client, MaxObjectBytes: 20_000}
	_, tally = recordSources(t, small, "s3://"+bucket+"/processing-failed/")
	var tooLarge []string
	for _, u := range tally.Unreadable {
		if errors.Is(u.Err, ErrTooLarge) {
			tooLarge = append(tooLarge, u.Source)
		}
	}
	if len(tooLarge) == 0 || tally.Sources != len(objects) {
		t.Errorf("with a 20 kB limit: %d sources, too large %v", tally.Sources, tooLarge)
	}
}

// An error of the callback stops Records and is returned as it is.
func TestRecordsCallbackErrorStops(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.bin", "b.bin"} {
		if err := os.WriteFile(filepath.Join(dir, n), fixture(t, "single.bin"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	calls := 0
	tally, err := (&Opener{}).Records(context.Background(), []string{dir}, func(Record) error { calls++; return stop })
	if err != stop || calls != 1 || tally.Sources != 1 || len(tally.Unreadable) != 0 {
		t.Fatalf("err %v after %d calls, tally %+v; want the callback's error at once", err, calls, tally)
	}
}
