package remotewrite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/golang/snappy"
)

const (
	// errorBodyLimit caps how much of an error body is read and logged.
	errorBodyLimit = 1 << 10
	// drainLimit caps how much of any body is drained so the connection can
	// be reused; a longer body costs the connection instead.
	drainLimit = 64 << 10
)

// Client writes samples to one remote-write endpoint. It is safe for
// concurrent use.
type Client struct {
	cfg    Config
	lim    limits
	http   *http.Client
	log    *slog.Logger
	creds  aws.CredentialsProvider
	signer *v4.Signer
	now    func() time.Time
	plans  sync.Pool // *plan
	bufs   sync.Pool // *buffers
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

// WithCredentials sets the SigV4 credentials instead of the default chain.
func WithCredentials(p aws.CredentialsProvider) Option { return func(o *options) { o.creds = p } }

// WithClock sets the clock used for signing, Retry-After dates and deadline
// checks (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New validates cfg as given and builds a Client. With SigV4 and no
// WithCredentials, it loads the default AWS credential chain once, here.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	c := &Client{
		cfg:  cfg,
		lim:  limits{maxLabels: cfg.MaxLabelsPerSeries, maxNameLen: cfg.MaxLabelNameLength, maxValueLen: cfg.MaxLabelValueLength},
		http: o.http,
		log:  o.log,
		now:  o.now,
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Concurrency
		c.http = &http.Client{Transport: t}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "remotewrite")
	if c.now == nil {
		c.now = time.Now
	}
	if cfg.SigV4 {
		c.signer = v4.NewSigner()
		c.creds = o.creds
		if c.creds == nil {
			awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
			if err != nil {
				return nil, fmt.Errorf("remotewrite: load AWS config for SigV4: %w", err)
			}
			c.creds = awsCfg.Credentials // already cached by the SDK
		} else if _, ok := c.creds.(*aws.CredentialsCache); !ok {
			c.creds = aws.NewCredentialsCache(c.creds)
		}
		if c.creds == nil {
			return nil, errors.New("remotewrite: SigV4 is on but the default AWS config has no credentials provider")
		}
	}
	return c, nil
}

// Report says what one Write did.
type Report struct {
	// Requests is the number of WriteRequests sent (first attempts);
	// Retries counts the further attempts.
	Requests, Retries int
	// SamplesWritten counts input samples acknowledged by the store (an exact
	// duplicate counts when the sample it repeats was acknowledged).
	SamplesWritten int
	// SeriesWritten counts series all of whose samples were acknowledged.
	SeriesWritten int
	// BytesSent is the compressed body bytes of every attempt.
	BytesSent int64
	// Latency is the wall time of the Write call.
	Latency time.Duration
	// Failed lists every input sample not acknowledged, by index, ascending.
	Failed []Failure
	// DroppedByCause counts the samples removed by the limit guard, by
	// LimitError.Cause. Nil when none were.
	DroppedByCause map[string]int
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

	// Limit guard, then sharding by series identity.
	nShards := c.cfg.Concurrency
	shardSeries := make([][]int32, nShards)
	seriesFailed := make([]bool, len(p.series))
	for id := range p.series {
		sr := &p.series[id]
		if sr.err != nil {
			seriesFailed[id] = true
			if rep.DroppedByCause == nil {
				rep.DroppedByCause = map[string]int{}
			}
			rep.DroppedByCause[sr.err.Cause] += int(sr.hi - sr.lo)
			for _, idx := range p.order[sr.lo:sr.hi] {
				rep.Failed = append(rep.Failed, Failure{Index: int(idx), Err: sr.err})
			}
			c.log.Warn("series removed by the limit guard", "cause", sr.err.Cause, "series", sr.err.Series, "detail", sr.err.Detail, "samples", sr.hi-sr.lo)
			continue
		}
		s := int(sr.hash % uint64(nShards))
		shardSeries[s] = append(shardSeries[s], int32(id))
	}
	shardReqs := make([][]request, nShards)
	for s, ids := range shardSeries {
		shardReqs[s] = p.cut(samples, ids, c.cfg.MaxSamplesPerRequest, c.cfg.MaxBytesPerRequest)
	}

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
					results[s] = shardResult{failed: failShard(p, shardReqs[s], seriesFailed, err)}
				}
			}()
			results[s] = c.sendShard(ctx, s, p, samples, shardReqs[s], seriesFailed)
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
	slices.SortFunc(rep.Failed, func(a, b Failure) int { return a.Index - b.Index })
	rep.Latency = c.now().Sub(start)
	return rep
}

