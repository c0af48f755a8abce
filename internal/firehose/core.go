package firehose

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"time"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/envelope"
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

// Options configure a Core (and the Handler around it).
type Options struct {
	// Logger for the invocation summary and failed records; nil discards.
	Logger *slog.Logger
	// Metrics receives one set of EMF lines per invocation; nil for none.
	Metrics io.Writer
	// MetricsNamespace and FunctionName go into the EMF documents.
	MetricsNamespace, FunctionName string
	// Reserve is how long before the context's deadline writing stops, so
	// the answer gets out in time. Zero means the default: a tenth of the
	// time left, at least 100 ms and at most 3 s.
	Reserve time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// OnInvocation, if set, receives each invocation's counts (tests and
	// the CLI's summary use it).
	OnInvocation func(*telemetry.Invocation)
	// OnFailed, if set, is called for every record answered
	// ProcessingFailed, with its id, cause and error.
	OnFailed func(recordID string, c cause.Cause, err error)
	// Tags, if set, writes the info series of the resources the records
	// carry, after the records' samples and apart from them (see tags.go).
	Tags *tags.Enricher
}

// Record is one record's input to the core.
type Record struct {
	// ID names the record in logs and in OnFailed: Firehose's recordId, or
	// where a replayed record came from.
	ID string
	// Data is the record's bytes (frames of a CloudWatch metric stream).
	// The core reads it only during Process.
	Data []byte
	// Err is set when the record could not even be read (bad base64, a
	// field of the wrong type): it fails as malformed without decoding.
	Err error
}

// Outcome is what became of one record.
type Outcome struct {
	// Result is the record's Firehose answer: Dropped when every sample it
	// produced was acknowledged, else ProcessingFailed.
	Result envelope.Result
	// Cause is None when Dropped.
	Cause cause.Cause
	// Err says what failed and where; nil when Dropped.
	Err error
}

// Result maps a cause to the record's Firehose answer: the one place where
// causes become results. Every failure keeps the record (ProcessingFailed),
// because only an acknowledged write may drop it.
func Result(c cause.Cause) envelope.Result {
	if c == cause.None {
		return envelope.Dropped
	}
	return envelope.ProcessingFailed
}

// Core turns records into outcomes. It reuses its buffers from one Process
// to the next and is not safe for concurrent use.
type Core struct {
	conv   *convert.Converter
	writer Writer
	log    *slog.Logger
	opts   Options

	samples []sample.Sample
	owner   []int32 // sample index → record index
	first   []int32 // per record: its lowest failed sample index
	out     []Outcome

	info     []sample.Sample // the tag enrichment's info series
	tagStats tags.Stats      // the enricher's counts at the last Process
}

// NewCore returns a Core converting with cfg and writing to w.
func NewCore(cfg *config.Config, w Writer, opts Options) *Core {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MetricsNamespace == "" {
		opts.MetricsNamespace = telemetry.DefaultNamespace
	}
	c := &Core{conv: convert.New(cfg), writer: w, log: telemetry.Discard(opts.Logger), opts: opts}
	if opts.Tags != nil {
		c.conv.Enrich(opts.Tags)
	}
	return c
}

// panicError carries a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// Cause is cause.Panic.
func (p *panicError) Cause() cause.Cause { return cause.Panic }

// Process decodes, converts and writes recs and returns one outcome per
// record, in order. The outcomes are the Core's and valid until the next
// Process. attrs go into the invocation's log line.
func (c *Core) Process(ctx context.Context, recs []Record, attrs ...slog.Attr) []Outcome {
	inv := &telemetry.Invocation{RecordsIn: len(recs)}
	start := c.opts.Now()
	c.process(ctx, recs, inv)
	c.report(recs, inv, start, attrs)
	return c.out
}

