package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/golang/snappy"
)

// Client writes samples to one remote-write endpoint: a request plan per
// Write, sent by the transport. It is safe for concurrent use.
type Client struct {
	cfg   Config
	lim   limits
	tr    transport
	log   *slog.Logger
	now   func() time.Time
	plans sync.Pool // *plan
	bufs  sync.Pool // *buffers
}

// buffers are one sender's reused encode and compress buffers.
type buffers struct{ raw, compressed []byte }

// Option configures New.
type Option func(*options)

type options struct {
	http  *http.Client
	log   *slog.Logger
	creds aws.CredentialsProvider
	now   func() time.Time
}

// WithHTTPClient sets the HTTP client. Its Timeout should be zero: each
// attempt is bounded by Config.RequestTimeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithLogger sets the logger; nil discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithCredentials sets the SigV4 credentials; required when Config.SigV4 is
// on. The caller loads them (config.LoadDefaultConfig), once, at start.
func WithCredentials(p aws.CredentialsProvider) Option { return func(o *options) { o.creds = p } }

// WithClock sets the clock used for signing, Retry-After dates and deadline
// checks (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New validates cfg as given and builds a Client. With SigV4 on, the HTTP
// client's transport is wrapped in a signing http.RoundTripper with the
// WithCredentials provider.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	hc := o.http
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Concurrency
		hc = &http.Client{Transport: t}
	}
	if cfg.SigV4 {
		if o.creds == nil {
			return nil, errors.New("remotewrite: SigV4 is on but no credentials were given (WithCredentials)")
		}
		rt, err := NewSigV4RoundTripper(hc.Transport, o.creds, cfg.Region, o.now)
		if err != nil {
			return nil, fmt.Errorf("remotewrite: %w", err)
		}
		signed := *hc
		signed.Transport = rt
		hc = &signed
	}
	log := o.log.With("component", "remotewrite")
	return &Client{
		cfg: cfg,
		lim: limits{maxLabels: cfg.MaxLabelsPerSeries, maxNameLen: cfg.MaxLabelNameLength, maxValueLen: cfg.MaxLabelValueLength},
		tr:  transport{cfg: cfg, http: hc, log: log, now: o.now, wait: sleep},
		log: log,
		now: o.now,
	}, nil
}

// Report says what one Write did.
type Report struct {
	// Requests is the number of WriteRequests sent (first attempts);
	// Retries counts the further attempts.
	Requests, Retries int
	// SamplesWritten counts input samples acknowledged by the store. A
	// sample not sent because another of its series and timestamp was
	// (an exact duplicate, or an earlier value revised by a later one)
	// counts when that one was acknowledged.
	SamplesWritten int
	// SamplesSuperseded counts input samples not sent because a later
	// sample of the same series and timestamp carried another value: the
	// later value is kept.
	SamplesSuperseded int
	// SeriesWritten counts series all of whose samples were acknowledged.
	SeriesWritten int
	// BytesSent is the compressed body bytes of every attempt.
	BytesSent int64
	// Latency is the wall time of the Write call.
	Latency time.Duration
	// Failed lists the failed requests and removed series, each with the
	// input samples it carried; every input sample not acknowledged is in
	// exactly one.
	Failed []Failure
}

// shardResult is what one shard's sender reports.
type shardResult struct {
	requests, retries, samples int
	bytes                      int64
	failed                     []Failure
}

// Write sends samples and reports which were acknowledged. It never returns
// early on a failure of one request: other shards carry on, and every sample
// not acknowledged is in Report.Failed with its cause.
func (c *Client) Write(ctx context.Context, samples []sample.Sample) Report {
	start := c.now()
	var rep Report
	if len(samples) == 0 {
		return rep
	}
	p, _ := c.plans.Get().(*plan)
	if p == nil {
		p = &plan{}
	}
	defer func() {
		clear(p.series) // drop references to the caller's labels
		p.series = p.series[:0]
		c.plans.Put(p)
	}()
	p.group(samples, c.lim)
	rep.SamplesSuperseded = p.superseded

	nShards := c.cfg.Concurrency
	seriesFailed := make([]bool, len(p.series))
	var removed []Failure
	shardReqs := p.shard(nShards, c.cfg.MaxSamplesPerRequest, c.cfg.MaxBytesPerRequest, seriesFailed, &removed)
	for _, f := range removed {
		le := f.Err.(*LimitError)
		c.log.Warn("series removed by the limit guard", "reason", le.Reason, "series", le.Series, "detail", le.Detail, "samples", f.Samples())
	}
	rep.Failed = removed

	results := make([]shardResult, nShards)
	var wg sync.WaitGroup
	for s := range nShards {
		if len(shardReqs[s]) == 0 {
			continue
		}
		wg.Go(func() {
			// A panic in a goroutine would end the whole Lambda process and
			// lose the invocation's answer: fail the shard's samples instead.
			defer func() {
				if v := recover(); v != nil {
					err := &PanicError{Value: v, Stack: debug.Stack()}
					c.log.Error("panic while sending a shard", "shard", s, "panic", fmt.Sprint(v), "stack", string(err.Stack))
					var chunks []chunk
					for i := range shardReqs[s] {
						chunks = append(chunks, shardReqs[s][i].chunks...)
					}
					f := p.fail(new([]int32), chunks, seriesFailed, err)
					results[s] = shardResult{failed: []Failure{f}}
				}
			}()
			results[s] = c.sendShard(ctx, s, p, shardReqs[s], seriesFailed)
		})
	}
	wg.Wait()

	for _, r := range results {
		rep.Requests += r.requests
		rep.Retries += r.retries
		rep.SamplesWritten += r.samples
		rep.BytesSent += r.bytes
		rep.Failed = append(rep.Failed, r.failed...)
	}
	for id, failed := range seriesFailed {
		if !failed && p.series[id].hi > p.series[id].lo {
			rep.SeriesWritten++
		}
	}
	rep.Latency = c.now().Sub(start)
	return rep
}