// failShard fails every sample of a shard's requests with err.
func failShard(p *plan, reqs []request, seriesFailed []bool, err error) []Failure {
	var failed []Failure
	for i := range reqs {
		failed = failChunks(failed, p, reqs[i].chunks, seriesFailed, err)
	}
	return failed
}

// failChunks marks the chunks' series failed and appends a Failure with err
// for each of their samples.
func failChunks(dst []Failure, p *plan, chunks []chunk, seriesFailed []bool, err error) []Failure {
	for _, ch := range chunks {
		seriesFailed[ch.series] = true
		for _, idx := range p.order[ch.lo:ch.hi] {
			if idx < 0 {
				idx = ^idx
			}
			dst = append(dst, Failure{Index: int(idx), Err: err})
		}
	}
	return dst
}

// sendShard sends one shard's requests in order. After a request fails for
// good, the later chunks of its series are held back (package doc: ordering
// rule) and the other series go on. It writes only the seriesFailed entries
// of its own series.
func (c *Client) sendShard(ctx context.Context, shard int, p *plan, samples []sample.Sample, reqs []request, seriesFailed []bool) shardResult {
	var res shardResult
	b, _ := c.bufs.Get().(*buffers)
	if b == nil {
		b = &buffers{}
	}
	defer c.bufs.Put(b)

	fail := func(chunks []chunk, err error) {
		res.failed = failChunks(res.failed, p, chunks, seriesFailed, err)
	}
	var stop *RequestError // the first request of this shard that failed for good
	var send, held []chunk
	for i := range reqs {
		r := &reqs[i]
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
			first := &p.series[held[0].series]
			fail(held, &RequestError{
				Shard: shard, Request: i + 1, Requests: len(reqs), Series: len(held), Samples: chunkSamples(p, held),
				FirstSeries: seriesString(first.name, first.labels), Err: ns,
			})
		}
		if len(send) == 0 {
			continue
		}
		first := &p.series[send[0].series]
		rerr := &RequestError{
			Shard: shard, Request: i + 1, Requests: len(reqs),
			Series: len(send), Samples: chunkSamples(p, send),
			FirstSeries: seriesString(first.name, first.labels),
		}
		sub := request{chunks: send}
		b.raw = p.encode(b.raw[:0], samples, &sub)
		if n := snappy.MaxEncodedLen(len(b.raw)); cap(b.compressed) < n {
			b.compressed = make([]byte, n)
		}
		body := snappy.Encode(b.compressed[:cap(b.compressed)], b.raw)
		attempts, err := c.send(ctx, body, rerr)
		if attempts > 0 {
			res.requests++
			res.retries += attempts - 1
		}
		res.bytes += int64(len(body)) * int64(attempts)
		if err == nil {
			for _, ch := range send {
				res.samples += int(ch.hi - ch.lo)
			}
			continue
		}
		rerr.Err = err
		if stop == nil {
			stop = rerr
		}
		c.log.Error("remote write request failed", "err", rerr.Error(), "attempts", attempts)
		fail(send, rerr)
	}
	return res
}

// chunkSamples counts the samples on the wire of chunks (exact duplicates,
// which are acknowledged with their series but not sent, excluded).
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

