package e2ebench

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/sample"
)

// key is one sample's identity: its series and its time. The value is not
// part of it: a replay sends one value per series and time.
type key struct {
	hash uint64
	t    int64
}

// Sink is a loopback remote-write receiver that decodes every request
// (snappy, then the WriteRequest protobuf) and keeps the identity of every
// sample it received, so that a run can prove every sample arrived.
type Sink struct {
	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	got      map[key]struct{}
	samples  int   // samples received, repeats included
	requests int   // requests received
	raw      int64 // decompressed body bytes
	wire     int64 // body bytes as sent
	first    []byte
	err      error // the first request that did not decode
}

// StartSink listens on a loopback port.
func StartSink() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, got: make(map[key]struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the remote-write URL of the sink.
func (s *Sink) URL() string { return "http://" + s.ln.Addr().String() + "/api/v1/write" }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = fmt.Errorf("request %d: %w", s.requests, err)
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.requests++
	s.wire += int64(len(body))
	s.raw += int64(len(raw))
	if s.first == nil {
		s.first = raw
	}
	var lbls []sample.Label
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		var name string
		lbls = lbls[:0]
		for _, l := range ts.Labels {
			if l.Name == "__name__" {
				name = l.Value
				continue
			}
			lbls = append(lbls, sample.Label{Name: l.Name, Value: l.Value})
		}
		h := sample.SeriesHash(name, lbls)
		for _, smp := range ts.Samples {
			s.got[key{h, smp.Timestamp}] = struct{}{}
			s.samples++
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// Received is what the sink saw.
type Received struct {
	Requests, Samples, Distinct int
	Raw, Wire                   int64
	First                       []byte // the first request's decompressed body
	Err                         error
}

// Received returns what the sink saw so far.
func (s *Sink) Received() Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Received{Requests: s.requests, Samples: s.samples, Distinct: len(s.got), Raw: s.raw, Wire: s.wire, First: s.first, Err: s.err}
}

// Missing counts the keys of want the sink did not receive.
func (s *Sink) Missing(want map[key]struct{}) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range want {
		if _, ok := s.got[k]; !ok {
			n++
		}
	}
	return n
}
