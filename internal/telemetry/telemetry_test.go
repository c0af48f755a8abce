package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewLogger(t *testing.T) {
	cases := []struct {
		level   string
		enabled []slog.Level // levels that must be logged; the others must not
		wantErr bool
	}{
		{"", []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError}, false},
		{"debug", []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}, false},
		{"info", []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError}, false},
		{"WARN", []slog.Level{slog.LevelWarn, slog.LevelError}, false},
		{"error", []slog.Level{slog.LevelError}, false},
		{"verbose", nil, true},
		{"inf", nil, true},
	}
	all := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
	for _, c := range cases {
		t.Run("level "+c.level, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := NewLogger(&buf, c.level)
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), c.level) || !strings.Contains(err.Error(), "debug, info, warn or error") {
					t.Fatalf("error %v: want one naming %q and the valid levels", err, c.level)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, lv := range all {
				l.Log(context.Background(), lv, "m", "level_was", lv.String())
			}
			var got []string
			for line := range strings.Lines(buf.String()) {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not a JSON line: %q", line)
				}
				got = append(got, m["level_was"].(string))
			}
			var want []string
			for _, lv := range c.enabled {
				want = append(want, lv.String())
			}
			if !slices.Equal(got, want) {
				t.Errorf("logged %v, want %v", got, want)
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	if Discard(nil) == nil || Discard(nil).Enabled(context.Background(), slog.LevelError) {
		t.Error("Discard(nil) must return a logger that logs nothing")
	}
	l := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	if Discard(l) != l {
		t.Error("Discard(l) must return l")
	}
}

// emfDoc is an EMF document as CloudWatch reads it.
type emfDoc struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	values map[string]any
}

func parseEMF(t *testing.T, out string) []emfDoc {
	t.Helper()
	var docs []emfDoc
	for line := range strings.Lines(out) {
		if !strings.HasSuffix(line, "\n") {
			t.Errorf("EMF document not ended by a newline: %q", line)
		}
		var d emfDoc
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("EMF line is not JSON: %v: %q", err, line)
		}
		if err := json.Unmarshal([]byte(line), &d.values); err != nil {
			t.Fatal(err)
		}
		if len(d.AWS.CloudWatchMetrics) != 1 {
			t.Fatalf("CloudWatchMetrics: %+v", d.AWS)
		}
		// Every metric and dimension the directive names is a top-level
		// member: a number, or a string for a dimension.
		m := d.AWS.CloudWatchMetrics[0]
		for _, x := range m.Metrics {
			if _, ok := d.values[x.Name].(float64); !ok {
				t.Errorf("metric %s: top-level value %v is not a number", x.Name, d.values[x.Name])
			}
		}
		for _, set := range m.Dimensions {
			for _, dim := range set {
				if _, ok := d.values[dim].(string); !ok {
					t.Errorf("dimension %s: top-level value %v is not a string", dim, d.values[dim])
				}
			}
		}
		docs = append(docs, d)
	}
	return docs
}

