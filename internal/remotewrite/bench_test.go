package remotewrite

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cwstream/cwstream/internal/sample"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

var benchSizes = []struct {
	name   string
	groups int // datapoints of 6 samples
}{
	{"10k", 10_000 / 6},
	{"50k", 50_000 / 6},
	{"150k", 150_000 / 6},
}

// BenchmarkWrite: group, guard, shard, encode, snappy and POST to a loopback
// sink, per Write of datapoint-shaped samples (7 labels, 6 samples sharing
// one label slice).
func BenchmarkWrite(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(sink.Close)
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			in := datapoints(sz.groups, sz.groups/5+1, 7)
			c, err := New(Config{URL: sink.URL}.WithDefaults())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if rep := c.Write(context.Background(), in); len(rep.Failed) != 0 {
					b.Fatalf("failed: %v", rep.Failed[0].Err)
				}
			}
			b.ReportMetric(float64(len(in)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkEncode compares the hand-written protowire encoder with building
// and marshalling a prompb.WriteRequest, for the same requests, snappy
// included.
func BenchmarkEncode(b *testing.B) {
	for _, sz := range benchSizes {
		in := datapoints(sz.groups, sz.groups/5+1, 7)
		var p plan
		p.group(in, limits{70, 1024, 2048})
		ids := make([]int32, len(p.series))
		for i := range ids {
			ids[i] = int32(i)
		}
		reqs := p.cut(ids, DefaultMaxSamplesPerRequest, DefaultMaxBytesPerRequest)
		b.Run(sz.name+"/protowire", func(b *testing.B) {
			var bufs buffers
			b.ReportAllocs()
			for b.Loop() {
				p.compress(reqs, &bufs)
			}
			b.ReportMetric(float64(len(in)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
		b.Run(sz.name+"/prompb", func(b *testing.B) {
			var comp []byte
			b.ReportAllocs()
			for b.Loop() {
				for i := range reqs {
					raw, err := encodePrompb(&p, &reqs[i]).Marshal()
					if err != nil {
						b.Fatal(err)
					}
					if n := snappy.MaxEncodedLen(len(raw)); cap(comp) < n {
						comp = make([]byte, n)
					}
					_ = snappy.Encode(comp[:cap(comp)], raw)
				}
			}
			b.ReportMetric(float64(len(in)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// encodePrompb builds the prompb form of a request, as a prompb-based client
// would.
func encodePrompb(p *plan, r *request) *prompb.WriteRequest {
	wr := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, len(r.chunks))}
	for _, c := range r.chunks {
		sr := &p.series[c.series]
		ts := prompb.TimeSeries{Labels: make([]prompb.Label, 0, len(sr.labels)+1)}
		named := false
		for _, l := range sr.labels {
			if !named && l.Name > nameLabel {
				ts.Labels = append(ts.Labels, prompb.Label{Name: nameLabel, Value: sr.name})
				named = true
			}
			ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value})
		}
		if !named {
			ts.Labels = append(ts.Labels, prompb.Label{Name: nameLabel, Value: sr.name})
		}
		for pos := c.lo; pos < c.hi; pos++ {
			if p.order[pos] >= 0 {
				ts.Samples = append(ts.Samples, prompb.Sample{Value: p.pts[pos].v, Timestamp: p.pts[pos].t})
			}
		}
		wr.Timeseries = append(wr.Timeseries, ts)
	}
	return wr
}

// The two encoders must agree: decoding either gives the same request.
func TestEncodeMatchesPrompb(t *testing.T) {
	in := datapoints(400, 37, 7)
	in = append(in, sample.Sample{Name: "zero", T: 0, V: 0}) // no labels; zero fields
	var p plan
	p.group(in, limits{70, 1024, 2048})
	ids := make([]int32, len(p.series))
	for i := range ids {
		ids[i] = int32(i)
	}
	reqs := p.cut(ids, 500, 64<<10)
	if len(reqs) < 2 {
		t.Fatalf("%d requests; want several", len(reqs))
	}
	for i := range reqs {
		raw := p.encode(nil, &reqs[i])
		if len(raw) != reqs[i].size {
			t.Fatalf("request %d: encoded %d bytes, planned %d", i, len(raw), reqs[i].size)
		}
		var got prompb.WriteRequest
		if err := got.Unmarshal(raw); err != nil {
			t.Fatalf("request %d: unmarshal: %v", i, err)
		}
		want, err := encodePrompb(&p, &reqs[i]).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := got.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, want) {
			t.Fatalf("request %d: decoded hand-encoded request differs from the prompb one", i)
		}
	}
}

// compress encodes and compresses every request into bufs, as a sender does.
func (p *plan) compress(reqs []request, bufs *buffers) {
	for i := range reqs {
		bufs.raw = p.encode(bufs.raw[:0], &reqs[i])
		if n := snappy.MaxEncodedLen(len(bufs.raw)); cap(bufs.compressed) < n {
			bufs.compressed = make([]byte, n)
		}
		_ = snappy.Encode(bufs.compressed[:cap(bufs.compressed)], bufs.raw)
	}
}
