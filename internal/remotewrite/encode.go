package remotewrite

import (
	"cmp"
	"math"
	"slices"

	"github.com/cwstream/cwstream/internal/sample"
	"google.golang.org/protobuf/encoding/protowire"
)

// series is one distinct (name, labels) of a Write call.
type series struct {
	name   string
	labels []sample.Label // sorted, without __name__
	hash   uint64
	// lo, hi delimit the series' positions in plan.order.
	lo, hi int32
	// labelsSize is the wire size of the series' label fields, __name__ included.
	labelsSize int
	err        *LimitError
}

// chunk is a run of one series' samples inside one request.
type chunk struct {
	series int32
	lo, hi int32 // positions in plan.order
	size   int   // TimeSeries message size (without its own tag and length)
}

// request is one WriteRequest of a shard.
type request struct {
	chunks  []chunk
	samples int // input samples acknowledged by this request, duplicates included
	emitted int // samples on the wire
	size    int // WriteRequest size in bytes
}

// plan is the reusable scratch of one Write call.
type plan struct {
	seriesOf []int32 // per input sample: its series
	// order holds, per series, its input sample indices sorted by timestamp;
	// an exact duplicate of the previous sample is stored as ^index (< 0): it
	// is acknowledged with its series but not sent.
	order  []int32
	series []series
	index  map[uint64]int32
	counts []int32
	chunks []chunk
}

func (p *plan) reset(n int) {
	p.seriesOf = slices.Grow(p.seriesOf[:0], n)[:n]
	p.order = slices.Grow(p.order[:0], n)[:n]
	p.series = p.series[:0]
	p.chunks = p.chunks[:0]
	if p.index == nil {
		p.index = make(map[uint64]int32, n/2)
	} else {
		clear(p.index)
	}
}

// FNV-1a, then a splitmix64 finaliser so the low bits (used for mod shards)
// are well mixed.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashLabels(labels []sample.Label) uint64 {
	h := uint64(fnvOffset)
	for _, l := range labels {
		h = fnvString(h, l.Name)
		h = (h ^ 0xfe) * fnvPrime
		h = fnvString(h, l.Value)
		h = (h ^ 0xff) * fnvPrime
	}
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// seriesHash is the identity hash of a series; it decides the shard.
func seriesHash(name string, labelsHash uint64) uint64 {
	return mix(fnvString(labelsHash^0x9e3779b97f4a7c15, name))
}

func sameLabels(a, b []sample.Label) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func labelsSorted(labels []sample.Label) bool {
	for i := 1; i < len(labels); i++ {
		if labels[i-1].Name > labels[i].Name {
			return false
		}
	}
	return true
}

// group assigns every sample to its series, checks each series against the
// limits, and sorts each series' samples by timestamp, marking exact
// duplicates.
func (p *plan) group(samples []sample.Sample, lim limits) {
	p.reset(len(samples))
	// Samples of one datapoint share a label slice and usually come
	// together, so the labels' hash, sortedness and limit check are
	// computed once per slice.
	var (
		lastPtr   *sample.Label
		lastLen   = -1
		effective []sample.Label
		lh        uint64
		lCause    string
		lDetail   string
	)
	for i := range samples {
		s := &samples[i]
		var ptr *sample.Label
		if len(s.Labels) > 0 {
			ptr = &s.Labels[0]
		}
		if ptr != lastPtr || len(s.Labels) != lastLen {
			lastPtr, lastLen = ptr, len(s.Labels)
			effective = s.Labels
			if !labelsSorted(effective) {
				// The contract says sorted; a caller bug must not put
				// __name__ or duplicates in the wrong place on the wire.
				effective = slices.Clone(effective)
				slices.SortStableFunc(effective, func(a, b sample.Label) int { return cmp.Compare(a.Name, b.Name) })
			}
			lh = hashLabels(effective)
			lCause, lDetail = lim.checkLabels(effective)
		}
		h := seriesHash(s.Name, lh)
		// Open addressing over the map: a true 64-bit collision probes h+1, …
		var id int32
		for k := h; ; k++ {
			got, ok := p.index[k]
			if !ok {
				id = int32(len(p.series))
				p.index[k] = id
				sr := series{name: s.Name, labels: effective, hash: h}
				cause, detail := lCause, lDetail
				if cause == "" {
					cause, detail = lim.checkName(s.Name)
				}
				if cause != "" {
					sr.err = &LimitError{Cause: cause, Series: seriesString(s.Name, effective), Detail: detail}
				}
				p.series = append(p.series, sr)
				break
			}
			if sr := &p.series[got]; sr.name == s.Name && sameLabels(sr.labels, effective) {
				id = got
				break
			}
		}
		p.seriesOf[i] = id
	}

	// Counting sort of sample indices by series keeps input order within a
	// series, so the timestamp sort below is stable.
	p.counts = slices.Grow(p.counts[:0], len(p.series))[:len(p.series)]
	clear(p.counts)
	for _, id := range p.seriesOf {
		p.counts[id]++
	}
	var off int32
	for id := range p.series {
		sr := &p.series[id]
		sr.lo = off
		off += p.counts[id]
		sr.hi = sr.lo
	}
	for i, id := range p.seriesOf {
		sr := &p.series[id]
		p.order[sr.hi] = int32(i)
		sr.hi++
	}
	for id := range p.series {
		sr := &p.series[id]
		if sr.err != nil {
			continue
		}
		seg := p.order[sr.lo:sr.hi]
		byTime := func(a, b int32) int { return cmp.Compare(samples[a].T, samples[b].T) }
		if !slices.IsSortedFunc(seg, byTime) {
			slices.SortStableFunc(seg, byTime)
		}
		for j := 1; j < len(seg); j++ {
			prev := seg[j-1]
			if prev < 0 {
				prev = ^prev
			}
			a, b := &samples[prev], &samples[seg[j]]
			if a.T == b.T && math.Float64bits(a.V) == math.Float64bits(b.V) {
				seg[j] = ^seg[j]
			}
		}
		sr.labelsSize = labelsWireSize(sr.name, sr.labels)
	}
}

