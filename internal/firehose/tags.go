package firehose

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/cwstream/cwstream/internal/telemetry"
)

// beginTags lets the tag enrichment start the lookups that are due, so they
// run while the records are processed.
func (c *Core) beginTags() {
	if c.opts.Tags != nil {
		c.opts.Tags.Begin()
	}
}

// writeInfo writes the info series of the resources this invocation's
// records carried, timestamped with its newest sample, in a request of its
// own after the records' samples were written: the info series are not a
// record's, so their failure (an out-of-order rejection when invocations
// overtake each other, a limit) is counted and logged, never a record's
// answer. It waits for a lookup in flight at most the enricher's bound.
func (c *Core) writeInfo(ctx context.Context, inv *telemetry.Invocation) {
	e := c.opts.Tags
	if e == nil {
		return
	}
	t := &telemetry.TagCounts{}
	inv.Tags = t
	defer func() {
		// Every record is written by now: a bug here must not fail them.
		if v := recover(); v != nil {
			c.log.Error("panic while writing info series; the records are not affected", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	if inv.NewestSample > 0 {
		c.info = e.Append(ctx, c.info[:0], inv.NewestSample)
	}
	if len(c.info) > 0 {
		rep := c.writer.Write(ctx, c.info)
		t.InfoSeries = rep.SamplesWritten
		for k := range rep.Failed {
			f := &rep.Failed[k]
			if t.InfoSeriesFailed == 0 {
				c.log.Warn("info series not written; the records are not affected", "samples", f.Samples(), "error", f.Err)
			}
			t.InfoSeriesFailed += f.Samples()
		}
		clear(c.info) // the next invocation must not keep label sets alive
		c.info = c.info[:0]
	}
	st := e.Stats()
	t.Lookups = int(st.Lookups - c.tagStats.Lookups)
	t.LookupErrors = int(st.LookupErrors - c.tagStats.LookupErrors)
	c.tagStats = st
}
