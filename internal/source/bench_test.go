package source

import (
	"bytes"
	"testing"
)

// BenchmarkEachRaw: the cost of cutting a raw object into records (each
// frame walked and decoded once by decode.Split), which replay, dryrun and
// cost now all pay, by object size.
func BenchmarkEachRaw(b *testing.B) {
	multi := fixture(b, "multi.bin")
	for _, size := range []struct {
		name string
		obj  []byte
	}{
		{"100KB", multi},
		{"2MB", bytes.Repeat(multi, 20)}, // past MaxRecordBytes: cut in 3
	} {
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(size.obj)))
			for b.Loop() {
				n := 0
				if err := Each("bench", size.obj, func(Record) error { n++; return nil }); err != nil || n == 0 {
					b.Fatal(err, n)
				}
			}
		})
	}
}