// sendShard sends one shard's requests in order. After a request fails for
// good, the later chunks of its series are held back (package doc: ordering
// rule) and the other series go on. It writes only the seriesFailed entries
// of its own series.
func (c *Client) sendShard(ctx context.Context, shard int, p *plan, reqs []request, seriesFailed []bool) shardResult {
	var res shardResult
	b, _ := c.bufs.Get().(*buffers)
	if b == nil {
		b = &buffers{}
	}
	defer c.bufs.Put(b)

	var scratch []int32
	fail := func(chunks []chunk, err error) {
		f := p.fail(&scratch, chunks, seriesFailed, err)
		res.failed = append(res.failed, f)
	}
	var stop *RequestError // the first request of this shard that failed for good
	var send, held []chunk
	for i := range reqs {
		r := &reqs[i]
		// No encoding, compressing or signing once the time is up: the
		// rest of the shard fails with the deadline.
		if err := ctx.Err(); err != nil {
			fail(r.chunks, c.requestError(p, shard, i, len(reqs), r.chunks, &DeadlineError{Err: err}))
			continue
		}
		// Hold back the chunks of series that already failed.
		send, held = send[:0], held[:0]
		for _, ch := range r.chunks {
			if seriesFailed[ch.series] {
				held = append(held, ch)
			} else {
				send = append(send, ch)
			}
		}
		if len(held) > 0 {
			ns := &NotSentError{After: "an earlier request", Reason: "its series failed"}
			if stop != nil {
				ns = &NotSentError{After: stop.where(), Reason: stop.Err.Error()}
			}
			fail(held, c.requestError(p, shard, i, len(reqs), held, ns))
		}
		if len(send) == 0 {
			continue
		}
		rerr := c.requestError(p, shard, i, len(reqs), send, nil)
		err := c.post(ctx, p, b, send, rerr.where(), &res)
		if err == nil {
			continue
		}
		if cause.Of(err) == cause.TooOld {
			// Only the samples older than the store takes fail; the newer
			// ones are written, and the series go on.
			old, failed, ferr := c.keepNewer(ctx, p, b, send, rerr.where(), &res)
			if len(old) > 0 {
				oe := c.requestError(p, shard, i, len(reqs), old, err)
				c.log.Error("remote write: samples older than the store accepts", "err", oe.Error(), "samples", chunkSamples(p, old))
				res.failed = append(res.failed, p.failures(&scratch, old, nil, oe))
			}
			if len(failed) == 0 {
				continue
			}
			send, err = failed, ferr
			rerr = c.requestError(p, shard, i, len(reqs), send, nil)
		}
		rerr.Err = err
		if stop == nil {
			stop = rerr
		}
		c.log.Error("remote write request failed", "err", rerr.Error())
		fail(send, rerr)
	}
	return res
}

// post encodes chunks as one request and sends it, counting it in res.
func (c *Client) post(ctx context.Context, p *plan, b *buffers, chunks []chunk, where string, res *shardResult) error {
	sub := request{chunks: chunks}
	b.raw = p.encode(b.raw[:0], &sub)
	if n := snappy.MaxEncodedLen(len(b.raw)); cap(b.compressed) < n {
		b.compressed = make([]byte, n)
	}
	body := snappy.Encode(b.compressed[:cap(b.compressed)], b.raw)
	attempts, bodyHeld, err := c.tr.send(ctx, body, where)
	if bodyHeld {
		// An attempt ended before the transport let go of the body:
		// leave that buffer to it.
		b.compressed = nil
	}
	if attempts > 0 {
		res.requests++
		res.retries += attempts - 1
	}
	res.bytes += int64(len(body)) * int64(attempts)
	if err == nil {
		for _, ch := range chunks {
			res.samples += int(ch.hi - ch.lo)
		}
	}
	return err
}

