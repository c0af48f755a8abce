// Package firehose is the Kinesis Data Firehose data-transformation handler:
// it decodes every record of an event, writes the samples, and answers
// every recordId exactly once.
//
// A record is answered Dropped (done, nothing to deliver) only when every
// sample it produced was acknowledged by the store. Anything else, a
// malformed record, a sample the store rejected, retries that ran out, a
// deadline, is answered ProcessingFailed, so Firehose keeps the raw record
// in its processing-failed S3 prefix for `cwstream replay`. Writes are
// idempotent, so a replay never harms.
//
// The handler implements lambda.Handler over the raw payload: the event is
// parsed by internal/envelope without building a generic JSON tree, which
// encoding/json would make the most expensive step of the invocation.
package firehose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/otlp07"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// Writer writes samples and reports which were not acknowledged.
// *remotewrite.Client is the Writer of the Lambda.
type Writer interface {
	Write(ctx context.Context, samples []sample.Sample) remotewrite.Report
}

var _ Writer = (*remotewrite.Client)(nil)

// Options configure a Handler.
type Options struct {
	// Logger for the invocation summary and failed records; nil discards.
	Logger *slog.Logger
	// Metrics receives one set of EMF lines per invocation; nil for none.
	Metrics io.Writer
	// MetricsNamespace and FunctionName go into the EMF documents.
	MetricsNamespace, FunctionName string
	// Reserve is how long before the invocation deadline writing stops, so
	// the answer gets out in time. Zero means the default: a tenth of the
	// time left, at least 100 ms and at most 3 s.
	Reserve time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// OnInvocation, if set, receives each invocation's counts (tests and
	// the CLI's summary use it).
	OnInvocation func(*telemetry.Invocation)
	// OnFailed, if set, is called for every record answered
	// ProcessingFailed, with its cause (the CLI names them all).
	OnFailed func(recordID, cause string, err error)
	// Tags, if set, writes the info series of the resources the records
	// carry, after the records' samples and apart from them (see tags.go).
	Tags *tags.Enricher
}

// Handler handles Firehose transformation events.
type Handler struct {
	conv   *convert.Converter
	writer Writer
	log    *slog.Logger
	opts   Options

	// The Lambda runtime invokes one event at a time per process; the lock
	// keeps the reused buffers safe when a caller does not.
	mu      sync.Mutex
	parser  envelope.Parser
	samples []sample.Sample
	owner   []int32 // sample index → record index
	answers []envelope.Answer
	causes  []failure // per record
	resp    []byte

	info     []sample.Sample // the tag enrichment's info series
	tagStats tags.Stats      // the enricher's counts at the last invocation
}

// failure is why a record failed; zero when it did not.
type failure struct {
	cause string
	err   error
}

// New returns a Handler converting with cfg and writing to w.
func New(cfg *config.Config, w Writer, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MetricsNamespace == "" {
		opts.MetricsNamespace = telemetry.DefaultNamespace
	}
	h := &Handler{conv: convert.New(cfg), writer: w, log: telemetry.Discard(opts.Logger), opts: opts}
	if opts.Tags != nil {
		h.conv.Enrich(opts.Tags)
	}
	return h
}

// Causes of a record's failure: stable strings for logs and metric labels.
const (
	CauseMalformed        = "malformed"         // the record's bytes could not be decoded
	CauseRejected         = "rejected"          // the store answered 4xx (not 429) for a request with its samples
	CauseRetriesExhausted = "retries_exhausted" // 429/5xx/network errors until attempts ran out
	CauseDeadline         = "deadline"          // the invocation's time ran out before its samples were written
	CauseLimit            = "limit_exceeded"    // a series broke a store limit and was not sent
	CauseNotSent          = "not_sent"          // an earlier request of the same shard failed, so order kept it back
	CausePanic            = "panic"             // a bug; the record is kept for replay
	CauseWrite            = "write_error"       // any other write failure
)

