package source

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

func TestDetect(t *testing.T) {
	raw := realPayloads(t)[0]
	recs := splitRecords(t, raw, 1)
	event := eventJSON(ids(len(recs)), recs)
	var pretty bytes.Buffer
	pretty.WriteString("{\n  \"invocationId\": \"x\",\n  \"records\": [\n")
	pretty.Write(eventJSON(ids(1), recs[:1])[bytes.Index(event, []byte(`{"recordId"`)):])
	failed := failedJSONL(recs)
	brace := append([]byte{123}, bytes.Repeat([]byte{0x0a}, 123)...) // one raw frame of 123 bytes starts with '{'

	tests := []struct {
		name string
		in   []byte
		want Form
		err  error // cause, for errors.Is
		at   int   // byte offset the error must name
	}{
		{name: "raw", in: raw, want: Raw},
		{name: "raw gzip", in: testutil.Gzip(t, raw), want: Raw},
		{name: "raw gzip in gzip", in: testutil.Gzip(t, testutil.Gzip(t, raw)), want: Raw},
		{name: "raw starting with a brace", in: brace, want: Raw},
		{name: "event", in: event, want: FirehoseEvent},
		{name: "event gzip", in: testutil.Gzip(t, event), want: FirehoseEvent},
		{name: "event pretty-printed", in: pretty.Bytes(), want: FirehoseEvent},
		{name: "processing-failed", in: failed, want: ProcessingFailed},
		{name: "processing-failed gzip", in: testutil.Gzip(t, failed), want: ProcessingFailed},
		{name: "processing-failed with a broken first line", in: append([]byte("{\"rawData\":\"x\n"), failed...), want: ProcessingFailed},
		{name: "JSON output format", in: []byte(jsonFormatLines), want: Raw},
		{name: "JSON output format gzip", in: testutil.Gzip(t, []byte(jsonFormatLines)), want: Raw},
		{name: "empty", in: nil, err: ErrEmpty},
		{name: "empty gzip", in: testutil.Gzip(t, nil), err: ErrEmpty},
		{name: "unknown JSON", in: []byte(`{"hello":"world"}`), err: ErrUnknownJSON},
		{name: "text", in: []byte("hello world, this is not a payload\n"), err: ErrNotFrames, at: 0},
		{name: "truncated raw is raw: the frame decoder reports where", in: raw[:len(raw)-10], want: Raw},
		{name: "first frame past the end", in: raw[:1000], err: ErrNotFrames, at: 0},
		{name: "bad varint", in: bytes.Repeat([]byte{0xff}, 11), err: ErrNotFrames, at: 0},
		{name: "broken JSON", in: []byte(`{"invocationId":x}`), at: 16},
		{name: "broken gzip", in: append(testutil.Gzip(t, raw)[:30:30], 1, 2, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect(tc.in)
			if tc.want != 0 {
				if err != nil || got != tc.want {
					t.Fatalf("Detect = %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Detect = %v, want an error", got)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("error %v, want cause %v", err, tc.err)
			}
			var se *Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "at byte") {
				t.Fatalf("error %v (%T) does not name the byte", err, err)
			}
			if tc.at > 0 && se.Offset != tc.at {
				t.Errorf("error %v: offset %d, want %d", err, se.Offset, tc.at)
			}
		})
	}
}

func TestFormString(t *testing.T) {
	for f, want := range map[Form]string{Raw: "raw", FirehoseEvent: "firehose-event", ProcessingFailed: "processing-failed", 0: "Form(0)"} {
		if got := f.String(); got != want {
			t.Errorf("%d: %q, want %q", int(f), got, want)
		}
	}
}

