package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/schollz/progressbar/v3"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/promquery"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/source"
	"github.com/cwstream/cwstream/internal/tags"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// Replay hands the core batches of records as Firehose would: at most as
// many records as one event holds, about as many bytes as Lambda takes.
// Package source has already cut raw objects into Firehose-sized records.
const (
	maxBatchBytes   = 4_500_000 // 6 MB of event JSON is about 4.5 MB of record data
	maxBatchRecords = 500
)

// replayFlags are replay's command line.
type replayFlags struct {
	to, cfgPath, region, query string
	sigv4, noSigv4, tags       bool
	concurrency, attempts      int
	timeout                    time.Duration
	sources                    []string
}

func parseReplayFlags(e *env, args []string) (*replayFlags, error) {
	f := &replayFlags{}
	fs := newFlags(e, "replay", "FILE|-|s3://bucket/prefix ...")
	fs.StringVar(&f.to, "to", "http://127.0.0.1:9090/api/v1/write", "remote-write `URL` (an AMP workspace's .../api/v1/remote_write, or a Prometheus)")
	fs.StringVar(&f.cfgPath, "config", "", "cwstream configuration `file` (default: every statistic, no relabelling)")
	fs.BoolVar(&f.sigv4, "sigv4", false, "sign requests with SigV4 (default: on unless the URL is loopback)")
	fs.BoolVar(&f.noSigv4, "no-sigv4", false, "do not sign requests")
	fs.StringVar(&f.region, "region", "", "SigV4 `region` (default: from the AMP URL)")
	fs.IntVar(&f.concurrency, "concurrency", 0, "requests in flight (default 4)")
	fs.IntVar(&f.attempts, "max-attempts", 0, "attempts per request before its records count as failed (default 10)")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Minute, "time one batch of records (up to 500, like one Lambda invocation) may take, retries and Retry-After waits included; its records not written by then fail with cause deadline")
	fs.BoolVar(&f.tags, "tags", false, tagsFlagHelp)
	fs.StringVar(&f.query, "query", "", "after writing, evaluate this PromQL `expression` at the newest sample's time and print it (SigV4-signed like the writes)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, errUsage
	}
	if f.sigv4 && f.noSigv4 {
		fmt.Fprintln(e.stderr, "cwstream replay: --sigv4 and --no-sigv4 contradict each other")
		return nil, errUsage
	}
	if f.timeout <= 0 {
		fmt.Fprintln(e.stderr, "cwstream replay: --timeout must be positive")
		return nil, errUsage
	}
	f.sources = fs.Args()
	return f, nil
}

// clients builds the remote-write client and the HTTP client of --query,
// both SigV4-signed for "aps" when the writes are, with the AWS credentials
// loaded once.
func (f *replayFlags) clients(ctx context.Context, e *env) (*remotewrite.Client, *http.Client, error) {
	rw := remotewrite.Config{URL: f.to, Region: f.region, Concurrency: f.concurrency, MaxAttempts: f.attempts, SigV4: remotewrite.DefaultSigV4(f.to)}
	if f.sigv4 {
		rw.SigV4 = true
	}
	if f.noSigv4 {
		rw.SigV4 = false
	}
	rw = rw.WithDefaults()
	if err := rw.Validate(); err != nil {
		return nil, nil, renameFields(err, replayFlagNames)
	}
	query := &http.Client{Timeout: promquery.DefaultTimeout}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	opts := []remotewrite.Option{remotewrite.WithLogger(log)}
	if rw.SigV4 {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("AWS configuration for SigV4: %w", err)
		}
		opts = append(opts, remotewrite.WithCredentials(awsCfg.Credentials))
		if rw.Region != "" {
			signed, err := remotewrite.NewSigV4RoundTripper(nil, awsCfg.Credentials, rw.Region, nil)
			if err != nil {
				return nil, nil, err
			}
			query.Transport = signed
		}
	}
	client, err := remotewrite.New(rw, opts...)
	return client, query, err
}

// replayFlagNames are the flags behind the remote-write settings a user
// can get wrong.
var replayFlagNames = map[string]string{"URL": "--to", "Concurrency": "--concurrency", "MaxAttempts": "--max-attempts", "Region": "--region"}

