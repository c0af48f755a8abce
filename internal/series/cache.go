package series

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/sample"
)

// defaultCacheSeries bounds the input series a Builder remembers. Measured
// with BenchmarkCacheMemory (an ECS-like series with three dimensions, five
// statistics, three percentiles and five relabel rules) an entry costs
// about 1.3 KB, so a full cache holds about 85 MB: within the function's
// default 1024 MB, and room for far more series than one account streams
// per region. Past the bound the series seen least recently are forgotten
// (see cache), never those of the last turn.
const defaultCacheSeries = 64 << 10

// defaultCacheBytes bounds the same by size, for series far larger than
// CloudWatch's usual ones: 30 dimensions of 1,024-byte values make an entry
// of over 30 KB, and 64 Ki of them would not fit the function. Entries are
// sized as they are made (entrySize, resultSize); for usual series the
// count bound is the one reached first (BenchmarkCacheMemory reports the
// estimate beside the measured size).
const defaultCacheBytes = 128 << 20

// maxCachedPercentiles bounds the quantiles remembered per series: streams
// send a handful, so more is hostile input, decided without being kept.
const maxCachedPercentiles = 16

// outcome is what a statistic of a series becomes.
type outcome uint8

const (
	emitted       outcome = iota
	skipped               // the configuration does not emit the statistic
	droppedByRule         // a relabel rule dropped the sample
	droppedNoName         // relabelling removed __name__
)

// result is what one statistic of one series becomes: a sample's name,
// labels and series hash, or the reason there is no sample.
type result struct {
	name    string
	labels  []sample.Label
	hash    uint64
	outcome outcome
	done    bool // worked out (statistics are worked out when first seen)
}

type pctResult struct {
	q float64
	result
}

// entry is one input series: the labels it gets before relabelling and what
// each of its statistics becomes.
type entry struct {
	key    string // appendKey's bytes; the label values are substrings of it
	size   int    // estimated bytes kept, for the cache's bound
	names  *naming.Names
	labels []sample.Label // before relabelling, sorted
	stat   [len(naming.Statistics)]result
	pcts   []pctResult
}

// sameLabels returns a label slice of e equal to l, if e already has one.
func (e *entry) sameLabels(l []sample.Label) []sample.Label {
	if slices.Equal(e.labels, l) {
		return e.labels
	}
	for i := range e.stat {
		if r := &e.stat[i]; r.done && r.labels != nil && slices.Equal(r.labels, l) {
			return r.labels
		}
	}
	for i := range e.pcts {
		if r := &e.pcts[i]; r.labels != nil && slices.Equal(r.labels, l) {
			return r.labels
		}
	}
	return nil
}

// The fields of a key, in order; dimension names and values follow in
// pairs.
const (
	keyNamespace = iota
	keyMetric
	keyAccount
	keyRegion
	keyDimensions
)

// appendKey appends the identity of u's input series: its namespace,
// metric, account, region and dimensions, each length-prefixed so that no
// two series share a key whatever bytes their strings hold.
func appendKey(dst []byte, u *cw.Update) []byte {
	dst = appendField(dst, u.Namespace)
	dst = appendField(dst, u.MetricName)
	dst = appendField(dst, u.AccountID)
	dst = appendField(dst, u.Region)
	for _, d := range u.Dimensions {
		dst = appendField(dst, d.Name)
		dst = appendField(dst, d.Value)
	}
	return dst
}

func appendField(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// splitKey appends the fields of a key made by appendKey to dst, as
// substrings of key.
func splitKey(dst []string, key string) []string {
	for len(key) > 0 {
		n, w := binary.Uvarint([]byte(key[:min(len(key), binary.MaxVarintLen64)]))
		key = key[w:]
		dst = append(dst, key[:n])
		key = key[n:]
	}
	return dst
}

// cache remembers entries by key, bounded: new entries go into cur; when
// cur holds half the bound (of entries or of estimated bytes) it becomes
// prev and a new cur starts; an entry found in prev moves back into cur. So
// at most the bound is kept, the series seen since the last turn are never
// forgotten, and series no longer streamed are gone after two turns. (A
// Lambda instance sees the same series every minute, so in practice
// everything hits.)
type cache struct {
	cur, prev map[string]*entry
	half      int // entries
	halfBytes int
	curBytes  int // the estimated size of cur's entries
}

func newCache(size, bytes int) cache {
	return cache{cur: make(map[string]*entry), half: max(size/2, 1), halfBytes: max(bytes/2, 1)}
}

// get returns the entry of key, or nil.
func (c *cache) get(key []byte) *entry {
	if e := c.cur[string(key)]; e != nil {
		return e
	}
	e := c.prev[string(key)]
	if e != nil {
		c.put(e)
	}
	return e
}

// put adds e, turning the generations when cur is full.
func (c *cache) put(e *entry) {
	if len(c.cur) >= c.half || c.curBytes >= c.halfBytes {
		c.prev, c.cur, c.curBytes = c.cur, make(map[string]*entry, min(len(c.cur), c.half)), 0
	}
	c.cur[e.key] = e
	c.curBytes += e.size
}

// grow adds n bytes to e, which is in cur: what get and put return is.
func (c *cache) grow(e *entry, n int) {
	e.size += n
	c.curBytes += n
}

// len is the number of entries kept.
func (c *cache) len() int { return len(c.cur) + len(c.prev) }

// Sizes for the byte bound: what the heap holds for an entry beyond its
// strings and label slices (the struct and its share of the map), and per
// label and per remembered quantile.
const (
	entryOverhead = int(unsafe.Sizeof(entry{})) + 64
	labelSize     = int(unsafe.Sizeof(sample.Label{}))
	pctSize       = int(unsafe.Sizeof(pctResult{}))
)

// entrySize estimates the bytes a new entry keeps: its key, which its label
// values are substrings of, and its label slice.
func entrySize(e *entry) int {
	return entryOverhead + len(e.key) + cap(e.labels)*labelSize
}

// resultSize estimates the bytes a statistic's result adds to e beyond what
// e already holds: a label slice of its own, and the strings relabelling
// made (a label e has, with the same value, shares e's strings). name is
// the name the naming contract gave; a rule that renamed the sample made a
// string of its own.
func resultSize(e *entry, r *result, name string, own bool) int {
	n := 0
	if r.name != name {
		n += len(r.name)
	}
	if !own {
		return n
	}
	n += cap(r.labels) * labelSize
	for _, l := range r.labels {
		if i, ok := slices.BinarySearchFunc(e.labels, l.Name, func(x sample.Label, name string) int {
			return strings.Compare(x.Name, name)
		}); !ok || e.labels[i].Value != l.Value {
			n += len(l.Name) + len(l.Value)
		}
	}
	return n
}