// Classify maps an error to the record's answer and its cause. It is the
// one place where causes become Firehose results: every failure keeps the
// record (ProcessingFailed), because only an acknowledged write may drop it.
func Classify(err error) (envelope.Result, string) {
	var (
		malformed *otlp07.Error
		recErr    *envelope.RecordError
		rejected  *remotewrite.RejectedError
		exhausted *remotewrite.RetriesExhaustedError
		deadline  *remotewrite.DeadlineError
		limit     *remotewrite.LimitError
		notSent   *remotewrite.NotSentError
		panicked  *panicError
		sendPanic *remotewrite.PanicError
	)
	switch {
	case err == nil:
		return envelope.Dropped, ""
	case errors.As(err, &malformed), errors.As(err, &recErr):
		return envelope.ProcessingFailed, CauseMalformed
	case errors.As(err, &limit):
		return envelope.ProcessingFailed, CauseLimit
	case errors.As(err, &rejected):
		return envelope.ProcessingFailed, CauseRejected
	case errors.As(err, &deadline):
		return envelope.ProcessingFailed, CauseDeadline
	case errors.As(err, &exhausted):
		// Before the context checks below: when every attempt timed out,
		// the last error wraps the attempt's own context.DeadlineExceeded,
		// yet the invocation still had time; attempts ran out.
		return envelope.ProcessingFailed, CauseRetriesExhausted
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return envelope.ProcessingFailed, CauseDeadline
	case errors.As(err, &notSent):
		return envelope.ProcessingFailed, CauseNotSent
	case errors.As(err, &panicked), errors.As(err, &sendPanic):
		return envelope.ProcessingFailed, CausePanic
	default:
		return envelope.ProcessingFailed, CauseWrite
	}
}

// panicError carries a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// Invoke handles one event. It implements lambda.Handler.
//
// An error is returned only when the event itself is unusable (not a
// Firehose event, or a record without an id, which could not be answered)
// or a panic struck before any record was answered; the Lambda invocation
// then fails and Firehose retries the whole batch.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (resp []byte, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()

	// process recovers its own panics. One anywhere else (parsing, the
	// response, telemetry and its hooks) must not end the process either:
	// once the answers are written they still go out; before, the event
	// fails as a whole and Firehose retries it.
	answered := false
	defer func() {
		if v := recover(); v != nil {
			perr := &panicError{value: v, stack: debug.Stack()}
			h.log.Error("panic outside record processing", "answered", answered, "panic", fmt.Sprint(v), "stack", string(perr.stack))
			if answered {
				resp, err = h.resp, nil
				return
			}
			resp, err = nil, fmt.Errorf("firehose event: %w", perr)
		}
	}()

	ev, err := h.parser.Parse(payload)
	if err != nil {
		return nil, err
	}
	for i := range ev.Records {
		// An empty id is also what a record gets whose first fault was
		// another one (bad data, then no recordId): it cannot be answered
		// either.
		if rec := &ev.Records[i]; rec.ID == "" || errors.Is(rec.Err, envelope.ErrNoID) {
			cause := rec.Err
			if cause == nil {
				cause = envelope.ErrNoID
			}
			return nil, fmt.Errorf("firehose event: record %d has no usable recordId (%w): it cannot be answered, so the whole event is failed for Firehose to retry", i, cause)
		}
	}
	inv := &telemetry.Invocation{RecordsIn: len(ev.Records)}
	start := h.opts.Now()
	h.process(ctx, ev, inv)
	h.resp = envelope.AppendResponse(h.resp[:0], h.answers)
	answered = true
	h.report(ev, inv, start)
	// The response aliases h.resp until the next Invoke; the Lambda runtime
	// sends it before invoking again.
	return h.resp, nil
}