// send runs the retry loop around one request: the attempt is a closure; the
// loop checks ctx each pass, stops on any error that is not a
// recoverableError, doubles the wait (with jitter) up to MaxBackoff, honours
// Retry-After, and never waits past the context's deadline. It returns the
// number of attempts made.
func (c *Client) send(ctx context.Context, body []byte, where *RequestError) (int, error) {
	var payloadHash string
	if c.signer != nil {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	attempt := func() error { return c.attempt(ctx, body, payloadHash) }

	var last error
	backoff := c.cfg.MinBackoff
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return n - 1, &DeadlineError{Attempts: n - 1, Last: last, Err: err}
		}
		err := attempt()
		if err == nil {
			return n, nil
		}
		var rec *recoverableError
		if !errors.As(err, &rec) {
			return n, err
		}
		last = rec.err
		if cerr := ctx.Err(); cerr != nil {
			return n, &DeadlineError{Attempts: n, Last: last, Err: cerr}
		}
		if n >= c.cfg.MaxAttempts {
			return n, &RetriesExhaustedError{Attempts: n, Last: last}
		}
		// Equal jitter: half fixed, half random, so retries of many senders
		// spread out but never come sooner than half the backoff.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, c.cfg.MaxBackoff)
		if rec.retryAfter > wait {
			wait = rec.retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
			return n, &DeadlineError{Attempts: n, Wait: wait, Last: last, Err: context.DeadlineExceeded}
		}
		c.log.Warn("remote write attempt failed, retrying", "request", where.where(), "attempt", n, "wait", wait, "err", last.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, &DeadlineError{Attempts: n, Last: last, Err: ctx.Err()}
		case <-t.C:
		}
	}
}

// attempt makes one HTTP request and classifies its outcome at the source:
// nil on 2xx; *recoverableError for network errors, timeouts, 429 and 5xx;
// *RejectedError for other statuses.
func (c *Client) attempt(ctx context.Context, body []byte, payloadHash string) error {
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	// The body is a buffer the shard reuses for its next request, and the
	// transport may still read it after Do returns (an early answer): wait
	// until the transport closes it, as http.RoundTripper promises to.
	sb := &sentBody{Reader: bytes.NewReader(body), closed: make(chan struct{})}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.URL, sb)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.ContentLength = int64(len(body))
	h := req.Header
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	h.Set("User-Agent", c.cfg.UserAgent)
	if c.signer != nil {
		creds, err := c.creds.Retrieve(actx)
		if err != nil {
			// A credential chain that fails once usually fails again, but
			// IMDS/STS can blip; the attempt bound keeps this finite.
			return &recoverableError{err: fmt.Errorf("sigv4: retrieve credentials: %w", err)}
		}
		h.Set("X-Amz-Content-Sha256", payloadHash)
		if err := c.signer.SignHTTP(actx, creds, req, payloadHash, "aps", c.cfg.Region, c.now()); err != nil {
			return fmt.Errorf("sigv4: sign: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		<-sb.closed
		return &recoverableError{err: fmt.Errorf("POST %s: %w", req.URL.Redacted(), err)}
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		_ = resp.Body.Close()
		<-sb.closed
	}()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		se := &StatusError{StatusCode: resp.StatusCode, Body: string(msg), RetryAfter: c.retryAfter(resp.Header.Get("Retry-After"))}
		return &recoverableError{err: se, retryAfter: se.RetryAfter}
	default:
		// The spec: senders must not interpret the message and should log
		// it as is.
		c.log.Error("remote write rejected by the store, not retrying", "status", resp.StatusCode, "body", string(msg))
		return &RejectedError{StatusCode: resp.StatusCode, Body: string(msg)}
	}
}

// sentBody is a request body that says when the transport is done with it.
type sentBody struct {
	*bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// retryAfter parses Retry-After: delay-seconds or an HTTP date. Invalid or
// past values give zero (the backoff applies).
func (c *Client) retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(c.now()); d > 0 {
			return d
		}
	}
	return 0
}
