package promtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/cwstream/cwstream/internal/promquery"
)

// t0 is 2023-03-01T00:00:00Z: test data is from the past, as replayed
// CloudWatch data is, far from the wall clock.
var t0 = time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)

func ms(t time.Time) int64 { return t.UnixMilli() }

// series builds one remote-write series; labels are name/value pairs given
// in sorted order after __name__.
func series(name string, labels []string, samples ...prompb.Sample) prompb.TimeSeries {
	ls := []prompb.Label{{Name: "__name__", Value: name}}
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, prompb.Label{Name: labels[i], Value: labels[i+1]})
	}
	return prompb.TimeSeries{Labels: ls, Samples: samples}
}

func at(t time.Time, v float64) prompb.Sample { return prompb.Sample{Timestamp: ms(t), Value: v} }

func write(t *testing.T, s *Server, ts ...prompb.TimeSeries) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Write(ctx, &prompb.WriteRequest{Timeseries: ts})
}

func mustWrite(t *testing.T, s *Server, ts ...prompb.TimeSeries) {
	t.Helper()
	if err := write(t, s, ts...); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// wantStatus checks that err is an *promquery.APIError with the given status.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var apiErr *promquery.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != status {
		t.Fatalf("got error %v, want HTTP %d", err, status)
	}
}