// process answers every record of ev in h.answers. A panic in decoding or
// writing fails the records that were not yet answered Dropped, rather than
// the invocation: their raw bytes stay with Firehose.
func (h *Handler) process(ctx context.Context, ev *envelope.Event, inv *telemetry.Invocation) {
	n := len(ev.Records)
	h.answers = h.answers[:0]
	h.causes = append(h.causes[:0], make([]failure, n)...)
	for i := range ev.Records {
		h.answers = append(h.answers, envelope.Answer{RecordID: ev.Records[i].ID, Result: envelope.ProcessingFailed})
	}
	defer func() {
		if v := recover(); v != nil {
			perr := &panicError{value: v, stack: debug.Stack()}
			h.log.Error("panic while processing an event; failing its unanswered records", "panic", fmt.Sprint(v), "stack", string(perr.stack))
			// Answers turn Dropped only at the very end, so every record
			// is still ProcessingFailed here.
			for i := range h.answers {
				if h.causes[i].cause == "" {
					h.causes[i] = failure{CausePanic, perr}
				}
			}
			// The samples built and not yet counted as written or dropped
			// are dropped now: the counts must add up.
			if n := inv.Samples - inv.SamplesWritten - inv.TotalDropped(); n > 0 {
				inv.DropSamples(CausePanic, n)
			}
			h.samples, h.owner = h.samples[:0], h.owner[:0]
		}
	}()

	// Decoding and writing both stop a reserve before the deadline, so the
	// answer always gets out: records not reached in time are failed.
	wctx, cancel := h.writeContext(ctx)
	defer cancel()

	h.samples, h.owner = h.samples[:0], h.owner[:0]
	h.beginTags()
	before := h.conv.Stats()
	for i := range ev.Records {
		var err error
		rec := &ev.Records[i]
		if err := wctx.Err(); err != nil {
			h.causes[i] = failure{CauseDeadline, fmt.Errorf("not decoded before the invocation's deadline: %w", err)}
			continue
		}
		if rec.Err != nil {
			h.causes[i] = failure{CauseMalformed, rec.Err}
			continue
		}
		before := len(h.samples)
		var dps int
		h.samples, dps, err = h.conv.Record(h.samples, rec.Data)
		inv.Datapoints += dps
		if err != nil {
			// The samples of the good frames before the bad one are not
			// written: the whole record goes to S3 and is replayed as one.
			h.samples = h.samples[:before]
			h.causes[i] = failure{CauseMalformed, err}
			continue
		}
		for range len(h.samples) - before {
			h.owner = append(h.owner, int32(i))
		}
	}
	inv.Samples = len(h.samples)
	after := h.conv.Stats()
	inv.RelabelDropped = after.DroppedRelabel + after.DroppedNoName - before.DroppedRelabel - before.DroppedNoName
	for i := range h.samples {
		inv.NewestSample = max(inv.NewestSample, h.samples[i].T)
	}

	if len(h.samples) > 0 {
		rep := h.writer.Write(wctx, h.samples)
		inv.Requests, inv.Retries = rep.Requests, rep.Retries
		inv.SamplesWritten, inv.Series = rep.SamplesWritten, rep.SeriesWritten
		inv.BytesSent, inv.WriteLatency = rep.BytesSent, rep.Latency
		for _, f := range rep.Failed {
			_, cause := Classify(f.Err)
			inv.DropSamples(cause, 1)
			r := h.owner[f.Index]
			if h.causes[r].cause == "" {
				h.causes[r] = failure{cause, f.Err}
			}
		}
	}
	h.writeInfo(wctx, inv)
	for i := range h.answers {
		if h.causes[i].cause == "" {
			h.answers[i].Result = envelope.Dropped
		}
	}
	h.samples, h.owner = h.samples[:0], h.owner[:0]
}

// writeContext stops writing early enough to answer before the deadline.
func (h *Handler) writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := h.opts.Reserve
	if reserve == 0 {
		reserve = min(max(dl.Sub(h.opts.Now())/10, 100*time.Millisecond), 3*time.Second)
	}
	return context.WithDeadline(ctx, dl.Add(-reserve))
}

// maxLoggedFailures bounds the per-record log lines of one invocation; the
// counts by cause cover the rest.
const maxLoggedFailures = 20

func (h *Handler) report(ev *envelope.Event, inv *telemetry.Invocation, start time.Time) {
	logged := 0
	for i, a := range h.answers {
		if a.Result == envelope.Dropped {
			inv.RecordsOK++
			continue
		}
		f := h.causes[i]
		inv.FailRecord(f.cause)
		if h.opts.OnFailed != nil {
			h.opts.OnFailed(a.RecordID, f.cause, f.err)
		}
		if logged < maxLoggedFailures {
			logged++
			h.log.Warn("record failed; Firehose keeps it for replay", "record", i, "record_id", ev.Records[i].ID, "cause", f.cause, "error", f.err)
		}
	}
	attrs := append(inv.LogAttrs(), slog.String("invocation_id", ev.InvocationID), slog.Duration("duration", h.opts.Now().Sub(start)))
	h.log.LogAttrs(context.Background(), slog.LevelInfo, "invocation", attrs...)
	if h.opts.Metrics != nil {
		if err := inv.EMF(h.opts.Metrics, h.opts.MetricsNamespace, h.opts.FunctionName, h.opts.Now()); err != nil {
			h.log.Error("writing EMF metrics", "error", err)
		}
	}
	if h.opts.OnInvocation != nil {
		h.opts.OnInvocation(inv)
	}
}
