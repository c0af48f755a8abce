package e2ebench

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/streamtest"
	"github.com/cwstream/cwstream/internal/testutil"
)

// base decodes the recorded fixture objects of the repository.
func base(t *testing.T) []cw.Update {
	t.Helper()
	ups, err := LoadBase([]string{testutil.Testdata(t, "payloads", "ecs.bin"), testutil.Testdata(t, "payloads", "rds.bin")})
	if err != nil {
		t.Fatal(err)
	}
	return ups
}

func TestGenerate(t *testing.T) {
	ups := base(t)
	for _, tc := range []struct {
		name      string
		n, groups int
	}{
		{"one round", 1, 1},
		{"rounds of one group", 3 * len(ups), 1},
		{"rounds of three groups", 5*len(ups) + 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, written := Generate(nil, ups, tc.n, tc.groups)
			rounds := (tc.n + len(ups) - 1) / len(ups)
			if written != rounds*len(ups) {
				t.Fatalf("wrote %d updates, want %d whole rounds of %d", written, rounds, len(ups))
			}
			var d decode.Decoder
			got, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(obj, fn) })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != written {
				t.Fatalf("decoded %d updates, want %d", len(got), written)
			}
			// Round k is base in group k%groups at turn k/groups: the first
			// round is base itself.
			for i := range ups {
				if g, w := got[i], ups[i]; g.Namespace != w.Namespace || g.EndUnixNano != w.EndUnixNano || len(g.Dimensions) != len(w.Dimensions) || g.Sum != w.Sum {
					t.Fatalf("update %d = %+v, want %+v", i, g, w)
				}
			}
			// No two updates share a series and a time, so every sample
			// is one the sink must receive.
			want, n, err := Expected(obj, config.Default())
			if err != nil || n != written {
				t.Fatalf("Expected: %d updates, %v", n, err)
			}
			if rounds > 1 {
				one, _ := Generate(nil, ups, 1, 1)
				first, _, _ := Expected(one, config.Default())
				if len(want) != rounds*len(first) {
					t.Fatalf("%d distinct samples, want %d rounds of %d", len(want), rounds, len(first))
				}
			}
		})
	}
}

func TestScan(t *testing.T) {
	obj, _ := Generate(nil, base(t), 1, 1)
	n, err := Scan(obj)
	if err != nil || n == 0 {
		t.Fatalf("Scan = %d, %v", n, err)
	}
	// Twice the object is twice the fields.
	if m, err := Scan(append(bytes.Clone(obj), obj...)); err != nil || m != 2*n {
		t.Fatalf("Scan of the object twice = %d, %v; want %d", m, err, 2*n)
	}
	for _, bad := range [][]byte{{0x05, 0x0a}, {0x02, 0x0f, 0x00}} {
		if _, err := Scan(bad); err == nil {
			t.Errorf("Scan(%x) = nil error", bad)
		}
	}
}

func TestSink(t *testing.T) {
	s, err := StartSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "a"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}, {Value: 2, Timestamp: 2}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "b"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}},
	}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range [][]byte{snappy.Encode(nil, raw), snappy.Encode(nil, raw), []byte("not snappy")} {
		resp, err := http.Post(s.URL(), "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := s.Received()
	if got.Requests != 2 || got.Samples != 6 || got.Distinct != 3 || got.Raw != int64(2*len(raw)) || !bytes.Equal(got.First, raw) || got.Err == nil {
		t.Fatalf("Received = %+v, want 2 requests, 6 samples, 3 distinct, %d raw bytes and an error", got, 2*len(raw))
	}
	want := map[key]struct{}{{hash: 1, t: 1}: {}}
	if m := s.Missing(want); m != 1 {
		t.Errorf("Missing = %d, want 1", m)
	}
}
