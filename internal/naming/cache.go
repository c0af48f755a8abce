package naming

import "strings"

// Names are the series names of one (namespace, metric).
type Names struct {
	// Base is the name without a statistic.
	Base string
	// Stat holds the names of the basic statistics, indexed like Statistics.
	Stat [len(Statistics)]string

	pcts []pctName
}

type pctName struct {
	q    float64
	name string
}

// Percentile returns the series name for quantile q, computing it once.
func (n *Names) Percentile(q float64) string {
	for i := range n.pcts {
		if n.pcts[i].q == q {
			return n.pcts[i].name
		}
	}
	name := n.Base + "_" + Percentile(q)
	n.pcts = append(n.pcts, pctName{q, name})
	return name
}

// Cache computes names once and hands out the same strings afterwards, so
// naming a datapoint costs map lookups and no allocation. Keys may alias a
// buffer that is later reused: the cache stores its own copies.
//
// A Cache is not safe for concurrent use. It grows with the number of
// distinct metrics and dimension names, which CloudWatch bounds.
type Cache struct {
	metrics map[string]map[string]*Names // namespace → metric → names
	labels  map[string]string            // dimension name → label name
}

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
	if !ok {
		byMetric = make(map[string]*Names)
		c.metrics[strings.Clone(namespace)] = byMetric
	}
	if n, ok := byMetric[metric]; ok {
		return n
	}
	n := &Names{Base: Base(namespace, metric)}
	for i, s := range Statistics {
		n.Stat[i] = n.Base + "_" + s
	}
	byMetric[strings.Clone(metric)] = n
	return n
}

// Label returns the label name of a dimension.
func (c *Cache) Label(dimension string) string {
	if l, ok := c.labels[dimension]; ok {
		return l
	}
	l := LabelName(dimension)
	c.labels[strings.Clone(dimension)] = l
	return l
}
