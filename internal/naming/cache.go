package naming

import "strings"

// Names are the series names of one (namespace, metric).
type Names struct {
	// Base is the name without a statistic.
	Base string
	// Stat holds the names of the basic statistics, indexed by Statistic.
	Stat [len(Statistics)]string

	pcts []pctName
}

type pctName struct {
	q    float64
	name string
}

// maxPercentiles bounds the percentile names cached per metric; a stream
// asks for a handful, so more means hostile input, named without caching.
const maxPercentiles = 32

// Percentile returns the series name for quantile q, computing it once.
func (n *Names) Percentile(q float64) string {
	for i := range n.pcts {
		if n.pcts[i].q == q {
			return n.pcts[i].name
		}
	}
	name := n.Base + "_" + Percentile(q)
	if len(n.pcts) < maxPercentiles {
		n.pcts = append(n.pcts, pctName{q, name})
	}
	return name
}

// Cache computes names once and hands out the same strings afterwards, so
// naming a datapoint costs map lookups and no allocation. Keys may alias a
// buffer that is later reused: the cache stores its own copies.
//
// A Cache is not safe for concurrent use. It grows with the number of
// distinct metrics and dimension names, which CloudWatch bounds; past
// maxEntries of either, names are computed without being cached, so hostile
// input cannot grow a long-lived Lambda's heap without end.
type Cache struct {
	metrics map[string]map[string]*Names // namespace → metric → names
	labels  map[string]string            // dimension name → label name
	size    int                          // entries in metrics
}

// maxEntries bounds the (namespace, metric) pairs and the dimension names a
// Cache keeps: far more than one account's CloudWatch metrics.
const maxEntries = 100_000

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{
		metrics: make(map[string]map[string]*Names),
		labels:  make(map[string]string),
	}
}

// Metric returns the names of (namespace, metric).
func (c *Cache) Metric(namespace, metric string) *Names {
	byMetric, ok := c.metrics[namespace]
	if n, hit := byMetric[metric]; ok && hit {
		return n
	}
	n := &Names{Base: Base(namespace, metric)}
	for _, s := range Statistics {
		n.Stat[s] = n.Base + "_" + s.String()
	}
	if c.size >= maxEntries {
		return n
	}
	if !ok {
		byMetric = make(map[string]*Names)
		c.metrics[strings.Clone(namespace)] = byMetric
	}
	byMetric[strings.Clone(metric)] = n
	c.size++
	return n
}

// Label returns the label name of a dimension.
func (c *Cache) Label(dimension string) string {
	if l, ok := c.labels[dimension]; ok {
		return l
	}
	l := LabelName(dimension)
	if len(c.labels) < maxEntries {
		c.labels[strings.Clone(dimension)] = l
	}
	return l
}