// Wire sizes. Samples always carry both fields, even zero ones: a fixed
// layout keeps sizing exact and -0.0 keeps its sign.
func labelFieldSize(name, value string) int {
	m := 1 + protowire.SizeBytes(len(name)) + 1 + protowire.SizeBytes(len(value))
	return 1 + protowire.SizeBytes(m)
}

func sampleMsgSize(t int64) int { return 1 + 8 + 1 + protowire.SizeVarint(uint64(t)) }

func sampleFieldSize(t int64) int { return 1 + protowire.SizeBytes(sampleMsgSize(t)) }

func labelsWireSize(name string, labels []sample.Label) int {
	n := labelFieldSize(nameLabel, name)
	for _, l := range labels {
		n += labelFieldSize(l.Name, l.Value)
	}
	return n
}

// cut splits the given series (of one shard, in order) into requests under
// the sample and byte limits. A series may span consecutive requests.
func (p *plan) cut(samples []sample.Sample, ids []int32, maxSamples, maxBytes int) []request {
	var (
		reqs  []request
		cur   request
		first = len(p.chunks)
	)
	closeReq := func() {
		cur.chunks = p.chunks[first:len(p.chunks):len(p.chunks)]
		reqs = append(reqs, cur)
		cur = request{}
		first = len(p.chunks)
	}
	for _, id := range ids {
		sr := &p.series[id]
		open := false // whether p.chunks' last element is this series' open chunk
		for pos := sr.lo; pos < sr.hi; pos++ {
			idx := p.order[pos]
			if idx < 0 {
				// A duplicate rides with the chunk of the sample it repeats.
				p.chunks[len(p.chunks)-1].hi = pos + 1
				cur.samples++
				continue
			}
			ss := sampleFieldSize(samples[idx].T)
			var grow int
			if open {
				c := &p.chunks[len(p.chunks)-1]
				grow = 1 + protowire.SizeBytes(c.size+ss) - (1 + protowire.SizeBytes(c.size))
			} else {
				grow = 1 + protowire.SizeBytes(sr.labelsSize+ss)
			}
			if cur.emitted > 0 && (cur.emitted >= maxSamples || cur.size+grow > maxBytes) {
				closeReq()
				open = false
				grow = 1 + protowire.SizeBytes(sr.labelsSize+ss)
			}
			if !open {
				p.chunks = append(p.chunks, chunk{series: id, lo: pos, hi: pos, size: sr.labelsSize})
				open = true
			}
			c := &p.chunks[len(p.chunks)-1]
			c.hi = pos + 1
			c.size += ss
			cur.size += grow
			cur.samples++
			cur.emitted++
		}
	}
	if cur.emitted > 0 {
		closeReq()
	}
	return reqs
}

// encode appends the WriteRequest of r to buf.
func (p *plan) encode(buf []byte, samples []sample.Sample, r *request) []byte {
	for _, c := range r.chunks {
		sr := &p.series[c.series]
		buf = protowire.AppendTag(buf, 1, protowire.BytesType) // WriteRequest.timeseries
		buf = protowire.AppendVarint(buf, uint64(c.size))
		// Labels sorted by name with __name__ merged in its place: a label
		// such as "Env" or "__a" sorts before it.
		named := false
		for _, l := range sr.labels {
			if !named && l.Name > nameLabel {
				buf = appendLabel(buf, nameLabel, sr.name)
				named = true
			}
			buf = appendLabel(buf, l.Name, l.Value)
		}
		if !named {
			buf = appendLabel(buf, nameLabel, sr.name)
		}
		for _, idx := range p.order[c.lo:c.hi] {
			if idx < 0 {
				continue
			}
			s := &samples[idx]
			buf = protowire.AppendTag(buf, 2, protowire.BytesType) // TimeSeries.samples
			buf = protowire.AppendVarint(buf, uint64(sampleMsgSize(s.T)))
			buf = protowire.AppendTag(buf, 1, protowire.Fixed64Type) // Sample.value
			buf = protowire.AppendFixed64(buf, math.Float64bits(s.V))
			buf = protowire.AppendTag(buf, 2, protowire.VarintType) // Sample.timestamp
			buf = protowire.AppendVarint(buf, uint64(s.T))
		}
	}
	return buf
}

func appendLabel(buf []byte, name, value string) []byte {
	buf = protowire.AppendTag(buf, 1, protowire.BytesType) // TimeSeries.labels
	buf = protowire.AppendVarint(buf, uint64(1+protowire.SizeBytes(len(name))+1+protowire.SizeBytes(len(value))))
	buf = protowire.AppendTag(buf, 1, protowire.BytesType) // Label.name
	buf = protowire.AppendString(buf, name)
	buf = protowire.AppendTag(buf, 2, protowire.BytesType) // Label.value
	buf = protowire.AppendString(buf, value)
	return buf
}
