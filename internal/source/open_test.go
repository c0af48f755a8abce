package source

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

type input struct {
	name string
	b    []byte
}

func walkAll(t *testing.T, o *Opener, arg string) ([]input, error) {
	t.Helper()
	var got []input
	var unreadable error // the first input that could not be read
	err := o.Walk(context.Background(), arg, func(name string, b []byte, err error) error {
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
			unreadable = cmp.Or(unreadable, err)
			return nil
		}
		got = append(got, input{name, bytes.Clone(b)})
		return nil
	})
	return got, cmp.Or(err, unreadable)
}

func TestWalkFiles(t *testing.T) {
	raw := realPayloads(t)[0]
	dir := t.TempDir()
	files := map[string][]byte{"b.bin.gz": testutil.Gzip(t, raw), "a.bin": raw, "sub/c.json": []byte(`{"records":[]}`)}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("file", func(t *testing.T) {
		path := filepath.Join(dir, "b.bin.gz")
		got, err := walkAll(t, &Opener{}, path)
		if err != nil || len(got) != 1 || got[0].name != path || !bytes.Equal(got[0].b, files["b.bin.gz"]) {
			t.Fatalf("got %d inputs, %v", len(got), err)
		}
	})
	t.Run("directory in lexical order", func(t *testing.T) {
		got, err := walkAll(t, &Opener{}, dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a.bin", "b.bin.gz", "sub/c.json"}
		if len(got) != len(want) {
			t.Fatalf("%d inputs, want %d", len(got), len(want))
		}
		for i, w := range want {
			if got[i].name != filepath.Join(dir, w) || !bytes.Equal(got[i].b, files[w]) {
				t.Errorf("input %d: %s, want %s", i, got[i].name, w)
			}
		}
	})
	t.Run("stdin", func(t *testing.T) {
		got, err := walkAll(t, &Opener{Stdin: bytes.NewReader(raw)}, "-")
		if err != nil || len(got) != 1 || got[0].name != "-" || !bytes.Equal(got[0].b, raw) {
			t.Fatalf("got %d inputs, %v", len(got), err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := walkAll(t, &Opener{}, filepath.Join(dir, "nope"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err %v, want not exist", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		o := &Opener{MaxObjectBytes: 1000, Stdin: bytes.NewReader(raw)}
		for _, arg := range []string{"-", filepath.Join(dir, "a.bin")} {
			if _, err := walkAll(t, o, arg); !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: err %v, want ErrTooLarge", arg, err)
			}
		}
	})
	t.Run("s3 without client", func(t *testing.T) {
		if _, err := walkAll(t, &Opener{}, "s3://bucket/x"); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestWalkS3(t *testing.T) {
	url := testutil.StartMoto(t)
	ctx := context.Background()
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(url),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	const bucket = "cw-stream-bucket"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	payloads := realPayloads(t)
	raw := payloads[0]
	recs := splitRecords(t, bytes.Join(payloads, nil), 1)
	objects := map[string][]byte{
		"cw/2024/01/01/00/raw-1":                         raw,
		"cw/2024/01/01/00/raw-2.gz":                      testutil.Gzip(t, payloads[1]),
		"cw/2024/01/01/01/event.json":                    eventJSON(ids(len(recs)), recs),
		"cw/processing-failed/2024/01/01/00/failed-1.gz": testutil.Gzip(t, failedJSONL(recs[:2])),
		"cw/2024/01/01/00/":                              nil, // a console folder
		"other/raw-3":                                    raw,
	}
	// Put out of order: the walk must still come back in key order.
	for _, key := range []string{"other/raw-3", "cw/processing-failed/2024/01/01/00/failed-1.gz", "cw/2024/01/01/01/event.json", "cw/2024/01/01/00/", "cw/2024/01/01/00/raw-2.gz", "cw/2024/01/01/00/raw-1"} {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(objects[key])})
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}

	o := &Opener{S3: client, ListPageSize: 2} // small pages: the walk must follow continuation tokens
	got, err := walkAll(t, o, "s3://"+bucket+"/cw/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cw/2024/01/01/00/raw-1", "cw/2024/01/01/00/raw-2.gz", "cw/2024/01/01/01/event.json", "cw/processing-failed/2024/01/01/00/failed-1.gz"}
	if len(got) != len(want) {
		t.Fatalf("%d objects, want %d: %v", len(got), len(want), got)
	}
	wantForms := []Form{Raw, Raw, FirehoseEvent, ProcessingFailed}
	wantRecords := []int{1, 1, len(recs), 2}
	for i, key := range want {
		if got[i].name != "s3://"+bucket+"/"+key || !bytes.Equal(got[i].b, objects[key]) {
			t.Errorf("object %d: %s (%d bytes), want %s (%d bytes)", i, got[i].name, len(got[i].b), key, len(objects[key]))
			continue
		}
		n := 0
		err := Each(got[i].name, got[i].b, func(r Record) error {
			if r.Err != nil || r.Form != wantForms[i] {
				return fmt.Errorf("record %d: form %v err %v", r.Index, r.Form, r.Err)
			}
			n++
			return nil
		})
		if err != nil || n != wantRecords[i] {
			t.Errorf("%s: %d records, %v; want %d", key, n, err, wantRecords[i])
		}
	}

	t.Run("every output format", func(t *testing.T) {
		const other = "cw-stream-formats"
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(other)}); err != nil {
			t.Fatal(err)
		}
		var d decode.Decoder
		ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(raw, fn) })
		if err != nil {
			t.Fatal(err)
		}
		objects := map[string][]byte{"a-json": streamtest.JSON(ups), "b-otel10.gz": testutil.Gzip(t, streamtest.OTel10(ups, 20, streamtest.Nested)), "c-otel07": raw}
		for key, b := range objects {
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := walkAll(t, o, "s3://"+other+"/")
		if err != nil || len(got) != 3 {
			t.Fatalf("%d objects, %v", len(got), err)
		}
		for i, want := range []wire.Format{wire.JSON, wire.OTel10, wire.OTel07} {
			n := 0
			err := Each(got[i].name, got[i].b, func(r Record) error {
				n++
				if f, err := decode.Detect(r.Data); r.Err != nil || r.Form != Raw || f != want || err != nil {
					return fmt.Errorf("record %d: form %v, format %v (%v), err %v; want raw %v", r.Index, r.Form, f, err, r.Err, want)
				}
				return nil
			})
			if err != nil || n != 1 {
				t.Errorf("%s: %d records, %v", got[i].name, n, err)
			}
		}
	})
	t.Run("whole bucket", func(t *testing.T) {
		got, err := walkAll(t, &Opener{S3: client}, "s3://"+bucket)
		if err != nil || len(got) != 5 || got[4].name != "s3://"+bucket+"/other/raw-3" {
			t.Fatalf("got %d objects, %v", len(got), err)
		}
	})
	t.Run("empty prefix", func(t *testing.T) {
		_, err := walkAll(t, o, "s3://"+bucket+"/nothing/here/")
		if !errors.Is(err, ErrNoObjects) {
			t.Fatalf("err %v, want ErrNoObjects", err)
		}
		for _, part := range []string{bucket, "nothing/here/"} {
			if !bytes.Contains([]byte(err.Error()), []byte(part)) {
				t.Errorf("error %q does not name %q", err, part)
			}
		}
	})
	t.Run("missing bucket", func(t *testing.T) {
		_, err := walkAll(t, o, "s3://no-such-bucket/x")
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no-such-bucket")) {
			t.Fatalf("err %v, want an error naming the bucket", err)
		}
	})
	t.Run("object too large", func(t *testing.T) {
		_, err := walkAll(t, &Opener{S3: client, MaxObjectBytes: 1000}, "s3://"+bucket+"/cw/2024/01/01/00/raw-1")
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	})
}
