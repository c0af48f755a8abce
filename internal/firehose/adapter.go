package firehose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// Handler is the Lambda adapter: Firehose transformation event JSON in,
// response JSON out, the records in between handed to a Core.
type Handler struct {
	log *slog.Logger

	// mu serialises Invoke: the parser and the core reuse their buffers
	// from one event to the next. (The Lambda runtime invokes one event at
	// a time per process anyway.)
	mu      sync.Mutex
	core    *Core
	parser  envelope.Parser
	recs    []Record
	answers []envelope.Answer
	last    int // size of the last response, to size the next
}

// New returns a Handler converting with cfg and writing to w.
func New(cfg *config.Config, w Writer, opts Options) *Handler {
	return &Handler{core: NewCore(cfg, w, opts), log: telemetry.Discard(opts.Logger)}
}

// Invoke handles one event. It implements lambda.Handler. The response is
// a new slice each call: it is the caller's to keep.
//
// An error is returned only when the event itself is unusable (not a
// Firehose event, or a record without an id, which could not be answered)
// or a panic struck outside the core; the Lambda invocation then fails and
// Firehose retries the whole batch.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (resp []byte, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			perr := &panicError{value: v, stack: debug.Stack()}
			h.log.Error("panic outside record processing", "panic", fmt.Sprint(v), "stack", string(perr.stack))
			resp, err = nil, fmt.Errorf("firehose event: %w", perr)
		}
	}()

	ev, err := h.parser.Parse(payload)
	if err != nil {
		return nil, err
	}
	h.recs = h.recs[:0]
	for i := range ev.Records {
		rec := &ev.Records[i]
		// An empty id is also what a record gets whose first fault was
		// another one (bad data, then no recordId): it cannot be answered
		// either.
		if rec.ID == "" || errors.Is(rec.Err, envelope.ErrNoID) {
			cause := rec.Err
			if cause == nil {
				cause = envelope.ErrNoID
			}
			return nil, fmt.Errorf("firehose event: record %d has no usable recordId (%w): it cannot be answered, so the whole event is failed for Firehose to retry", i, cause)
		}
		h.recs = append(h.recs, Record{ID: rec.ID, Data: rec.Data, Err: rec.Err})
	}
	outs := h.core.Process(ctx, h.recs, slog.String("invocation_id", ev.InvocationID))
	h.answers = h.answers[:0]
	for i, o := range outs {
		h.answers = append(h.answers, envelope.Answer{RecordID: h.recs[i].ID, Result: o.Result})
	}
	resp = envelope.AppendResponse(make([]byte, 0, h.last), h.answers)
	h.last = len(resp)
	clear(h.recs) // drop references to the event's data
	return resp, nil
}
