package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cost"
	"github.com/cwstream/cwstream/internal/dashboards"
	"github.com/cwstream/cwstream/internal/rules"
)

// runSuggest is `cost --suggest`: measure the stream as configured, find
// what the dashboards and rules read, measure again with only that, and
// print the stream filters, the configuration and both bills.
func runSuggest(ctx context.Context, e *env, f *costFlags, cfg *config.Config, prices cost.Prices, args []string) error {
	reads, err := loadReads(f.dashboards, f.rules)
	if err != nil {
		return err
	}
	before := f.newMeter(cfg, cost.Filter{})
	failed, err := measure(ctx, e, args, before)
	if err != nil {
		return err
	}
	tb := before.Traffic()
	s, err := cost.Suggest(reads, tb.Names)
	if err != nil {
		return err
	}
	suggested, err := s.Config(cfg)
	if err != nil {
		return err
	}
	after := f.newMeter(suggested, s.Filter())
	// The inputs are read again rather than kept: an s3:// prefix can be
	// larger than memory. Their errors were reported by the first pass,
	// so this one's are not printed again.
	quiet := *e
	quiet.stderr = io.Discard
	if _, err := measure(ctx, &quiet, args, after); err != nil {
		return err
	}
	ta := after.Traffic()
	billBefore := cost.Estimate(tb, prices, f.assumptions(tb))
	billAfter := cost.Estimate(ta, prices, f.assumptions(ta))
	cfgYAML, err := cost.ConfigYAML(suggested)
	if err != nil {
		return err
	}
	stream := s.StreamFilter()
	if f.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Stream   cost.StreamFilter `json:"stream"`
			Config   string            `json:"config"`
			Presence []string          `json:"presence_only"`
			Unknown  []string          `json:"not_in_payloads"`
			Before   cost.Bill         `json:"before"`
			After    cost.Bill         `json:"after"`
		}{stream, string(cfgYAML), s.Presence, s.Unknown, billBefore, billAfter})
	} else {
		err = writeSuggestText(e, len(reads.Queries), s, stream, cfgYAML, tb, ta, billBefore, billAfter)
	}
	if err != nil {
		return err
	}
	return failed
}

// loadReads reads the dashboards in dir (every *.json) and the rule file,
// or cwstream's own where they are empty.
func loadReads(dir, rulesPath string) (cost.Reads, error) {
	var r cost.Reads
	if dir == "" {
		models, err := dashboards.JSON()
		if err != nil {
			return r, err
		}
		for _, m := range models {
			if err := r.AddDashboard(m.UID, m.JSON); err != nil {
				return r, err
			}
		}
	} else {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			return r, err
		}
		if len(files) == 0 {
			return r, fmt.Errorf("--dashboards %s: no *.json files", dir)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				return r, err
			}
			if err := r.AddDashboard(name, b); err != nil {
				return r, err
			}
		}
	}
	var text []byte
	name := rulesPath
	if rulesPath == "" {
		t, err := rules.Text()
		if err != nil {
			return r, err
		}
		text, name = []byte(t), "cwstream rules"
	} else {
		b, err := os.ReadFile(rulesPath)
		if err != nil {
			return r, err
		}
		text = b
	}
	return r, r.AddRules(name, text)
}

func writeSuggestText(e *env, queries int, s cost.Suggestion, stream cost.StreamFilter, cfgYAML []byte, tb, ta cost.Traffic, before, after cost.Bill) error {
	w := e.stdout
	fmt.Fprintf(w, "%d queries read %d statistics of %d metrics.\n", queries, len(s.Stats), len(s.Metrics()))
	if len(s.Presence) > 0 {
		fmt.Fprintf(w, "Presence checks, answered by any series kept (an account or region left with no series read would look stopped to them):\n  %s\n", strings.Join(s.Presence, "\n  "))
	}
	if len(s.Unknown) > 0 {
		fmt.Fprintf(w, "Read but not in the payloads (not streamed by this suggestion; check the payloads cover every service):\n  %s\n", strings.Join(s.Unknown, "\n  "))
	}
	js, err := stream.MarshalIndent()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nMetric stream (the \"stream\" settings of cdk.json):\n%s\n", js)
	fmt.Fprintf(w, "\ncwstream configuration:\n%s\n", cfgYAML)
	fmt.Fprintf(w, "per minute: %.0f → %.0f billed metric updates, %.0f → %.0f samples\n\n",
		tb.PerMinute(float64(tb.BilledUpdates)), ta.PerMinute(float64(ta.BilledUpdates)), tb.PerMinute(float64(tb.Samples)), ta.PerMinute(float64(ta.Samples)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "USD/month\tnow\tsuggested\t")
	for _, it := range before.Items {
		a, _ := after.Item(it.ID)
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t\n", it.ID, it.USDPerMonth, a.USDPerMonth)
	}
	fmt.Fprintf(tw, "total\t%.2f\t%.2f\t\n", before.Total, after.Total)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range before.Polling {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(tw, "GetMetricData polling every %s instead\t%.2f\t%.2f\t\n", k, before.Polling[k], after.Polling[k])
	}
	return tw.Flush()
}
