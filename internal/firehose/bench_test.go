package firehose_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/telemetry"
	"github.com/cwstream/cwstream/internal/testutil"
)

// benchEvent builds a Firehose event of about size bytes from the recorded
// payloads: each recorded object (3 frames of 60–76 KB) is split into
// records of whole frames, about one frame a record, as Firehose batches
// them. The frames repeat until the event is full; each repetition's
// timestamps move on by a minute, so that every sample is new to the
// writer, as in a real event, instead of an exact duplicate it would not
// send.
func benchEvent(tb testing.TB, size int) (event []byte, datapoints int) {
	tb.Helper()
	var frames [][]byte
	for _, name := range testutil.RealPayloadNames {
		err := decode.Split(testutil.RealPayload(tb, name), 64<<10, func(chunk []byte, _ int) error {
			frames = append(frames, chunk)
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	var ids []string
	var data [][]byte
	total := 200 // the event's own fields
	for i := 0; ; i++ {
		f := frames[i%len(frames)]
		rec := append([]byte(nil), f...)
		shiftTimes(tb, rec, uint64(i/len(frames))*uint64(time.Minute))
		// base64 plus the record's JSON (id, timestamp, metadata).
		n := (len(rec)+2)/3*4 + 400
		if total+n > size {
			break
		}
		total += n
		ids = append(ids, fmt.Sprintf("%056d", i))
		data = append(data, rec)
	}
	c := convert.New(config.Default())
	for i, d := range data {
		_, n, err := c.Record(nil, d)
		if err != nil {
			tb.Fatalf("record %d: %v", i, err)
		}
		datapoints += n
	}
	event = makeEvent(tb, ids, data)
	if len(event) > size {
		tb.Fatalf("event of %d bytes for a %d-byte budget", len(event), size)
	}
	return event, datapoints
}

// shiftTimes adds delta nanoseconds to the start and end time of every data
// point of the frames in rec, in place: request.resource_metrics(1) →
// instrumentation_library_metrics(2) → metrics(2) → double_summary(11) →
// data_points(1) → start_time_unix_nano(2), time_unix_nano(3), both fixed64.
func shiftTimes(tb testing.TB, rec []byte, delta uint64) {
	if delta == 0 {
		return
	}
	path := []protowire.Number{1, 2, 2, 11, 1}
	var walk func(msg []byte, depth int)
	walk = func(msg []byte, depth int) {
		for len(msg) > 0 {
			num, typ, n := protowire.ConsumeTag(msg)
			if n < 0 {
				tb.Fatal(protowire.ParseError(n))
			}
			msg = msg[n:]
			m := protowire.ConsumeFieldValue(num, typ, msg)
			if m < 0 {
				tb.Fatal(protowire.ParseError(m))
			}
			v := msg[:m]
			msg = msg[m:]
			switch {
			case depth == len(path) && (num == 2 || num == 3) && typ == protowire.Fixed64Type:
				binary.LittleEndian.PutUint64(v, binary.LittleEndian.Uint64(v)+delta)
			case depth < len(path) && num == path[depth] && typ == protowire.BytesType:
				inner, _ := protowire.ConsumeBytes(v)
				walk(inner, depth+1)
			}
		}
	}
	for off := 0; off < len(rec); {
		n, l := protowire.ConsumeVarint(rec[off:])
		if l < 0 || n > uint64(len(rec)-off-l) {
			tb.Fatalf("frame at %d: bad length prefix", off)
		}
		walk(rec[off+l:off+l+int(n)], 0)
		off += l + int(n)
	}
}

// heapPeak samples the live heap objects every millisecond until stopped.
type heapPeak struct {
	stop chan struct{}
	done sync.WaitGroup
	peak atomic.Uint64
}

func watchHeap() *heapPeak {
	h := &heapPeak{stop: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > h.peak.Load() {
			h.peak.Store(v)
		}
	}
	h.done.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	})
	return h
}

func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak.Load()
}

// BenchmarkInvoke is the handler end to end: event JSON in, every record
// decoded and converted, snappy WriteRequests out over loopback HTTP to a
// sink that reads and discards each body and answers 204, the answer built.
// The sink runs in the same process and shares its CPUs.
func BenchmarkInvoke(b *testing.B) {
	relabel5, err := config.Load(testutil.Testdata(b, "config", "relabel5.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	configs := []struct {
		name string
		cfg  *config.Config
	}{{"", config.Default()}, {"/relabel5", relabel5}}
	for _, mb := range []int{1, 3, 6} {
		event, dps := benchEvent(b, mb*1_000_000)
		for _, bc := range configs {
			benchInvoke(b, fmt.Sprintf("%dMB%s", mb, bc.name), bc.cfg, event, dps)
		}
	}
}

// benchInvoke runs one case of BenchmarkInvoke.
func benchInvoke(b *testing.B, name string, cfg *config.Config, event []byte, dps int) {
	b.Run(name, func(b *testing.B) {
		var sunk atomic.Int64
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			sunk.Add(n)
			w.WriteHeader(http.StatusNoContent)
		}))
		defer sink.Close()
		client, err := remotewrite.New(remotewrite.Config{URL: sink.URL + "/api/v1/write"}.WithDefaults())
		if err != nil {
			b.Fatal(err)
		}
		var last struct{ ok, failed, samples, requests int }
		h := firehose.New(cfg, client, firehose.Options{
			Metrics: io.Discard,
			OnInvocation: func(inv *telemetry.Invocation) {
				last.ok, last.failed, last.samples, last.requests = inv.RecordsOK, inv.TotalFailed(), inv.SamplesWritten, inv.Requests
			},
		})
		ctx := context.Background()
		// One invocation before measuring: buffers and caches warm, as
		// in a Lambda after its first event, and the answers checked.
		if _, err := h.Invoke(ctx, event); err != nil {
			b.Fatal(err)
		}
		if last.failed != 0 || last.ok == 0 {
			b.Fatalf("warm-up: %d records ok, %d failed", last.ok, last.failed)
		}
		runtime.GC()
		b.SetBytes(int64(len(event)))
		b.ReportAllocs()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		peak := watchHeap()
		cpu0 := testutil.CPUTime(b)
		b.ResetTimer()
		for b.Loop() {
			if _, err := h.Invoke(ctx, event); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cpu := testutil.CPUTime(b) - cpu0
		p := peak.Stop()
		runtime.ReadMemStats(&after)
		if last.failed != 0 {
			b.Fatalf("%d records failed", last.failed)
		}
		b.ReportMetric(float64(dps)*float64(b.N)/b.Elapsed().Seconds(), "datapoints/s")
		// Per second of the process's CPU time (the sink's included):
		// steady on a shared machine, where wall time also counts the
		// waits for a CPU.
		b.ReportMetric(float64(dps)*float64(b.N)/cpu.Seconds(), "datapoints/cpu-s")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(dps), "allocs/datapoint")
		b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(dps), "datapoints/op")
		b.ReportMetric(float64(last.samples), "samples/op")
		b.ReportMetric(float64(last.requests), "requests/op")
	})
}
