package firehose

import (
	"context"

	"github.com/cwstream/cwstream/internal/telemetry"
)

// beginTags lets the tag enrichment start the lookups that are due, so they
// run while the records are processed.
func (h *Handler) beginTags() {
	if h.opts.Tags != nil {
		h.opts.Tags.Begin()
	}
}

// writeInfo writes the info series of the resources this invocation's
// records carried, timestamped with its newest sample, in a request of its
// own after the records' samples were written: the info series are not a
// record's, so their failure (an out-of-order rejection when invocations
// overtake each other, a limit) is counted and logged, never a record's
// answer. It waits for a lookup in flight at most the enricher's bound.
func (h *Handler) writeInfo(ctx context.Context, inv *telemetry.Invocation) {
	e := h.opts.Tags
	if e == nil {
		return
	}
	t := &telemetry.TagCounts{}
	inv.Tags = t
	if inv.NewestSample > 0 {
		h.info = e.Append(ctx, h.info[:0], inv.NewestSample)
	}
	if len(h.info) > 0 {
		rep := h.writer.Write(ctx, h.info)
		t.InfoSeries = rep.SamplesWritten
		for _, f := range rep.Failed {
			t.InfoSeriesFailed++
			if t.InfoSeriesFailed == 1 {
				h.log.Warn("info series not written; the records are not affected", "error", f.Err)
			}
		}
		clear(h.info) // the next invocation must not keep label sets alive
		h.info = h.info[:0]
	}
	st := e.Stats()
	t.Lookups = int(st.Lookups - h.tagStats.Lookups)
	t.LookupErrors = int(st.LookupErrors - h.tagStats.LookupErrors)
	h.tagStats = st
}
