package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/schollz/progressbar/v3"

	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/otlp07"
	"github.com/cwstream/cwstream/internal/promquery"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/source"
	"github.com/cwstream/cwstream/internal/telemetry"
)

// Replay batches records into Firehose events no larger than Lambda takes,
// with at most as many records as Firehose puts in one, and cuts raw
// objects into records no larger than a Firehose record.
const (
	maxEventBytes   = 6_000_000
	maxEventRecords = 500
	maxRecordBytes  = 1000 << 10
)

func runReplay(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "replay", "FILE|-|s3://bucket/prefix ...")
	to := fs.String("to", "http://127.0.0.1:9090/api/v1/write", "remote-write `URL` (an AMP workspace's .../api/v1/remote_write, or a Prometheus)")
	cfgPath := fs.String("config", "", "cwstream configuration `file` (default: every statistic, no relabelling)")
	sigv4 := fs.Bool("sigv4", false, "sign requests with SigV4 (default: on unless the URL is loopback)")
	noSigv4 := fs.Bool("no-sigv4", false, "do not sign requests")
	region := fs.String("region", "", "SigV4 `region` (default: from the AMP URL)")
	concurrency := fs.Int("concurrency", 0, "requests in flight (default 4)")
	attempts := fs.Int("max-attempts", 0, "attempts per request before its records count as failed (default 10)")
	withTags := fs.Bool("tags", false, tagsFlagHelp)
	query := fs.String("query", "", "after writing, evaluate this PromQL `expression` at the newest sample's time and print it (SigV4-signed like the writes)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	if *sigv4 && *noSigv4 {
		fmt.Fprintln(e.stderr, "cwstream replay: --sigv4 and --no-sigv4 contradict each other")
		return errUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	rw := remotewrite.Config{URL: *to, Region: *region, Concurrency: *concurrency, MaxAttempts: *attempts, SigV4: remotewrite.DefaultSigV4(*to)}
	if *sigv4 {
		rw.SigV4 = true
	}
	if *noSigv4 {
		rw.SigV4 = false
	}
	rw = rw.WithDefaults()
	queryClient := &http.Client{Timeout: promquery.DefaultTimeout}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	opts := []remotewrite.Option{remotewrite.WithLogger(log)}
	if rw.SigV4 {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("AWS configuration for SigV4: %w", err)
		}
		opts = append(opts, remotewrite.WithCredentials(awsCfg.Credentials))
		queryClient = &http.Client{Timeout: promquery.DefaultTimeout, Transport: &apsSigner{creds: aws.NewCredentialsCache(awsCfg.Credentials), region: rw.Region,
			signer: v4.NewSigner(), next: http.DefaultTransport}}
	}
	client, err := remotewrite.New(rw, opts...)
	if err != nil {
		return err
	}
	opener, err := newOpener(ctx, e, fs.Args())
	if err != nil {
		return err
	}

	r := &replayer{e: e, places: map[string]string{}}
	hopts := firehose.Options{
		OnInvocation: r.add,
		OnFailed: func(id, cause string, err error) {
			r.failures = append(r.failures, fmt.Sprintf("%s: %s: %v", r.places[id], cause, err))
		},
	}
	if *withTags {
		if hopts.Tags, err = newEnricher(ctx, cfg, log); err != nil {
			return err
		}
	}
	r.handler = firehose.New(cfg, client, hopts)
	if e.isTerminal {
		r.bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(), progressbar.OptionSetDescription("replaying"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	start := time.Now()
	for _, arg := range fs.Args() {
		err := opener.Walk(ctx, arg, func(name string, b []byte) error {
			r.sources++
			return source.Each(name, b, func(rec source.Record) error {
				if rec.Err != nil {
					r.total.RecordsIn++
					r.total.FailRecord(firehose.CauseMalformed)
					r.failures = append(r.failures, fmt.Sprintf("%v", rec.Err))
					return nil
				}
				place := fmt.Sprintf("%s: record %d", rec.Source, rec.Index)
				if rec.ID != "" {
					place += " (id " + rec.ID + ")"
				}
				if rec.Form != source.Raw {
					return r.addRecord(ctx, place, rec.Data)
				}
				// A raw object holds many records' frames: cut it into
				// Firehose-sized records of whole frames.
				return otlp07.Split(rec.Data, maxRecordBytes, func(chunk []byte, off int) error {
					return r.addRecord(ctx, fmt.Sprintf("%s: frames at byte %d", rec.Source, off), chunk)
				})
			})
		})
		if err == nil {
			err = r.flush(ctx)
		}
		if err != nil {
			return err
		}
	}
	if r.bar != nil {
		r.bar.Finish()
	}
	fmt.Fprintf(e.stdout, "replayed %d sources: %s in %v\n", r.sources, r.total.String(), time.Since(start).Round(time.Millisecond))
	if *query != "" && r.total.NewestSample > 0 {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(*to, "/"), "/api/v1/write"), "/api/v1/remote_write")
		at := time.UnixMilli(r.total.NewestSample)
		res, err := promquery.New(base, queryClient).Query(ctx, *query, at)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\n%s  @ %s\n", *query, at.UTC().Format(time.RFC3339))
		if err := promquery.Format(e.stdout, res); err != nil {
			return err
		}
	}
	if len(r.failures) > 0 {
		for _, f := range r.failures {
			fmt.Fprintln(e.stderr, "FAILED", f)
		}
		return fmt.Errorf("%d of %d records could not be written (listed above); replaying them again is safe", len(r.failures), r.total.RecordsIn)
	}
	return nil
}

