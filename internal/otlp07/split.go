package otlp07

import "google.golang.org/protobuf/encoding/protowire"

// Split cuts data (concatenated frames, as in a raw S3 object) into chunks
// of whole frames, each at most max bytes unless a single frame is larger,
// and calls fn with each chunk and its offset in data. A raw object can be
// far larger than a Firehose record (at most 1000 KiB); splitting it lets a
// replay send it through the same path as live records. Where a length
// prefix is malformed, the rest of data goes out as one last chunk, for the
// decoder to report with its offset.
func Split(data []byte, max int, fn func(chunk []byte, offset int) error) error {
	start, off := 0, 0
	for off < len(data) {
		n, l := protowire.ConsumeVarint(data[off:])
		if l < 0 || n > uint64(len(data)-off-l) {
			break
		}
		end := off + l + int(n)
		if end-start > max && off > start {
			if err := fn(data[start:off], start); err != nil {
				return err
			}
			start = off
		}
		off = end
	}
	if start < len(data) {
		return fn(data[start:], start)
	}
	return nil
}