// dump returns the store's text for the whole test period.
func dump(t *testing.T, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.Dump(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return out
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

// TestRoundTrip writes a few series and reads them back through each helper.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ctx := context.Background()
	mustWrite(t, s,
		series("aws_alb_request_count_sum", []string{"dimension_LoadBalancer", "app/web/50dc6c495c0c9188", "region", "eu-west-1"},
			at(t0, 10), at(t0.Add(time.Minute), 12.5), at(t0.Add(2*time.Minute), 0)),
		series("aws_alb_request_count_sum", []string{"dimension_LoadBalancer", "app/api/0123456789abcdef", "region", "eu-west-1"},
			at(t0, 1)),
		series("aws_rds_cpuutilization_maximum", []string{"dimension_DBInstanceIdentifier", `db "one"\n`, "region", "us-east-1"},
			at(t0.Add(time.Minute+123*time.Millisecond), 99.25), at(t0.Add(2*time.Minute), math.Inf(1))),
	)

	t.Run("Series", func(t *testing.T) {
		got, err := s.Series(ctx, `{__name__=~"aws_alb.*"}`, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []map[string]string{
			{"__name__": "aws_alb_request_count_sum", "dimension_LoadBalancer": "app/api/0123456789abcdef", "region": "eu-west-1"},
			{"__name__": "aws_alb_request_count_sum", "dimension_LoadBalancer": "app/web/50dc6c495c0c9188", "region": "eu-west-1"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("series:\n got %v\nwant %v", got, want)
		}
		// Outside the time range: none (for the api series only t0 is in).
		got, err = s.Series(ctx, `{__name__=~"aws_alb.*"}`, t0.Add(time.Millisecond), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0]["dimension_LoadBalancer"] != "app/web/50dc6c495c0c9188" {
			t.Errorf("series after t0: %v, want only the web one", got)
		}
	})

	t.Run("Samples", func(t *testing.T) {
		got, err := s.Samples(ctx, `aws_alb_request_count_sum{dimension_LoadBalancer="app/web/50dc6c495c0c9188"}`, t0.Add(-time.Hour), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []promquery.Point{{T: ms(t0), V: 10}, {T: ms(t0) + 60_000, V: 12.5}, {T: ms(t0) + 120_000, V: 0}}
		if len(got) != 1 || !slices.Equal(got[0].Points, want) {
			t.Fatalf("samples: got %+v, want one series with %v", got, want)
		}
	})

	// The range is inclusive at both ends, to the millisecond.
	t.Run("SamplesBounds", func(t *testing.T) {
		cases := []struct {
			name       string
			start, end time.Time
			want       []int64
		}{
			{"exact ends", t0, t0.Add(2 * time.Minute), []int64{0, 60_000, 120_000}},
			{"one ms inside each end", t0.Add(time.Millisecond), t0.Add(2*time.Minute - time.Millisecond), []int64{60_000}},
			{"a single instant", t0.Add(time.Minute), t0.Add(time.Minute), []int64{60_000}},
			{"before everything", t0.Add(-time.Hour), t0.Add(-time.Millisecond), nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.Samples(ctx, `aws_alb_request_count_sum{dimension_LoadBalancer="app/web/50dc6c495c0c9188"}`, c.start, c.end)
				if err != nil {
					t.Fatal(err)
				}
				var ts []int64
				for _, ser := range got {
					for _, p := range ser.Points {
						ts = append(ts, p.T-ms(t0))
					}
				}
				if !slices.Equal(ts, c.want) {
					t.Errorf("offsets %v, want %v", ts, c.want)
				}
			})
		}
	})

	t.Run("Query", func(t *testing.T) {
		// At t0+90s the lookback finds the t0+60s sample of the web series
		// and the t0 sample of the api one.
		got, err := s.Query(ctx, `aws_alb_request_count_sum`, t0.Add(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var vals []promquery.Point
		for _, ser := range got {
			vals = append(vals, ser.Points...)
		}
		want := []promquery.Point{{T: ms(t0) + 90_000, V: 1}, {T: ms(t0) + 90_000, V: 12.5}}
		if !slices.Equal(vals, want) {
			t.Errorf("query: got %+v, want %v", got, want)
		}
		sum, err := s.Query(ctx, `scalar(sum(aws_alb_request_count_sum))`, t0.Add(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(sum) != 1 || len(sum[0].Labels) != 0 || sum[0].Points[0] != (promquery.Point{T: ms(t0) + 90_000, V: 13.5}) {
			t.Errorf("scalar: got %+v, want 13.5 without labels", sum)
		}
	})

	t.Run("Dump", func(t *testing.T) {
		want := lines(
			`aws_alb_request_count_sum{dimension_LoadBalancer="app/api/0123456789abcdef",region="eu-west-1"} 1 1677628800000`,
			`aws_alb_request_count_sum{dimension_LoadBalancer="app/web/50dc6c495c0c9188",region="eu-west-1"} 10 1677628800000`,
			`aws_alb_request_count_sum{dimension_LoadBalancer="app/web/50dc6c495c0c9188",region="eu-west-1"} 12.5 1677628860000`,
			`aws_alb_request_count_sum{dimension_LoadBalancer="app/web/50dc6c495c0c9188",region="eu-west-1"} 0 1677628920000`,
			`aws_rds_cpuutilization_maximum{dimension_DBInstanceIdentifier="db \"one\"\\n",region="us-east-1"} 99.25 1677628860123`,
			`aws_rds_cpuutilization_maximum{dimension_DBInstanceIdentifier="db \"one\"\\n",region="us-east-1"} +Inf 1677628920000`,
		)
		if got := dump(t, s); got != want {
			t.Errorf("dump:\n got:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("BadQuery", func(t *testing.T) {
		_, err := s.Query(ctx, `sum(`, t0)
		var apiErr *promquery.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.ErrorType != "bad_data" || apiErr.Message == "" {
			t.Fatalf("got %v, want HTTP 400 bad_data with a message", err)
		}
	})

	t.Run("BadWrite", func(t *testing.T) {
		err := s.WriteRaw(ctx, []byte("not snappy"))
		wantStatus(t, err, http.StatusBadRequest)
	})
}

// TestReplay: what a replayed batch (the same samples, the same values)
// does. Prometheus 2.42 forgives an identical sample only when it equals
// the series' LAST in-order sample; an identical sample older than that is
// "out of order" and the whole request gets 400. So without an out-of-order
// window a replay is harmless only when each series of the batch has one
// sample and nothing newer arrived since. With a window, the out-of-order
// path drops exact duplicates silently and a replay is always a 204 no-op.
func TestReplay(t *testing.T) {
	t.Parallel()
	oneEach := []prompb.TimeSeries{
		series("m", []string{"k", "a"}, at(t0, 1)),
		series("m", []string{"k", "b"}, at(t0, 3)),
	}
	several := []prompb.TimeSeries{
		series("m", []string{"k", "a"}, at(t0, 1), at(t0.Add(time.Minute), 2)),
		series("m", []string{"k", "b"}, at(t0, 3)),
	}
	cases := []struct {
		name       string
		opts       []Option
		batch      []prompb.TimeSeries
		wantStatus int // of the replay; 0: accepted
	}{
		{"one sample per series", nil, oneEach, 0},
		{"several samples per series", nil, several, http.StatusBadRequest},
		{"several samples per series, window", []Option{WithOutOfOrderWindow(time.Hour)}, several, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, c.opts...)
			mustWrite(t, s, c.batch...)
			before := dump(t, s)
			err := write(t, s, c.batch...)
			if c.wantStatus == 0 && err != nil {
				t.Fatalf("replay: %v", err)
			}
			if c.wantStatus != 0 {
				wantStatus(t, err, c.wantStatus)
			}
			// A sample repeated within one request is dropped silently.
			mustWrite(t, s, series("m", []string{"k", "b"}, at(t0, 3), at(t0, 3)))
			if after := dump(t, s); after != before {
				t.Errorf("store changed by a replay:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if n, want := strings.Count(before, "\n"), countSamples(c.batch); n != want {
				t.Errorf("store holds %d samples, want %d:\n%s", n, want, before)
			}
		})
	}
}

func countSamples(ts []prompb.TimeSeries) int {
	n := 0
	for _, s := range ts {
		n += len(s.Samples)
	}
	return n
}

// TestOutOfOrder records what Prometheus 2.42 does with samples that come
// late, with and without an out-of-order window.
func TestOutOfOrder(t *testing.T) {
	t.Parallel()
	t.Run("NoWindow", func(t *testing.T) {
		t.Parallel()
		s := Start(t)
		mustWrite(t, s, series("m", []string{"k", "a"}, at(t0.Add(10*time.Minute), 10)))

		// Older than the series' last sample, in a later request: 400.
		err := write(t, s, series("m", []string{"k", "a"}, at(t0.Add(5*time.Minute), 5)))
		wantStatus(t, err, http.StatusBadRequest)
		if !strings.Contains(err.Error(), "out of order") {
			t.Errorf("error %q does not say out of order", err)
		}

		// The 400 rolls the whole request back: the good sample of the
		// new series "b", sent first, is not stored either.
		err = write(t, s,
			series("m", []string{"k", "b"}, at(t0.Add(10*time.Minute), 1)),
			series("m", []string{"k", "a"}, at(t0.Add(6*time.Minute), 6)),
		)
		wantStatus(t, err, http.StatusBadRequest)

		// A new series older than (newest sample in the head - 1h) is out
		// of bounds: the limit is per store, not per series.
		err = write(t, s, series("m", []string{"k", "c"}, at(t0.Add(-time.Hour), 1)))
		wantStatus(t, err, http.StatusBadRequest)
		if !strings.Contains(err.Error(), "out of bounds") {
			t.Errorf("error %q does not say out of bounds", err)
		}
		// ...but a new series within that hour is fine.
		mustWrite(t, s, series("m", []string{"k", "d"}, at(t0.Add(-49*time.Minute), 1)))

		// A different value at a stored timestamp: 400.
		err = write(t, s, series("m", []string{"k", "a"}, at(t0.Add(10*time.Minute), 11)))
		wantStatus(t, err, http.StatusBadRequest)
		if !strings.Contains(err.Error(), "duplicate sample") {
			t.Errorf("error %q does not say duplicate sample", err)
		}

		// Out of order WITHIN one request: 204, and the late sample is
		// silently dropped (as is a second value at the same timestamp);
		// only the first shows in a metric.
		const appended, ooo = `prometheus_tsdb_head_samples_appended_total{type="float"}`, `prometheus_tsdb_out_of_order_samples_total{type="float"}`
		appendedBefore, oooBefore := metric(t, s, appended), metric(t, s, ooo)
		if err := write(t, s, series("m", []string{"k", "e"},
			at(t0.Add(3*time.Minute), 3), at(t0.Add(time.Minute), 1), at(t0.Add(3*time.Minute), 33), at(t0.Add(4*time.Minute), 4))); err != nil {
			t.Fatalf("in-request disorder: got %v, want 204", err)
		}
		if d := metric(t, s, appended) - appendedBefore; d != 2 {
			t.Errorf("%s grew by %v, want 2", appended, d)
		}
		if d := metric(t, s, ooo) - oooBefore; d != 1 {
			t.Errorf("%s grew by %v, want 1", ooo, d)
		}

		want := lines(
			`m{k="a"} 10 1677629400000`,
			`m{k="d"} 1 1677625860000`,
			`m{k="e"} 3 1677628980000`,
			`m{k="e"} 4 1677629040000`,
		)
		if got := dump(t, s); got != want {
			t.Errorf("store:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("Window", func(t *testing.T) {
		t.Parallel()
		s := Start(t, WithOutOfOrderWindow(24*time.Hour))
		mustWrite(t, s, series("m", []string{"k", "a"}, at(t0.Add(10*time.Minute), 10)))
		// Late for its series, and far older than the head: accepted.
		mustWrite(t, s, series("m", []string{"k", "a"}, at(t0.Add(5*time.Minute), 5)))
		mustWrite(t, s, series("m", []string{"k", "c"}, at(t0.Add(-20*time.Hour), 1)))
		// In-request disorder is sorted out too.
		mustWrite(t, s, series("m", []string{"k", "e"}, at(t0.Add(3*time.Minute), 3), at(t0.Add(time.Minute), 1)))
		// Beyond the window: "too old sample", answered 500 (2.42's write
		// handler maps only out-of-order, out-of-bounds and duplicate to
		// 400), so a client following the spec retries it until it gives
		// up.
		err := write(t, s, series("m", []string{"k", "f"}, at(t0.Add(-25*time.Hour), 1)))
		wantStatus(t, err, http.StatusInternalServerError)
		if !strings.Contains(err.Error(), "too old sample") {
			t.Errorf("error %q does not say too old sample", err)
		}
		// A different value at the series' newest timestamp is refused...
		err = write(t, s, series("m", []string{"k", "a"}, at(t0.Add(10*time.Minute), 11)))
		wantStatus(t, err, http.StatusBadRequest)
		// ...but at an older timestamp it takes the out-of-order path,
		// which keeps the first value and answers 204: the change is lost
		// without a word.
		mustWrite(t, s, series("m", []string{"k", "a"}, at(t0.Add(5*time.Minute), 6)))

		want := lines(
			`m{k="a"} 5 1677629100000`,
			`m{k="a"} 10 1677629400000`,
			`m{k="c"} 1 1677556800000`,
			`m{k="e"} 1 1677628860000`,
			`m{k="e"} 3 1677628980000`,
		)
		if got := dump(t, s); got != want {
			t.Errorf("store:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestRetentionIsBetweenBlocks: retention deletes a block when it is older
// than the newest BLOCK by more than the retention, whatever the wall clock
// says. With 2022 and 2023 data and the default 15d the 2022 data goes; with
// Start's 100y it stays.
func TestRetentionIsBetweenBlocks(t *testing.T) {
	t.Parallel()
	old := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		opts     []Option
		keepsOld bool
	}{
		{"Start's retention", nil, true},
		{"default 15d", []Option{WithFlags("--storage.tsdb.retention.time=15d")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, c.opts...)
			// In time order, one request each: the head spans a year, so
			// it is compacted into blocks: 2022, then 2023 00:00-02:00.
			mustWrite(t, s, series("m", []string{"k", "old"}, at(old, 1)))
			mustWrite(t, s, series("m", []string{"k", "new"}, at(t0, 2)))
			mustWrite(t, s, series("m", []string{"k", "new"}, at(t0.Add(5*time.Hour), 3)))
			waitMetric(t, s, "prometheus_tsdb_compactions_total", 2)
			want := `m{k="new"} 2 1677628800000` + "\n" + `m{k="new"} 3 1677646800000` + "\n"
			if c.keepsOld {
				want += `m{k="old"} 1 1654041600000` + "\n"
			}
			if got := dump(t, s); got != want {
				t.Errorf("store:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// metric reads one series, written exactly as in the exposition (name and
// labels), from the server's own /metrics: it scrapes nothing, so its
// metrics are not in the store.
func metric(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(s.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return v
		}
	}
	t.Fatalf("%s not in /metrics (scan error: %v)", name, sc.Err())
	return 0
}

// waitMetric polls metric until it reaches at least min.
func waitMetric(t *testing.T, s *Server, name string, min float64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := metric(t, s, name)
		if v >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 15 s, want >= %v", name, v, min)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recTB records Skip and Fatal; both end the calling goroutine as the
// testing package does.
type recTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recTB) Helper() {}
func (r *recTB) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recTB) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestRules: WithRules loads the rule file and evaluates it at the interval
// given; a rule file Prometheus refuses fails Start with its message.
func TestRules(t *testing.T) {
	t.Parallel()
	t.Run("recorded", func(t *testing.T) {
		t.Parallel()
		rules := "groups:\n- name: g\n  rules:\n  - record: job:m:sum\n    expr: sum by (job) (m)\n"
		s := Start(t, WithRules(rules, time.Second))
		// Rules are evaluated at wall-clock time: only a recent sample
		// is within their lookback.
		now := time.Now()
		mustWrite(t, s,
			series("m", []string{"job", "a", "k", "1"}, at(now.Add(-10*time.Second), 2)),
			series("m", []string{"job", "a", "k", "2"}, at(now.Add(-10*time.Second), 3)))
		ctx := context.Background()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, err := s.Query(ctx, "job:m:sum", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 1 {
				if got[0].Labels["job"] != "a" || got[0].Points[0].V != 5 {
					t.Errorf("job:m:sum = %+v, want {job=a} 5", got[0])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job:m:sum: %d series 20 s after the write (a 1 s evaluation interval)", len(got))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		r := &recTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(r, WithRules("groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(\n", time.Second))
		}()
		<-done
		if !strings.Contains(r.fatal, "rules.yml") || !strings.Contains(r.fatal, "parse error") {
			t.Errorf("Start with a bad rule file: fatal %q, want Prometheus's parse error naming rules.yml", r.fatal)
		}
	})
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name string
		o    options
		want []string
	}{
		{"defaults", options{}, []string{"evaluation_interval: 1m\n"}},
		{"rules", options{rules: "groups: []\n", evalInterval: 1500 * time.Millisecond}, []string{"evaluation_interval: 1s500ms\n", "rule_files: [rules.yml]\n"}},
		{"window", options{oooWindow: time.Hour}, []string{"out_of_order_time_window: 3600000ms\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := config(c.o)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("config lacks %q:\n%s", w, got)
				}
			}
			if hasRules := strings.Contains(got, "rule_files"); hasRules != (c.o.rules != "") {
				t.Errorf("rule_files present %v, want %v:\n%s", hasRules, c.o.rules != "", got)
			}
		})
	}
	if Config(time.Hour) != config(options{oooWindow: time.Hour}) {
		t.Error("Config and config disagree")
	}
}

func TestMissingBinary(t *testing.T) {
	cases := []struct {
		name      string
		ci        string
		wantFatal bool
	}{
		{"developer machine", "", false},
		{"CI=false", "false", false},
		{"CI", "true", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", c.ci)
			r := &recTB{TB: t}
			done := make(chan struct{})
			go func() { defer close(done); Binary(r) }()
			<-done
			if c.wantFatal && (r.fatal == "" || r.skipped != "") {
				t.Errorf("want Fatal, got skip %q fatal %q", r.skipped, r.fatal)
			}
			if !c.wantFatal && (r.skipped == "" || r.fatal != "") {
				t.Errorf("want Skip, got skip %q fatal %q", r.skipped, r.fatal)
			}
			if msg := r.skipped + r.fatal; !strings.Contains(msg, "apt-get install prometheus") {
				t.Errorf("message %q does not say what to install", msg)
			}
		})
	}
}
