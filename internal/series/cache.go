package series

import (
	"encoding/binary"
	"slices"

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
// cur holds half the bound it becomes prev and a new cur starts; an entry
// found in prev moves back into cur. So at most size entries are kept, the
// series seen since the last turn are never forgotten, and series no
// longer streamed are gone after two turns. (A Lambda instance sees the
// same series every minute, so in practice everything hits.)
type cache struct {
	cur, prev map[string]*entry
	half      int
}

func newCache(size int) cache {
	half := max(size/2, 1)
	return cache{cur: make(map[string]*entry), half: half}
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
	if len(c.cur) >= c.half {
		c.prev, c.cur = c.cur, make(map[string]*entry, c.half)
	}
	c.cur[e.key] = e
}

// len is the number of entries kept.
func (c *cache) len() int { return len(c.cur) + len(c.prev) }