// renameFields puts the flag (or variable) a user sets in place of the
// remotewrite.Config field an error of its Validate names.
func renameFields(err error, names map[string]string) error {
	msg, ok := strings.CutPrefix(err.Error(), "remotewrite config: ")
	if !ok {
		return err
	}
	field, rest, _ := strings.Cut(msg, " ")
	if name, ok := names[field]; ok {
		rest = strings.ReplaceAll(rest, " (start from Config.WithDefaults)", "")
		return fmt.Errorf("%s %s", name, strings.ReplaceAll(rest, "set "+field, "set "+name))
	}
	return err
}

func runReplay(ctx context.Context, e *env, args []string) error {
	f, err := parseReplayFlags(e, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.cfgPath)
	if err != nil {
		return err
	}
	client, queryClient, err := f.clients(ctx, e)
	if err != nil {
		return err
	}
	opener, err := newOpener(ctx, e, f.sources)
	if err != nil {
		return err
	}
	var enricher *tags.Enricher
	if f.tags {
		log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if enricher, err = newEnricher(ctx, cfg, log); err != nil {
			return err
		}
	}
	r := newReplayer(e, cfg, client, f.timeout, enricher)
	if e.isTerminal {
		// With the total known (files, S3 listings), the bar shows a
		// percentage and an ETA; otherwise (stdin) a spinner with bytes.
		total, ok := opener.Size(ctx, f.sources)
		if !ok {
			total = -1
		}
		r.bar = newProgress(e, total)
		// Drawn now, so its clock (and rate) starts with the replay, not
		// at the first batch written.
		_ = r.bar.RenderBlank()
		opener.Done = r.sourceDone
	}
	start := time.Now()
	tally, err := opener.Records(ctx, f.sources, func(rec source.Record) error {
		r.record(ctx, rec)
		return nil
	})
	r.flush(ctx)
	r.advance() // sources that gave no records to write
	if r.bar != nil {
		_ = r.bar.Finish()
		fmt.Fprintln(e.stderr) // the bar stays, with its final rate; the summary goes below
	}
	if err != nil {
		return err // interrupted
	}
	fmt.Fprintf(e.stdout, "replayed %s: %s in %v\n", sourcesText(tally), replayText(&r.total), time.Since(start).Round(time.Millisecond))
	if f.query != "" && r.total.NewestSample > 0 {
		if err := printQuery(ctx, e, queryClient, f.to, f.query, time.UnixMilli(r.total.NewestSample)); err != nil {
			return err
		}
	}
	return joinFailures(r.failed(), listUnreadable(e, tally))
}

// printQuery evaluates expr at at against the Prometheus (or AMP workspace)
// behind writeURL.
func printQuery(ctx context.Context, e *env, client *http.Client, writeURL, expr string, at time.Time) error {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(writeURL, "/"), "/api/v1/write"), "/api/v1/remote_write")
	res, err := promquery.New(base, client).Query(ctx, expr, at)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%s  @ %s\n", expr, at.UTC().Format(time.RFC3339))
	return promquery.Format(e.stdout, res)
}

// replayer hands records to the record path's core in batches, so a replay
// takes exactly the path of live data, without the Firehose JSON.
type replayer struct {
	e       *env
	core    *firehose.Core
	timeout time.Duration
	bar     *progressbar.ProgressBar
	pending int64 // bytes of sources whose records wait in the batch

	data []byte // the batch's record data, back to back
	ends []int  // end of each record's data in data
	recs []firehose.Record
	from []source.Record // where each record of the batch comes from

	total     telemetry.Invocation
	failures  []string
	conflicts int // failed records that replaying cannot fix
	wrongPath int // 404 or 405 from the store: --to is likely not its write path
}

// newReplayer returns a replayer writing to w; enricher, if not nil, writes
// the info series of the records' resources, as the Lambda does.
func newReplayer(e *env, cfg *config.Config, w firehose.Writer, timeout time.Duration, enricher *tags.Enricher) *replayer {
	r := &replayer{e: e, timeout: timeout}
	r.core = firehose.NewCore(cfg, w, firehose.Options{OnInvocation: r.add, Tags: enricher})
	return r
}

// newProgress is replay's progress bar over total bytes of sources as
// stored (-1: unknown). It moves when a batch has been written, never when
// records are only queued, so its rate is the replay's, not the speed of
// copying bytes into a batch.
func newProgress(e *env, total int64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(), progressbar.OptionSetDescription("replaying"), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(total > 0), progressbar.OptionShowElapsedTimeOnFinish())
}