func TestEMF(t *testing.T) {
	now := time.Date(2024, 3, 12, 10, 20, 0, 0, time.UTC)
	cases := []struct {
		name   string
		inv    Invocation
		causes []string // per-cause documents, in order
		lag    bool     // DataLag present
		tooOld bool     // TooOldMaxAge present
	}{
		{name: "no records", inv: Invocation{}},
		{
			name: "all written",
			inv: Invocation{RecordsIn: 9, RecordsOK: 9, Datapoints: 244, Samples: 1292, SamplesWritten: 1292, Series: 1292,
				Requests: 4, BytesSent: 12345, WriteLatency: 1500 * time.Microsecond, NewestSample: now.Add(-3 * time.Minute).UnixMilli()},
			lag: true,
		},
		{
			name: "failures by cause",
			inv: func() Invocation {
				inv := Invocation{RecordsIn: 6, RecordsOK: 2, Datapoints: 51, Samples: 300, SamplesWritten: 200, RelabelDropped: 12, Requests: 3, Retries: 7}
				for _, c := range []string{"rejected", "malformed", "rejected", "deadline"} {
					inv.FailRecord(c)
				}
				inv.DropSamples("rejected", 60)
				inv.DropSamples("limit_exceeded", 40) // samples only, no record of its own
				inv.DropSamples("deadline", 0)        // counts nothing
				return inv
			}(),
			causes: []string{"deadline", "limit_exceeded", "malformed", "rejected"},
		},
		{
			name: "too old",
			inv: func() Invocation {
				inv := Invocation{RecordsIn: 2, RecordsOK: 1, Samples: 30, SamplesWritten: 20, SamplesTooOld: 10, OldestTooOld: now.Add(-2 * time.Hour).UnixMilli()}
				inv.FailRecord("too_old")
				inv.DropSamples("too_old", 10)
				return inv
			}(),
			causes: []string{"too_old"},
			tooOld: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.inv.EMF(&buf, "CWStream", "fn", now); err != nil {
				t.Fatal(err)
			}
			docs := parseEMF(t, buf.String())
			if len(docs) != 1+len(c.causes) {
				t.Fatalf("%d documents, want %d", len(docs), 1+len(c.causes))
			}
			for _, d := range docs {
				m := d.AWS.CloudWatchMetrics[0]
				if m.Namespace != "CWStream" || d.AWS.Timestamp != now.UnixMilli() || d.values["FunctionName"] != "fn" {
					t.Errorf("namespace %q timestamp %d function %v", m.Namespace, d.AWS.Timestamp, d.values["FunctionName"])
				}
			}
			tot := docs[0]
			m := tot.AWS.CloudWatchMetrics[0]
			if !slices.Equal(m.Dimensions[0], []string{"FunctionName"}) || len(m.Dimensions) != 1 {
				t.Errorf("totals dimensions %v", m.Dimensions)
			}
			units := map[string]string{}
			var names []string
			for _, x := range m.Metrics {
				units[x.Name] = x.Unit
				names = append(names, x.Name)
			}
			if !slices.IsSorted(names) {
				t.Errorf("metrics not sorted: %v", names)
			}
			want := map[string]float64{
				"RecordsIn": float64(c.inv.RecordsIn), "RecordsFailed": float64(c.inv.TotalFailed()),
				"Datapoints": float64(c.inv.Datapoints), "Samples": float64(c.inv.Samples),
				"SamplesWritten": float64(c.inv.SamplesWritten), "SamplesDropped": float64(c.inv.TotalDropped()), "SamplesRelabelDropped": float64(c.inv.RelabelDropped), "SamplesSuperseded": float64(c.inv.SamplesSuperseded),
				"SamplesTooOld": float64(c.inv.SamplesTooOld),
				"Series":        float64(c.inv.Series), "Requests": float64(c.inv.Requests), "Retries": float64(c.inv.Retries),
				"BytesSent": float64(c.inv.BytesSent), "WriteLatency": float64(c.inv.WriteLatency.Microseconds()) / 1000,
			}
			if c.lag {
				want["DataLag"] = 180
			}
			if c.tooOld {
				want["TooOldMaxAge"] = 7200
			}
			if len(names) != len(want) {
				t.Errorf("metrics %v, want %d of them", names, len(want))
			}
			for name, v := range want {
				if tot.values[name] != v {
					t.Errorf("%s = %v, want %v", name, tot.values[name], v)
				}
				unit := map[string]string{"BytesSent": "Bytes", "WriteLatency": "Milliseconds", "DataLag": "Seconds", "TooOldMaxAge": "Seconds"}[name]
				if unit == "" {
					unit = "Count"
				}
				if units[name] != unit {
					t.Errorf("%s unit %q, want %q", name, units[name], unit)
				}
			}
			for k, cause := range c.causes {
				d := docs[1+k]
				m := d.AWS.CloudWatchMetrics[0]
				if len(m.Dimensions) != 1 || !slices.Equal(m.Dimensions[0], []string{"FunctionName", "Cause"}) || d.values["Cause"] != cause {
					t.Errorf("document %d: dimensions %v cause %v, want %q", 1+k, m.Dimensions, d.values["Cause"], cause)
				}
				if d.values["RecordsFailed"] != float64(c.inv.RecordsFailed[cause]) || d.values["SamplesDropped"] != float64(c.inv.SamplesDropped[cause]) {
					t.Errorf("cause %s: RecordsFailed %v SamplesDropped %v", cause, d.values["RecordsFailed"], d.values["SamplesDropped"])
				}
				for _, x := range m.Metrics {
					if x.Unit != "Count" {
						t.Errorf("cause %s: %s unit %q", cause, x.Name, x.Unit)
					}
				}
			}
		})
	}
}

// failingWriter fails every write after the first n.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errFull
	}
	w.n--
	return len(p), nil
}

var errFull = errors.New("disk full")

func TestEMFWriteError(t *testing.T) {
	inv := Invocation{RecordsIn: 1}
	inv.FailRecord("malformed")
	for n := range 2 { // the totals fail, then the cause document
		if err := inv.EMF(&failingWriter{n: n}, "CWStream", "fn", time.Now()); err != errFull {
			t.Errorf("write %d failing: error %v", n+1, err)
		}
	}
}