// replayer packs records into Firehose events and hands each to the Lambda
// handler itself, so a replay takes exactly the path of live data.
type replayer struct {
	e       *env
	handler *firehose.Handler
	bar     *progressbar.ProgressBar

	event   []byte            // the event being built
	records int               // records in it
	nextID  int               // record ids are r0, r1, …: unique across sources
	places  map[string]string // record id → where it came from
	sources int

	total    telemetry.Invocation
	failures []string
}

var eventHead = []byte(`{"invocationId":"cwstream-replay","deliveryStreamArn":"arn:aws:firehose:local:000000000000:deliverystream/cwstream-replay","region":"local","records":[`)

// addRecord appends one record to the event, sending the event first when
// the record would make it too large.
func (r *replayer) addRecord(ctx context.Context, place string, data []byte) error {
	size := base64.StdEncoding.EncodedLen(len(data)) + 100
	if r.records > 0 && (len(r.event)+size > maxEventBytes || r.records >= maxEventRecords) {
		if err := r.flush(ctx); err != nil {
			return err
		}
	}
	if r.records == 0 {
		r.event = append(r.event[:0], eventHead...)
	} else {
		r.event = append(r.event, ',')
	}
	id := fmt.Sprintf("r%d", r.nextID)
	r.nextID++
	r.places[id] = place
	r.event = append(r.event, `{"recordId":"`+id+`","approximateArrivalTimestamp":0,"data":"`...)
	r.event = base64.StdEncoding.AppendEncode(r.event, data)
	r.event = append(r.event, `"}`...)
	r.records++
	if r.bar != nil {
		r.bar.Add(len(data))
	}
	return nil
}

// flush sends the event built so far through the handler.
func (r *replayer) flush(ctx context.Context) error {
	if r.records == 0 {
		return nil
	}
	r.event = append(r.event, "]}"...)
	resp, err := r.handler.Invoke(ctx, r.event)
	if err != nil {
		return fmt.Errorf("handler: %w", err)
	}
	var answer struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
		} `json:"records"`
	}
	if err := json.Unmarshal(resp, &answer); err != nil {
		return fmt.Errorf("handler answer: %w", err)
	}
	if len(answer.Records) != r.records {
		return fmt.Errorf("handler answered %d records of %d", len(answer.Records), r.records)
	}
	for _, a := range answer.Records {
		if a.Result != string(envelope.Dropped) && a.Result != string(envelope.ProcessingFailed) {
			return fmt.Errorf("handler answered %q for %s", a.Result, r.places[a.RecordID])
		}
		delete(r.places, a.RecordID)
	}
	r.records = 0
	return nil
}

// add sums one invocation's counts into the replay's.
func (r *replayer) add(inv *telemetry.Invocation) {
	t := &r.total
	t.Add(inv)
	if r.bar != nil {
		r.bar.Describe(fmt.Sprintf("replaying: %d records, %d samples written", t.RecordsIn, t.SamplesWritten))
	}
}
