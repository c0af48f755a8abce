package cost

import (
	"os"
	"testing"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/testutil"
)

// BenchmarkMeter measures what `cwstream cost` spends per record: the
// update walk, the conversion and the series set, on the largest fixture.
func BenchmarkMeter(b *testing.B) { benchmarkMeter(b, false) }

// BenchmarkMeterRemoteWrite adds what --interface-endpoints costs: each
// record's samples encoded and compressed as a remote-write request.
func BenchmarkMeterRemoteWrite(b *testing.B) { benchmarkMeter(b, true) }

func benchmarkMeter(b *testing.B, remoteWrite bool) {
	data, err := os.ReadFile(testutil.Testdata(b, "payloads", "multi.bin"))
	if err != nil {
		b.Fatal(err)
	}
	m := NewMeter(config.Default(), Filter{})
	if remoteWrite {
		m.MeasureRemoteWrite()
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Add(data); err != nil {
			b.Fatal(err)
		}
	}
}