func TestCountsAndString(t *testing.T) {
	var inv Invocation
	if inv.TotalFailed() != 0 || inv.TotalDropped() != 0 {
		t.Fatal("zero Invocation counts something")
	}
	inv = Invocation{RecordsIn: 5, RecordsOK: 3, Datapoints: 40, Samples: 200, SamplesWritten: 150, Requests: 2, Retries: 1}
	got := inv.String()
	if want := "5 records (3 ok, 0 failed), 40 datapoints, 150 samples written of 200, 2 requests, 1 retries"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	inv.FailRecord("rejected")
	inv.FailRecord("malformed")
	inv.DropSamples("rejected", 50)
	if inv.TotalFailed() != 2 || inv.TotalDropped() != 50 {
		t.Errorf("totals %d failed, %d dropped", inv.TotalFailed(), inv.TotalDropped())
	}
	got = inv.String()
	if want := "5 records (3 ok, 2 failed), 40 datapoints, 150 samples written of 200, 2 requests, 1 retries; failed by cause: map[malformed:1 rejected:1]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// The summary line's attributes carry the same counts.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(context.Background(), slog.LevelInfo, "invocation", inv.LogAttrs()...)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["records"] != 5.0 || m["samples_written"] != 150.0 || m["records_failed"] != 2.0 || m["samples_dropped"] != 50.0 ||
		m["records_failed_by_cause"].(map[string]any)["rejected"] != 1.0 || m["samples_dropped_by_cause"].(map[string]any)["rejected"] != 50.0 {
		t.Errorf("log attributes: %v", m)
	}
	// Nothing failed: the totals say 0 (not null) and no split by cause.
	buf.Reset()
	ok := Invocation{RecordsIn: 1, RecordsOK: 1, WriteLatency: 1500 * time.Microsecond}
	slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(context.Background(), slog.LevelInfo, "invocation", ok.LogAttrs()...)
	m = nil
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	_, split := m["records_failed_by_cause"]
	if m["records_failed"] != 0.0 || m["samples_dropped"] != 0.0 || split || m["write_latency_ms"] != 1.5 {
		t.Errorf("log attributes with nothing failed: %v", m)
	}
}

// TestAdd fills every field of two Invocations by reflection and checks
// that Add combined each one: a field Add forgets, or a new field it does
// not know, fails here.
func TestAdd(t *testing.T) {
	// Fields that keep the newer of the two instead of adding up.
	newest := map[string]bool{"NewestSample": true}
	// OldestTooOld keeps the older of the two (the smaller value).
	oldest := map[string]bool{"OldestTooOld": true}
	var a, b Invocation
	av, bv := reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem()
	typ := av.Type()
	for i := range typ.NumField() {
		f := typ.Field(i)
		switch f.Type.Kind() {
		case reflect.Int, reflect.Int64:
			av.Field(i).SetInt(int64(10 + i))
			bv.Field(i).SetInt(int64(1000 + i))
		case reflect.Map:
			av.Field(i).Set(reflect.ValueOf(map[string]int{"rejected": 1 + i, "deadline": 2}))
			bv.Field(i).Set(reflect.ValueOf(map[string]int{"rejected": 100 + i, "malformed": 3}))
		case reflect.Pointer: // *TagCounts: every int field, as above
			for _, v := range []reflect.Value{av, bv} {
				v.Field(i).Set(reflect.New(f.Type.Elem()))
			}
			for j := range f.Type.Elem().NumField() {
				av.Field(i).Elem().Field(j).SetInt(int64(10 + j))
				bv.Field(i).Elem().Field(j).SetInt(int64(1000 + j))
			}
		default:
			t.Fatalf("field %s of kind %s: teach TestAdd (and Add) how it combines", f.Name, f.Type.Kind())
		}
	}
	var sum Invocation
	sum.Add(&a)
	sum.Add(&b)
	sv := reflect.ValueOf(&sum).Elem()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		switch got := sv.Field(i); got.Kind() {
		case reflect.Pointer:
			for j := range got.Elem().NumField() {
				if g, want := got.Elem().Field(j).Int(), int64(10+j+1000+j); g != want {
					t.Errorf("%s.%s = %d, want %d", name, got.Elem().Type().Field(j).Name, g, want)
				}
			}
		case reflect.Map:
			want := map[string]int{"rejected": 1 + i + 100 + i, "deadline": 2, "malformed": 3}
			if !reflect.DeepEqual(got.Interface(), want) {
				t.Errorf("%s = %v, want %v", name, got.Interface(), want)
			}
		default:
			want := int64(10+i) + int64(1000+i)
			if newest[name] {
				want = int64(1000 + i)
			}
			if oldest[name] {
				want = int64(10 + i)
			}
			if got.Int() != want {
				t.Errorf("%s = %d, want %d", name, got.Int(), want)
			}
		}
	}
}