// advance moves the bar by the sources done since it last moved.
func (r *replayer) advance() {
	if r.bar == nil {
		return
	}
	r.bar.Describe(fmt.Sprintf("replaying: %d records, %d samples written", r.total.RecordsIn, r.total.SamplesWritten))
	_ = r.bar.Add64(r.pending)
	r.pending = 0
}

// sourceDone notes that a source's records are all in a batch: its bytes
// count as done when that batch is written.
func (r *replayer) sourceDone(_ string, bytes int) { r.pending += int64(bytes) }

// record adds one record of a source; one that could not be extracted is
// noted as failed at once.
func (r *replayer) record(ctx context.Context, rec source.Record) {
	if rec.Err != nil {
		r.total.RecordsIn++
		r.total.FailRecord(cause.Malformed.String())
		r.failures = append(r.failures, rec.Err.Error())
		return
	}
	r.addRecord(ctx, rec)
}

// addRecord copies one record into the batch, processing the batch first
// when the record would make it too large. It never fails: the records it
// cannot write are noted.
func (r *replayer) addRecord(ctx context.Context, rec source.Record) {
	if len(r.recs) > 0 && (len(r.data)+len(rec.Data) > maxBatchBytes || len(r.recs) >= maxBatchRecords) {
		r.flush(ctx)
	}
	r.data = append(r.data, rec.Data...)
	r.ends = append(r.ends, len(r.data))
	r.recs = append(r.recs, firehose.Record{ID: rec.ID})
	rec.Data = nil // valid only during Each's callback; flush points it at the copy
	r.from = append(r.from, rec)
}

// flush hands the batch to the core, with --timeout as its deadline, and
// notes every record it could not write, where it is in its source.
func (r *replayer) flush(ctx context.Context) {
	if len(r.recs) == 0 {
		return
	}
	start := 0
	for i := range r.recs {
		r.recs[i].Data = r.data[start:r.ends[i]:r.ends[i]]
		r.from[i].Data = r.recs[i].Data
		start = r.ends[i]
	}
	bctx, cancel := context.WithTimeout(ctx, r.timeout)
	outs := r.core.Process(bctx, r.recs)
	cancel()
	for i, o := range outs {
		if o.Cause == cause.None {
			continue
		}
		line := r.from[i].Locate(fmt.Errorf("%s: %w", o.Cause, o.Err)).Error()
		var rej *remotewrite.RejectedError
		if errors.As(o.Err, &rej) && (rej.StatusCode == http.StatusNotFound || rej.StatusCode == http.StatusMethodNotAllowed) {
			r.wrongPath = rej.StatusCode
		}
		if !o.Cause.Replayable() {
			r.conflicts++
			line += " (the store already holds a value for that series and time, or newer samples: replaying this record again cannot write it)"
		}
		r.failures = append(r.failures, line)
	}
	r.advance()
	clear(r.from) // drop the references to the batch's data
	r.data, r.ends, r.recs, r.from = r.data[:0], r.ends[:0], r.recs[:0], r.from[:0]
}

// add sums one batch's counts into the replay's.
func (r *replayer) add(inv *telemetry.Invocation) {
	t := &r.total
	t.Add(inv)
}

// failed names every record not written and says whether replaying them
// again can help.
func (r *replayer) failed() error {
	if len(r.failures) == 0 {
		return nil
	}
	for _, f := range r.failures {
		fmt.Fprintln(r.e.stderr, "FAILED", f)
	}
	msg := fmt.Sprintf("%d of %d records could not be written (listed above)", len(r.failures), r.total.RecordsIn)
	switch {
	case r.conflicts == len(r.failures):
		msg += "; the store refused every one as conflicting with what it holds, so replaying them again cannot help"
	case r.conflicts > 0:
		msg += fmt.Sprintf("; %d conflict with what the store holds and replaying cannot fix them; replaying the others again is safe", r.conflicts)
	default:
		msg += "; replaying them again is safe"
	}
	if r.wrongPath != 0 {
		// AMP: POST /workspaces/<id>/api/v1/remote_write
		// (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-APIReference-RemoteWrite.html);
		// Prometheus: /api/v1/write behind --web.enable-remote-write-receiver
		// (https://prometheus.io/docs/prometheus/latest/querying/api/#remote-write-receiver).
		msg += fmt.Sprintf("; --to answered HTTP %d, so it is probably not the store's remote-write path: "+
			"Prometheus takes writes at /api/v1/write (started with --web.enable-remote-write-receiver), "+
			"AMP at https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write", r.wrongPath)
	}
	return errors.New(msg)
}
