// Package convert is the path from one record's bytes to labelled samples:
// the format detector and its decoders (OpenTelemetry 0.7 and 1.0, JSON)
// feeding the series builder. The Lambda
// handler and the CLI both go through it, so they cannot disagree.
package convert

import (
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/series"
	"github.com/cwstream/cwstream/internal/tags"
)

// Converter converts records. It is not safe for concurrent use.
type Converter struct {
	dec     decode.Decoder
	builder *series.Builder

	dst        []sample.Sample
	datapoints int
	appendFn   func(*cw.Update) error
	tags       *tags.Enricher
}

// New returns a Converter for cfg, which must be valid.
func New(cfg *config.Config) *Converter {
	c := &Converter{builder: series.New(cfg)}
	// One closure for the Converter's life rather than one per record.
	c.appendFn = func(u *cw.Update) error {
		c.datapoints++
		c.dst = c.builder.Append(c.dst, u)
		if c.tags != nil {
			c.tags.Observe(u)
		}
		return nil
	}
	return c
}

// Enrich has every datapoint's resource noted by e, whose info series the
// caller appends once per batch of records (tags.Enricher.Append).
func (c *Converter) Enrich(e *tags.Enricher) { c.tags = e }

// Record appends the samples of every data point in data to dst, whatever
// output format data holds. On malformed or unrecognised input it returns a
// *wire.Error together with the samples of the frames or lines before the
// bad one, and the caller decides what to do with them. The samples do not
// alias data (see series.Builder): data may be reused as soon as Record
// returns.
func (c *Converter) Record(dst []sample.Sample, data []byte) (out []sample.Sample, datapoints int, err error) {
	c.dst, c.datapoints = dst, 0
	err = c.dec.Decode(data, c.appendFn)
	out, c.dst = c.dst, nil
	return out, c.datapoints, err
}

// Stats returns the series builder's counts.
func (c *Converter) Stats() series.Stats { return c.builder.Stats() }
