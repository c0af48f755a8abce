package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of *s3.Client that Walk uses.
type S3API interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// DefaultMaxObjectBytes is the size limit when Opener.MaxObjectBytes is 0.
// A Firehose object is at most 128 MiB before compression.
const DefaultMaxObjectBytes = 512 << 20

// Opener reads inputs named on the command line.
type Opener struct {
	S3             S3API     // needed for s3:// arguments
	Stdin          io.Reader // for "-"; nil means os.Stdin
	MaxObjectBytes int64     // per file or object; 0 means DefaultMaxObjectBytes
	// ListPageSize is the number of keys asked for per list call; 0 leaves
	// it to S3 (1000).
	ListPageSize int32
	// Done, if set, is called by Records after each input's records, with
	// the input's size as read (before gzip is undone): with Size, what a
	// progress bar needs.
	Done func(name string, bytes int)

	// window and peek replace streamWindow and peekBytes when set (tests).
	window, peek int
}

// Size returns the total size of what args name, as stored (gzip objects
// at their compressed size), from file system metadata and S3 listings,
// without reading anything; ok is false when it cannot tell (standard
// input, or an argument that Walk will report as unreadable).
func (o *Opener) Size(ctx context.Context, args []string) (total int64, ok bool) {
	for _, arg := range args {
		switch {
		case arg == "-":
			return 0, false
		case strings.HasPrefix(arg, "s3://"):
			bucket, prefix, _ := strings.Cut(strings.TrimPrefix(arg, "s3://"), "/")
			if bucket == "" || o.S3 == nil {
				return 0, false
			}
			in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
			if o.ListPageSize > 0 {
				in.MaxKeys = aws.Int32(o.ListPageSize)
			}
			for pages := s3.NewListObjectsV2Paginator(o.S3, in); pages.HasMorePages(); {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return 0, false
				}
				for _, obj := range page.Contents {
					total += aws.ToInt64(obj.Size)
				}
			}
		default:
			err := filepath.WalkDir(arg, func(_ string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() {
					info, err := d.Info()
					if err != nil {
						return err
					}
					total += info.Size()
				}
				return nil
			})
			if err != nil {
				return 0, false
			}
		}
	}
	return total, true
}

// ErrNoObjects is the cause when an s3:// prefix lists nothing.
var ErrNoObjects = errors.New("no objects")

// Walk reads what arg names and calls fn with each input's name and bytes:
// arg is "-" for standard input, "s3://bucket/prefix" for every object
// under the prefix in key order (gzip objects included), or a file path
// (a directory: every regular file in it, in lexical order). The bytes
// are only valid during fn.
//
// An input that cannot be read (a file that cannot be opened, an object
// whose GET fails, one past the size limit) is passed to fn with its error,
// which names it, and the walk goes on: one bad object must not keep the
// rest of a prefix from being read. Walk itself fails only when arg names
// nothing to read (no such file, an empty directory, a prefix that lists
// no objects or cannot be listed), when ctx ends, or when fn fails; fn's
// error is returned as it is.
func (o *Opener) Walk(ctx context.Context, arg string, fn func(name string, b []byte, err error) error) error {
	return o.walkInputs(ctx, arg, func(name string, r io.Reader, _ int64, err error) error {
		var b []byte
		if err == nil {
			b, err = o.readAll(name, r)
		}
		return fn(name, b, err)
	})
}

// walkInputs is Walk handing each input as a reader, with its size when
// known (else -1), so that it need not be held whole (Records streams raw
// objects). r is nil when err is set, and closed after fn.
func (o *Opener) walkInputs(ctx context.Context, arg string, fn func(name string, r io.Reader, size int64, err error) error) error {
	switch {
	case arg == "-":
		r := o.Stdin
		if r == nil {
			r = os.Stdin
		}
		return fn("-", r, -1, nil)
	case strings.HasPrefix(arg, "s3://"):
		return o.walkS3(ctx, arg, fn)
	default:
		return o.walkPath(ctx, arg, fn)
	}
}

func (o *Opener) limit() int64 {
	if o.MaxObjectBytes > 0 {
		return o.MaxObjectBytes
	}
	return DefaultMaxObjectBytes
}

// readAll reads r up to the limit; more is an error rather than a cut input.
func (o *Opener) readAll(name string, r io.Reader) ([]byte, error) {
	lim := o.limit()
	b, err := io.ReadAll(io.LimitReader(r, lim+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	if int64(len(b)) > lim {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", name, lim, ErrTooLarge)
	}
	return b, nil
}

func (o *Opener) walkPath(ctx context.Context, arg string, fn func(string, io.Reader, int64, error) error) error {
	info, err := os.Stat(arg)
	if err != nil {
		return err // *fs.PathError names the path
	}
	paths := []string{arg}
	if info.IsDir() {
		paths = paths[:0]
		err := filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				paths = append(paths, path)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			return fmt.Errorf("%s: no files in the directory", arg)
		}
	}
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := o.openFile(path, fn); err != nil {
			return err
		}
	}
	return nil
}

// openFile hands fn the file at path and closes it after.
func (o *Opener) openFile(path string, fn func(string, io.Reader, int64, error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fn(path, nil, -1, err)
	}
	defer f.Close()
	size := int64(-1)
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return fn(path, f, size, nil)
}

func (o *Opener) walkS3(ctx context.Context, arg string, fn func(string, io.Reader, int64, error) error) error {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(arg, "s3://"), "/")
	if bucket == "" {
		return fmt.Errorf("%s: no bucket in the S3 URL (want s3://bucket/prefix)", arg)
	}
	if o.S3 == nil {
		return fmt.Errorf("%s: no S3 client configured", arg)
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if o.ListPageSize > 0 {
		in.MaxKeys = aws.Int32(o.ListPageSize)
	}
	var keys []string
	for pages := s3.NewListObjectsV2Paginator(o.S3, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s (after %d keys): %w", bucket, prefix, len(keys), err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			// Zero-byte keys ending in "/" are the console's folders.
			if strings.HasSuffix(key, "/") && aws.ToInt64(obj.Size) == 0 {
				continue
			}
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("bucket %q, prefix %q: %w", bucket, prefix, ErrNoObjects)
	}
	// S3 lists in key order already; sorting keeps the promise for any
	// S3-compatible store.
	slices.Sort(keys)
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := "s3://" + bucket + "/" + key
		if err := o.getObject(ctx, bucket, key, name, fn); err != nil {
			return err
		}
	}
	return nil
}

// getObject hands fn the body of one object, with its Content-Length
// when S3 sent one, and closes it after.
func (o *Opener) getObject(ctx context.Context, bucket, key, name string, fn func(string, io.Reader, int64, error) error) error {
	out, err := o.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fn(name, nil, -1, fmt.Errorf("%s: get: %w", name, err))
	}
	defer out.Body.Close()
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	if size > o.limit() {
		return fn(name, nil, -1, fmt.Errorf("%s: %d bytes, more than %d: %w", name, size, o.limit(), ErrTooLarge))
	}
	return fn(name, out.Body, size, nil)
}