// process fills c.out. A panic in decoding or writing fails the records
// that were not yet answered Dropped, rather than the invocation: their raw
// bytes stay with Firehose.
func (c *Core) process(ctx context.Context, recs []Record, inv *telemetry.Invocation) {
	n := len(recs)
	c.out = slices.Grow(c.out[:0], n)[:n]
	clear(c.out)
	c.first = slices.Grow(c.first[:0], n)[:n]
	for i := range c.first {
		c.first[i] = math.MaxInt32
	}
	fail := func(i int, cs cause.Cause, err error) { c.out[i] = Outcome{Cause: cs, Err: err} }
	defer func() {
		// Results are set only at the very end, so every record without a
		// cause here is still unanswered.
		if v := recover(); v != nil {
			perr := &panicError{value: v, stack: debug.Stack()}
			c.log.Error("panic while processing records; failing the unanswered ones", "panic", fmt.Sprint(v), "stack", string(perr.stack))
			for i := range c.out {
				if c.out[i].Cause == cause.None {
					fail(i, cause.Panic, perr)
				}
			}
			// The samples built and not yet counted as written or dropped
			// are dropped now: the counts must add up.
			if n := inv.Samples - inv.SamplesWritten - inv.TotalDropped(); n > 0 {
				inv.DropSamples(cause.Panic.String(), n)
			}
			c.samples, c.owner = c.samples[:0], c.owner[:0]
		}
		for i := range c.out {
			c.out[i].Result = Result(c.out[i].Cause)
		}
	}()

	// Decoding and writing both stop a reserve before the deadline, so the
	// answer always gets out: records not reached in time are failed.
	wctx, cancel := c.writeContext(ctx)
	defer cancel()

	c.samples, c.owner = c.samples[:0], c.owner[:0]
	c.beginTags()
	before := c.conv.Stats()
	for i := range recs {
		rec := &recs[i]
		if err := wctx.Err(); err != nil {
			fail(i, cause.Deadline, fmt.Errorf("not decoded before the invocation's deadline: %w", err))
			continue
		}
		if rec.Err != nil {
			fail(i, cause.Malformed, cause.Wrap(cause.Malformed, rec.Err))
			continue
		}
		start := len(c.samples)
		var dps int
		var err error
		c.samples, dps, err = c.conv.Record(c.samples, rec.Data)
		inv.Datapoints += dps
		if err != nil {
			// Any error of the decoder means malformed input, whatever
			// its type. The samples of the good frames before the bad one
			// are not written: the whole record goes to S3 and is
			// replayed as one.
			c.samples = c.samples[:start]
			fail(i, cause.Malformed, cause.Wrap(cause.Malformed, err))
			continue
		}
		for range len(c.samples) - start {
			c.owner = append(c.owner, int32(i))
		}
	}
	inv.Samples = len(c.samples)
	after := c.conv.Stats()
	inv.RelabelDropped = after.DroppedRelabel + after.DroppedNoName - before.DroppedRelabel - before.DroppedNoName
	for i := range c.samples {
		inv.NewestSample = max(inv.NewestSample, c.samples[i].T)
	}

	if len(c.samples) > 0 {
		rep := c.writer.Write(wctx, c.samples)
		inv.Requests, inv.Retries = rep.Requests, rep.Retries
		inv.SamplesWritten, inv.Series = rep.SamplesWritten, rep.SeriesWritten
		inv.SamplesSuperseded = rep.SamplesSuperseded
		inv.BytesSent, inv.WriteLatency = rep.BytesSent, rep.Latency
		for k := range rep.Failed {
			f := &rep.Failed[k]
			// One cause per failed request, not per sample.
			cs := cause.Of(f.Err)
			inv.DropSamples(cs.String(), f.Samples())
			if cs == cause.TooOld {
				inv.SamplesTooOld += f.Samples()
				for _, r := range f.Ranges {
					for _, s := range c.samples[r.Lo:r.Hi] {
						if inv.OldestTooOld == 0 || s.T < inv.OldestTooOld {
							inv.OldestTooOld = s.T
						}
					}
				}
			}
			// A record failed in several requests takes the failure of its
			// first failed sample, unless that one cannot be cured by a
			// replay (conflict, too old) and a later one can: the replay
			// must not be told that replaying again cannot help.
			for _, r := range f.Ranges {
				for idx := r.Lo; idx < r.Hi; idx++ {
					rec := c.owner[idx]
					prev := c.out[rec].Cause
					if prev == cause.None ||
						!prev.Replayable() && cs.Replayable() ||
						prev.Replayable() == cs.Replayable() && c.first[rec] > int32(idx) {
						c.first[rec] = int32(idx)
						fail(int(rec), cs, f.Err)
					}
				}
			}
		}
	}
	c.writeInfo(wctx, inv)
	c.samples, c.owner = c.samples[:0], c.owner[:0]
}

// writeContext stops writing early enough to answer before the deadline.
func (c *Core) writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := c.opts.Reserve
	if reserve == 0 {
		reserve = min(max(dl.Sub(c.opts.Now())/10, 100*time.Millisecond), 3*time.Second)
	}
	return context.WithDeadline(ctx, dl.Add(-reserve))
}

// maxLoggedFailures bounds the per-record log lines of one invocation; the
// counts by cause cover the rest.
const maxLoggedFailures = 20

// report counts the outcomes and emits the telemetry. A panic in it (the
// hooks are the caller's code) is logged: the outcomes stand.
func (c *Core) report(recs []Record, inv *telemetry.Invocation, start time.Time, attrs []slog.Attr) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic while reporting an invocation; its answers stand", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	logged := 0
	for i, o := range c.out {
		if o.Cause == cause.None {
			inv.RecordsOK++
			continue
		}
		inv.FailRecord(o.Cause.String())
		if logged < maxLoggedFailures {
			logged++
			c.log.Warn("record failed; Firehose keeps it for replay", "record", i, "record_id", recs[i].ID, "cause", o.Cause.String(), "error", o.Err)
		}
	}
	if c.opts.OnFailed != nil {
		for i, o := range c.out {
			if o.Cause != cause.None {
				c.opts.OnFailed(recs[i].ID, o.Cause, o.Err)
			}
		}
	}
	all := append(inv.LogAttrs(), attrs...)
	all = append(all, telemetry.Millis("duration_ms", c.opts.Now().Sub(start)))
	c.log.LogAttrs(context.Background(), slog.LevelInfo, "invocation", all...)
	if c.opts.Metrics != nil {
		if err := inv.EMF(c.opts.Metrics, c.opts.MetricsNamespace, c.opts.FunctionName, c.opts.Now()); err != nil {
			c.log.Error("writing EMF metrics", "error", err)
		}
	}
	if c.opts.OnInvocation != nil {
		c.opts.OnInvocation(inv)
	}
}
