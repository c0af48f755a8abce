package remotewrite

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"sort"

	"github.com/cwstream/cwstream/internal/sample"
	"google.golang.org/protobuf/encoding/protowire"
)

// series is one distinct (name, labels) of a Write call.
type series struct {
	name   string
	labels []sample.Label // sorted, without __name__
	hash   uint64
	// lo, hi delimit the series' positions in plan.order and plan.tv.
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

// point is a sample's time and value, copied into series order so that
// cutting and encoding read memory in sequence.
type point struct {
	t int64
	v float64
}

// plan is the request plan of one Write call and its reusable scratch:
// group by series, limit guard, shard, cut, encode. It knows nothing of
// HTTP.
type plan struct {
	seriesOf []int32 // per input sample: its series
	// order holds, per series, its input sample indices sorted by
	// timestamp. A sample that is not sent is stored as ^index (< 0) right
	// after the sample sent for its timestamp: an exact duplicate, or an
	// earlier value that a later one of the same timestamp revised. It is
	// acknowledged with its series.
	order []int32
	// pts holds the time and value of order's samples, position for
	// position.
	pts    []point
	series []series
	// slots is an open-addressing table of series id + 1 by hash (0: free),
	// cheaper than a map for the one probe per sample.
	slots  []int32
	counts []int32
	chunks []chunk
	pairs  []pointIndex // sortPoints' scratch
	// superseded counts samples not sent because a later sample of the
	// same series and timestamp carried another value.
	superseded int
}

func (p *plan) reset(n int) {
	p.seriesOf = slices.Grow(p.seriesOf[:0], n)[:n]
	p.order = slices.Grow(p.order[:0], n)[:n]
	p.pts = slices.Grow(p.pts[:0], n)[:n]
	p.chunks = p.chunks[:0]
	p.superseded = 0
	// As many series as the last Write had (one Lambda or replay batch
	// looks much like the next), at most n; the table grows when they are
	// more (grow). A table sized by the series rather than the samples
	// (five or more samples a series) stays in the CPU's cache: the probe
	// per sample is most of group's time.
	p.sizeSlots(min(n, max(len(p.series), 64)))
	p.series = p.series[:0]
}

// sizeSlots makes an empty table for series series at a load under 2/3,
// which keeps probes short.
func (p *plan) sizeSlots(series int) {
	size := 64
	for size < series+series/2 {
		size *= 2
	}
	if cap(p.slots) < size {
		p.slots = make([]int32, size)
	} else {
		p.slots = p.slots[:size]
		clear(p.slots)
	}
}

// grow doubles the table when the series fill 2/3 of it, and places them
// again by their hashes.
func (p *plan) grow() {
	if len(p.series) < len(p.slots)*2/3 {
		return
	}
	p.sizeSlots(2 * len(p.series))
	mask := uint64(len(p.slots) - 1)
	for id := range p.series {
		k := p.series[id].hash & mask
		for p.slots[k] != 0 {
			k = (k + 1) & mask
		}
		p.slots[k] = int32(id) + 1
	}
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
// limits, sorts each series' samples by timestamp and copies them into
// series order, marking exact duplicates and revised values.
func (p *plan) group(samples []sample.Sample, lim limits) {
	p.reset(len(samples))
	// Samples of one series share a label slice (internal/series builds
	// them so) and samples of one datapoint usually come together, so the
	// labels' sortedness is checked once per slice, and their limits once
	// per slice that brings a new series. The series hash comes with the
	// sample (sample.Sample.Hash) when its builder computed it.
	var (
		lastPtr   *sample.Label
		lastLen   = -1
		effective []sample.Label
		resorted  bool
		lChecked  bool
		lReason   string
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
			effective, resorted = s.Labels, false
			if !labelsSorted(effective) {
				// The contract says sorted; a caller bug must not put
				// __name__ or duplicates in the wrong place on the wire.
				effective, resorted = slices.Clone(effective), true
				slices.SortStableFunc(effective, func(a, b sample.Label) int { return cmp.Compare(a.Name, b.Name) })
			}
			lChecked = false
		}
		h := s.Hash
		if h == 0 || resorted {
			h = sample.SeriesHash(s.Name, effective)
		}
		var id int32
		mask := uint64(len(p.slots) - 1)
		for k := h & mask; ; k = (k + 1) & mask {
			slot := p.slots[k]
			if slot == 0 {
				id = int32(len(p.series))
				p.slots[k] = id + 1
				sr := series{name: s.Name, labels: effective, hash: h}
				if !lChecked {
					lReason, lDetail = lim.checkLabels(effective)
					lChecked = true
				}
				reason, detail := lReason, lDetail
				if reason == "" {
					reason, detail = lim.checkName(s.Name)
				}
				if reason != "" {
					sr.err = &LimitError{Reason: reason, Series: seriesString(s.Name, effective), Detail: detail}
				}
				p.series = append(p.series, sr)
				p.grow()
				break
			}
			if sr := &p.series[slot-1]; sr.hash == h && sr.name == s.Name && sameLabels(sr.labels, effective) {
				id = slot - 1
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
		p.sortSeries(samples, sr)
		sr.labelsSize = labelsWireSize(sr.name, sr.labels)
	}
}

// sortSeries copies one series' samples into p.pts, sorts them by
// timestamp (stable: input order among equal timestamps), and keeps one
// sample per timestamp: an exact duplicate is not sent, and of two
// different values the later one is, since CloudWatch may send a revised
// aggregate for a minute it already streamed.
func (p *plan) sortSeries(samples []sample.Sample, sr *series) {
	seg, pts := p.order[sr.lo:sr.hi], p.pts[sr.lo:sr.hi]
	sorted := true
	for j, idx := range seg {
		s := &samples[idx]
		pts[j] = point{s.T, s.V}
		if j > 0 && pts[j-1].t > s.T {
			sorted = false
		}
	}
	if !sorted {
		p.sortPoints(seg, pts)
	}
	revised := false
	kept := 0 // position of the sample sent for the current timestamp
	for j := 1; j < len(seg); j++ {
		if pts[kept].t != pts[j].t {
			kept = j
			continue
		}
		if math.Float64bits(pts[kept].v) == math.Float64bits(pts[j].v) {
			seg[j] = ^seg[j]
			continue
		}
		// The later value goes where the sent one was; the earlier one
		// moves behind it, not sent.
		seg[kept], seg[j] = seg[j], ^seg[kept]
		pts[kept], pts[j] = pts[j], pts[kept]
		revised = true
	}
	if !revised {
		return
	}
	// Count the samples whose value is not the one sent for their
	// timestamp (the sent one always comes first).
	var sent float64
	for j, idx := range seg {
		if idx >= 0 {
			sent = pts[j].v
		} else if math.Float64bits(pts[j].v) != math.Float64bits(sent) {
			p.superseded++
		}
	}
}

// sortPoints sorts pts by time, stably, moving seg along. Series are short
// (the minutes of one invocation) and nearly sorted already (a late
// datapoint here and there), which is what an insertion sort on the
// contiguous points does best; a long one goes through a reused scratch
// slice.
func (p *plan) sortPoints(seg []int32, pts []point) {
	if len(seg) <= 256 {
		for j := 1; j < len(seg); j++ {
			pt, idx := pts[j], seg[j]
			k := j
			for ; k > 0 && pts[k-1].t > pt.t; k-- {
				pts[k], seg[k] = pts[k-1], seg[k-1]
			}
			pts[k], seg[k] = pt, idx
		}
		return
	}
	p.pairs = p.pairs[:0]
	for j := range seg {
		p.pairs = append(p.pairs, pointIndex{pts[j], seg[j]})
	}
	slices.SortStableFunc(p.pairs, func(a, b pointIndex) int { return cmp.Compare(a.pt.t, b.pt.t) })
	for j, pi := range p.pairs {
		pts[j], seg[j] = pi.pt, pi.idx
	}
}

// pointIndex is a point with its input index, for sorting long series.
type pointIndex struct {
	pt  point
	idx int32
}

// shard applies the limit guard, then spreads the other series over n
// shards by their identity hash and cuts each shard into requests. The
// guard's failures (one per series) are appended to *removed, and their
// series marked in seriesFailed.
func (p *plan) shard(n, maxSamples, maxBytes int, seriesFailed []bool, removed *[]Failure) [][]request {
	shardSeries := make([][]int32, n)
	var idx []int32
	for id := range p.series {
		sr := &p.series[id]
		if sr.err != nil {
			seriesFailed[id] = true
			idx = append(idx[:0], p.order[sr.lo:sr.hi]...)
			*removed = append(*removed, Failure{Ranges: ranges(idx), Err: sr.err})
			continue
		}
		s := int(sr.hash % uint64(n))
		shardSeries[s] = append(shardSeries[s], int32(id))
	}
	reqs := make([][]request, n)
	for s, ids := range shardSeries {
		reqs[s] = p.cut(ids, maxSamples, maxBytes)
	}
	return reqs
}

// fail marks the chunks' series failed and returns one Failure with err for
// all their samples; *scratch is reused for the indices.
func (p *plan) fail(scratch *[]int32, chunks []chunk, seriesFailed []bool, err error) Failure {
	return p.failures(scratch, chunks, seriesFailed, err)
}

// failures is fail that marks the series failed only when seriesFailed is
// not nil: samples too old for the store hold back none of their series'
// newer samples.
func (p *plan) failures(scratch *[]int32, chunks []chunk, seriesFailed []bool, err error) Failure {
	idx := (*scratch)[:0]
	for _, ch := range chunks {
		if seriesFailed != nil {
			seriesFailed[ch.series] = true
		}
		for _, i := range p.order[ch.lo:ch.hi] {
			if i < 0 {
				i = ^i
			}
			idx = append(idx, i)
		}
	}
	*scratch = idx
	return Failure{Ranges: ranges(idx), Err: err}
}

// ranges sorts idx and returns it as ranges.
func ranges(idx []int32) []Range {
	slices.Sort(idx)
	var out []Range
	for _, i := range idx {
		if n := len(out); n > 0 && out[n-1].Hi == int(i) {
			out[n-1].Hi++
			continue
		}
		out = append(out, Range{int(i), int(i) + 1})
	}
	return out
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
func (p *plan) cut(ids []int32, maxSamples, maxBytes int) []request {
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
			ss := sampleFieldSize(p.pts[pos].t)
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

// Tags of the WriteRequest fields encode writes, each one byte: field
// number << 3 | wire type.
const (
	tagTimeSeries  = 1<<3 | byte(protowire.BytesType)   // WriteRequest.timeseries
	tagLabel       = 1<<3 | byte(protowire.BytesType)   // TimeSeries.labels
	tagSample      = 2<<3 | byte(protowire.BytesType)   // TimeSeries.samples
	tagLabelName   = 1<<3 | byte(protowire.BytesType)   // Label.name
	tagLabelValue  = 2<<3 | byte(protowire.BytesType)   // Label.value
	tagSampleValue = 1<<3 | byte(protowire.Fixed64Type) // Sample.value
	tagSampleTime  = 2<<3 | byte(protowire.VarintType)  // Sample.timestamp
)

// encode appends the WriteRequest of r to buf, growing it once to the
// request's size, which cut computed.
func (p *plan) encode(buf []byte, r *request) []byte {
	buf = slices.Grow(buf, r.size)
	for _, c := range r.chunks {
		sr := &p.series[c.series]
		buf = append(buf, tagTimeSeries)
		buf = appendVarint(buf, uint64(c.size))
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
		for pos := c.lo; pos < c.hi; pos++ {
			if p.order[pos] < 0 {
				continue
			}
			s := p.pts[pos]
			buf = append(buf, tagSample)
			buf = appendVarint(buf, uint64(sampleMsgSize(s.t)))
			buf = append(buf, tagSampleValue)
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(s.v))
			buf = append(buf, tagSampleTime)
			buf = protowire.AppendVarint(buf, uint64(s.t))
		}
	}
	return buf
}

func appendLabel(buf []byte, name, value string) []byte {
	buf = append(buf, tagLabel)
	buf = appendVarint(buf, uint64(1+protowire.SizeBytes(len(name))+1+protowire.SizeBytes(len(value))))
	buf = append(buf, tagLabelName)
	buf = appendVarint(buf, uint64(len(name)))
	buf = append(buf, name...)
	buf = append(buf, tagLabelValue)
	buf = appendVarint(buf, uint64(len(value)))
	return append(buf, value...)
}

// appendVarint is protowire.AppendVarint, inlined for the one-byte lengths
// most label fields have.
func appendVarint(buf []byte, v uint64) []byte {
	if v < 0x80 {
		return append(buf, byte(v))
	}
	return protowire.AppendVarint(buf, v)
}

// times returns the distinct timestamps of the samples chunks send, sorted.
func (p *plan) times(chunks []chunk) []int64 {
	var ts []int64
	for _, ch := range chunks {
		for pos := ch.lo; pos < ch.hi; pos++ {
			if p.order[pos] >= 0 {
				ts = append(ts, p.pts[pos].t)
			}
		}
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// splitAt cuts chunks into the samples older than t and those at t or
// later, each part a chunk of its own with its wire size. A sample not sent
// stays with the one it repeats (same timestamp, right after it).
func (p *plan) splitAt(chunks []chunk, t int64) (older, newer []chunk) {
	part := func(series, lo, hi int32) chunk {
		c := chunk{series: series, lo: lo, hi: hi, size: p.series[series].labelsSize}
		for pos := lo; pos < hi; pos++ {
			if p.order[pos] >= 0 {
				c.size += sampleFieldSize(p.pts[pos].t)
			}
		}
		return c
	}
	for _, ch := range chunks {
		cut := ch.lo + int32(sort.Search(int(ch.hi-ch.lo), func(i int) bool { return p.pts[ch.lo+int32(i)].t >= t }))
		if cut > ch.lo {
			older = append(older, part(ch.series, ch.lo, cut))
		}
		if cut < ch.hi {
			newer = append(newer, part(ch.series, cut, ch.hi))
		}
	}
	return older, newer
}