// keepNewer writes what it can of chunks, which the store refused as too
// old: a store refuses the whole request for one such sample (Prometheus
// rolls it back), though it takes the others. A store refuses a sample
// older than its cutoff (its newest sample minus its out-of-order window)
// of a series it has, so keepNewer halves the chunks' timestamps and sends
// the newer half: written, it tries the older half; refused, the older
// half is older still and taken as too old too. Samples of one timestamp
// it halves by series instead, trying both halves. Every sample it can
// write is written in a few requests per too-old series (about
// 2·log2 of the request's timestamps and series). (A series the store does
// not have yet takes older first samples; such a sample in a refused older
// half fails as too old with it, and stays in the record for replay.) It
// returns the chunks that are too old, and those that failed otherwise
// with that error.
//
// Sending the newer half first assumes an out-of-order window, as the
// workspaces this app deploys have (prometheus.outOfOrderWindowSeconds,
// 600 by default): on a store without one, an older half sent after its
// newer half is refused as out of order where the two share a series, and
// those samples fail as a conflict though, sent first, they were writable.
// They stay in the record (ProcessingFailed) all the same.
func (c *Client) keepNewer(ctx context.Context, p *plan, b *buffers, chunks []chunk, where string, res *shardResult) (tooOld, failed []chunk, err error) {
	// A store that refuses every sample would take two requests per
	// series of the newest timestamp (802 for 400 series); past the few
	// that halving the timestamps needs, the rest is taken as too old
	// unsent. It stays in the record (ProcessingFailed), so nothing is lost.
	posts, budget := 0, salvageBudget(len(p.times(chunks)))
	var salvage func(chunks []chunk)
	// admit says whether chunks may be sent, and counts the request; if
	// not, it takes them: failed with an earlier request's error, or too
	// old once the budget is spent.
	admit := func(chunks []chunk) bool {
		switch {
		case err != nil:
			failed = append(failed, chunks...)
		case posts >= budget:
			tooOld = append(tooOld, chunks...)
		default:
			posts++
			return true
		}
		return false
	}
	// try sends chunks and salvages them if they are refused as too old.
	try := func(chunks []chunk) {
		if !admit(chunks) {
			return
		}
		e := c.post(ctx, p, b, chunks, where, res)
		switch {
		case e == nil:
		case cause.Of(e) == cause.TooOld:
			salvage(chunks)
		default:
			failed, err = append(failed, chunks...), e
		}
	}
	// salvage is called with chunks refused as too old as a whole.
	salvage = func(chunks []chunk) {
		if ts := p.times(chunks); len(ts) > 1 {
			if !admit(chunks) {
				return
			}
			older, newer := p.splitAt(chunks, ts[len(ts)/2])
			e := c.post(ctx, p, b, newer, where, res)
			switch {
			case e == nil:
				try(older)
			case cause.Of(e) == cause.TooOld:
				tooOld = append(tooOld, older...)
				salvage(newer)
			default:
				failed, err = append(failed, chunks...), e
			}
			return
		}
		if len(chunks) == 1 {
			tooOld = append(tooOld, chunks...)
			return
		}
		half := len(chunks) / 2
		try(chunks[:half:half])
		try(chunks[half:])
	}
	salvage(chunks)
	return tooOld, failed, err
}

// salvageBudget is how many requests keepNewer sends for one refused
// request of times distinct timestamps: two for each halving of the
// timestamps, and 16 to halve the series of one timestamp (a store's
// cutoff is one time for all its series, so one timestamp's series seldom
// differ).
func salvageBudget(times int) int { return 2*bits.Len(uint(times)) + 16 }

// requestError describes request i of a shard carrying chunks.
func (c *Client) requestError(p *plan, shard, i, n int, chunks []chunk, err error) *RequestError {
	first := &p.series[chunks[0].series]
	return &RequestError{
		Shard: shard, Request: i + 1, Requests: n, Series: len(chunks), Samples: chunkSamples(p, chunks),
		FirstSeries: seriesString(first.name, first.labels), Err: err,
	}
}

// chunkSamples counts the samples on the wire of chunks (samples not sent,
// which are acknowledged with their series, excluded).
func chunkSamples(p *plan, chunks []chunk) int {
	n := 0
	for _, ch := range chunks {
		for _, idx := range p.order[ch.lo:ch.hi] {
			if idx >= 0 {
				n++
			}
		}
	}
	return n
}
