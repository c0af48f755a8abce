package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"

	"github.com/cwstream/cwstream/internal/cardinality"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/source"
	"github.com/cwstream/cwstream/internal/tags"
)

func runDryrun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "dryrun", "FILE|-|s3://bucket/prefix ...")
	cfgPath := fs.String("config", "", "cwstream configuration `file` (default: every statistic, no relabelling)")
	summary := fs.Bool("summary", false, "print a cardinality summary instead of the samples")
	top := fs.Int("top", 15, "entries in each list of the summary")
	withTags := fs.Bool("tags", false, tagsFlagHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	opener, err := newOpener(ctx, e, fs.Args())
	if err != nil {
		return err
	}

	out := bufio.NewWriterSize(e.stdout, 1<<16)
	conv := convert.New(cfg)
	var enricher *tags.Enricher
	if *withTags {
		log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if enricher, err = newEnricher(ctx, cfg, log); err != nil {
			return err
		}
		conv.Enrich(enricher)
	}
	var newest int64
	report := cardinality.New()
	var samples []sample.Sample
	var line []byte
	records, failed := 0, 0
	emit := func(samples []sample.Sample) error {
		if *summary {
			report.Add(samples)
			return nil
		}
		for _, s := range samples {
			line = append(sample.AppendText(line[:0], s), '\n')
			if _, err := out.Write(line); err != nil {
				return err
			}
		}
		return nil
	}
	tally, err := opener.Records(ctx, fs.Args(), func(rec source.Record) error {
		records++
		if rec.Err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%v\n", rec.Err)
			return nil
		}
		var err error
		samples, _, err = conv.Record(samples[:0], rec.Data)
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%v\n", rec.Locate(err))
		}
		for i := range samples {
			newest = max(newest, samples[i].T)
		}
		// The good frames before a bad one are still shown: they are
		// what the Lambda would have decoded too.
		return emit(samples)
	})
	if err != nil {
		out.Flush()
		return err
	}
	if enricher != nil && newest > 0 {
		// As one invocation of the Lambda: the info series of every
		// resource seen, at the newest sample's time.
		if err := emit(enricher.Append(ctx, nil, newest)); err != nil {
			return err
		}
		if st := enricher.Stats(); st.LookupErrors > 0 {
			fmt.Fprintf(e.stderr, "cwstream dryrun: %d of %d tag lookups failed (see above): info series are missing\n", st.LookupErrors, st.Lookups)
		}
	}
	if *summary {
		if len(tally.Unreadable) > 0 {
			fmt.Fprintf(out, "sources: %d (%d unreadable)\n", tally.Sources, len(tally.Unreadable))
		}
		fmt.Fprintf(out, "records: %d (%d malformed)\n", records, failed)
		if err := report.Write(out, conv.Stats(), *top); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	var undecoded error
	if failed > 0 {
		undecoded = fmt.Errorf("%d of %s could not be decoded (see above)", failed, plural(records, "record"))
	}
	return joinFailures(undecoded, listUnreadable(e, tally))
}

// loadConfig loads the file at path, or the defaults when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}