func TestEach(t *testing.T) {
	payloads := realPayloads(t)
	for _, raw := range [][]byte{payloads[0], bytes.Join(payloads, nil)} {
		recs := splitRecords(t, raw, 1) // a record per frame
		if len(recs) < 3 {
			t.Fatalf("only %d records: the fixture is too small to test splitting", len(recs))
		}
		recIDs := ids(len(recs))
		event := eventJSON(recIDs, recs)
		failed := failedJSONL(recs)

		t.Run("raw larger than a record is cut at frames", func(t *testing.T) {
			big := bytes.Repeat(raw, MaxRecordBytes/len(raw)+2)
			got, err := collect(t, "big.bin", big)
			if err != nil || len(got) < 2 {
				t.Fatalf("got %d records, %v; want the object cut", len(got), err)
			}
			var joined []byte
			for i, r := range got {
				if r.Form != Raw || r.Index != i || r.Offset != len(joined) || r.Line != 0 || len(r.Data) > MaxRecordBytes {
					t.Errorf("record %d: form %v index %d offset %d line %d, %d bytes", i, r.Form, r.Index, r.Offset, r.Line, len(r.Data))
				}
				if _, err := checkFrames(r.Data); err != nil {
					t.Errorf("record %d is not whole frames: %v", i, err)
				}
				joined = append(joined, r.Data...)
			}
			if !bytes.Equal(joined, big) {
				t.Errorf("the records joined are not the object")
			}
		})
		t.Run("raw smaller than a record is one record", func(t *testing.T) {
			got, err := collect(t, "obj.bin.gz", testutil.Gzip(t, raw))
			if err != nil || len(got) != 1 {
				t.Fatalf("got %d records, %v", len(got), err)
			}
			r := got[0]
			if r.Form != Raw || r.Source != "obj.bin.gz" || r.Index != 0 || r.Offset != 0 || r.Err != nil || !bytes.Equal(r.Data, raw) {
				t.Errorf("record %+v", Record{Form: r.Form, Source: r.Source, Index: r.Index, Err: r.Err})
			}
		})
		for _, in := range []struct {
			name string
			b    []byte
		}{{"event.json", event}, {"event.json.gz", testutil.Gzip(t, event)}} {
			t.Run(in.name, func(t *testing.T) {
				got, err := collect(t, in.name, in.b)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(recs) {
					t.Fatalf("%d records, want %d", len(got), len(recs))
				}
				for i, r := range got {
					if r.Err != nil || r.Form != FirehoseEvent || r.Index != i || r.ID != recIDs[i] || r.Source != in.name || !bytes.Equal(r.Data, recs[i]) {
						t.Fatalf("record %d: form %v index %d id %q err %v, data equal %v", i, r.Form, r.Index, r.ID, r.Err, bytes.Equal(r.Data, recs[i]))
					}
					if !bytes.HasPrefix(event[r.Offset:], []byte(`{"recordId":"`+recIDs[i])) {
						t.Fatalf("record %d: offset %d is not where it starts", i, r.Offset)
					}
				}
			})
		}
		t.Run("processing-failed", func(t *testing.T) {
			got, err := collect(t, "failed", failed)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(recs) {
				t.Fatalf("%d records, want %d", len(got), len(recs))
			}
			lines := bytes.SplitAfter(failed, []byte("\n"))
			off := 0
			for i, r := range got {
				if r.Err != nil || r.Form != ProcessingFailed || r.Index != i || !bytes.Equal(r.Data, recs[i]) {
					t.Fatalf("record %d: form %v index %d err %v, data equal %v", i, r.Form, r.Index, r.Err, bytes.Equal(r.Data, recs[i]))
				}
				if r.ErrorCode != "Lambda.FunctionError" || !strings.HasSuffix(r.ErrorMessage, "error result. ("+strconv.Itoa(i)+")") {
					t.Errorf("record %d: errorCode %q errorMessage %q", i, r.ErrorCode, r.ErrorMessage)
				}
				if r.Offset != off {
					t.Errorf("record %d: offset %d, want %d", i, r.Offset, off)
				}
				off += len(lines[i])
			}
		})
	}
}

func TestEachBadRecords(t *testing.T) {
	good := []byte("hello")
	event := `{"records":[{"recordId":"a","data":"aGVsbG8="},{"recordId":"b","data":"aGV*bG8="}]}`
	l1 := `{"errorCode":"E1","rawData":"aGVsbG8="}` + "\n"
	l2 := `{"errorCode":"E2","rawData":"aGV*bG8="}` + "\n" // bad base64
	l3 := `{"errorCode":"E3","rawData":` + "\n"            // bad JSON
	l4 := "\n" + `{"errorCode":"E4"}` + "\r\n"             // blank line, then no rawData
	l5 := `{"errorCode":"E5","rawData":"aGVsbG8="}`
	failed := l1 + l2 + l3 + l4 + l5
	tests := []struct {
		name    string
		in      string
		errAt   map[int]int // record index → byte offset its error must name
		records int
	}{
		{
			name:    "event with bad base64",
			in:      event,
			errAt:   map[int]int{1: strings.Index(event, "*")},
			records: 2,
		},
		{
			name: "processing-failed with bad lines",
			in:   failed,
			errAt: map[int]int{
				1: strings.Index(failed, "*"),
				2: len(l1+l2) + len(l3) - 1, // where the line ends too early
				3: len(l1+l2+l3) + 1,
			},
			records: 5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect(t, "src.json", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.records {
				t.Fatalf("%d records, want %d", len(got), tc.records)
			}
			for i, r := range got {
				at, bad := tc.errAt[i]
				if !bad {
					if r.Err != nil || !bytes.Equal(r.Data, good) {
						t.Errorf("record %d: %q, %v; want hello", i, r.Data, r.Err)
					}
					continue
				}
				var se *Error
				if !errors.As(r.Err, &se) {
					t.Fatalf("record %d: err %v (%T), want *Error", i, r.Err, r.Err)
				}
				if se.Source != "src.json" || se.Index != i || se.Offset != at || len(r.Data) != 0 {
					t.Errorf("record %d: %v: source %q index %d offset %d, want offset %d", i, r.Err, se.Source, se.Index, se.Offset, at)
				}
				if msg := r.Err.Error(); !strings.HasPrefix(msg, "src.json: record "+strconv.Itoa(i)+" ") || !strings.Contains(msg, "byte "+strconv.Itoa(at)+": ") {
					t.Errorf("record %d: message %q does not name source, record and byte", i, msg)
				}
			}
		})
	}
}

func TestEachCallbackErrorStops(t *testing.T) {
	recs := splitRecords(t, bytes.Join(realPayloads(t), nil), 1)
	stop := errors.New("stop")
	n := 0
	err := Each("e", eventJSON(ids(len(recs)), recs), func(Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("err %v after %d records; want the callback's error after 3", err, n)
	}
}

func TestEachEnvelopeError(t *testing.T) {
	err := Each("ev.json", []byte(`{"records":[{"recordId":"a","data":"x"`), func(Record) error { return nil })
	var se *Error
	if !errors.As(err, &se) || se.Source != "ev.json" || se.Index != -1 || se.Offset == 0 {
		t.Fatalf("err %v (%T): want *Error for ev.json with the offset", err, err)
	}
}
