package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	hello := base64.StdEncoding.EncodeToString([]byte("hello"))
	huge := bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, 1<<20) // 5 MiB in one record
	hugeEvent := `{"records":[{"recordId":"big","data":"` + base64.StdEncoding.EncodeToString(huge) + `"}]}`

	type rec struct {
		id   string
		data string
		err  error // cause, matched with errors.Is
	}
	tests := []struct {
		name      string
		in        string
		inv       string // invocationId
		recs      []rec
		envErr    error // cause of the *EnvelopeError, nil when Parse must succeed
		envOffset int   // byte offset the envelope error must name (-1: any)
		bad       bool  // Parse must fail (implied by envErr)
		std       bool  // encoding/json accepts the input: compare with it
	}{
		{
			name: "full event with unknown fields",
			in: `{"invocationId":"inv","deliveryStreamArn":"arn:aws:firehose:eu-west-1:1:deliverystream/s","region":"eu-west-1",` +
				`"sourceKinesisStreamArn":"x","records":[{"recordId":"r1","approximateArrivalTimestamp":1700000000123,"data":"` + hello + `",` +
				`"kinesisRecordMetadata":{"shardId":"s","subsequenceNumber":0,"nested":[1,{"a":null}]}}]}`,
			inv:  "inv",
			recs: []rec{{id: "r1", data: "hello"}},
			std:  true,
		},
		{
			name: "whitespace everywhere",
			in:   " \n{ \"records\" :\t[ { \"recordId\" : \"a\" , \"data\" : \"" + hello + "\" } ] } \r\n",
			recs: []rec{{id: "a", data: "hello"}},
			std:  true,
		},
		{
			name: "missing metadata and timestamp",
			in:   `{"records":[{"recordId":"a","data":""}]}`,
			recs: []rec{{id: "a", data: ""}},
			std:  true,
		},
		{
			name: "null metadata, null timestamp, null data",
			in:   `{"invocationId":null,"region":null,"records":[{"recordId":"a","approximateArrivalTimestamp":null,"data":null}]}`,
			recs: []rec{{id: "a"}},
			std:  true,
		},
		{
			name: "missing data",
			in:   `{"records":[{"recordId":"a"}]}`,
			recs: []rec{{id: "a"}},
			std:  true,
		},
		{
			name: "empty records array",
			in:   `{"invocationId":"i","records":[]}`,
			inv:  "i",
			std:  true,
		},
		{
			name: "escaped strings",
			in:   `{"region":"us-\u0065ast-1","records":[{"recordId":"q\"b\\s\/\n\t\u00e9\ud83d\ude00\u0000","data":"` + hello + `"}]}`,
			recs: []rec{{id: "q\"b\\s/\n\té😀\x00", data: "hello"}},
			std:  true,
		},
		{
			name: "raw unicode id",
			in:   `{"records":[{"recordId":"zürich-東京-🚀","data":"` + hello + `"}]}`,
			recs: []rec{{id: "zürich-東京-🚀", data: "hello"}},
			std:  true,
		},
		{
			name: "invalid UTF-8 becomes U+FFFD like encoding/json",
			in:   "{\"records\":[{\"recordId\":\"a\xffb\",\"data\":\"\"}]}",
			recs: []rec{{id: "a\ufffdb", data: ""}},
			std:  true,
		},
		{
			name: "escaped base64 data",
			in:   `{"records":[{"recordId":"a","data":"\/\/\/\/"}]}`,
			recs: []rec{{id: "a", data: "\xff\xff\xff"}},
			std:  true,
		},
		{
			name: "escaped field names",
			in:   `{"r\u0065cords":[{"record\u0049d":"a","dat\u0061":"` + hello + `"}]}`,
			recs: []rec{{id: "a", data: "hello"}},
			std:  true,
		},
		{
			name: "field names match case-insensitively like encoding/json",
			in:   `{"RECORDS":[{"RecordID":"a","DATA":"` + hello + `","ApproximateArrivalTimeStamp":5}]}`,
			recs: []rec{{id: "a", data: "hello"}},
			std:  true,
		},
		{
			name: "duplicate fields: last wins",
			in:   `{"records":[{"recordId":"a","recordId":"b","data":"eA==","data":"` + hello + `"}]}`,
			recs: []rec{{id: "b", data: "hello"}},
			std:  true,
		},
		{
			name: "duplicate record ids are all kept",
			in:   `{"records":[{"recordId":"a","data":"eA=="},{"recordId":"a","data":"eQ=="},{"recordId":"a","data":""}]}`,
			recs: []rec{{id: "a", data: "x"}, {id: "a", data: "y"}, {id: "a", data: ""}},
			std:  true,
		},
		{
			name: "fields that are not read may hold anything",
			in: `{"region":5,"deliveryStreamArn":[],"records":[{"recordId":"a","approximateArrivalTimestamp":"1"},` +
				`{"recordId":"b","approximateArrivalTimestamp":1e3,"kinesisRecordMetadata":7}]}`,
			recs: []rec{{id: "a"}, {id: "b"}},
		},
		{
			name: "huge record",
			in:   hugeEvent,
			recs: []rec{{id: "big", data: string(huge)}},
			std:  true,
		},
		{
			name: "bad base64 is a record error, others go on",
			in:   `{"records":[{"recordId":"a","data":"` + hello + `"},{"recordId":"b","data":"aGV*bG8="},{"recordId":"c","data":"eA=="}]}`,
			recs: []rec{{id: "a", data: "hello"}, {id: "b", err: ErrBadBase64}, {id: "c", data: "x"}},
		},
		{
			name: "base64 without padding is bad",
			in:   `{"records":[{"recordId":"a","data":"eA"}]}`,
			recs: []rec{{id: "a", err: ErrBadBase64}},
		},
		{
			name: "record fields of the wrong type",
			in:   `{"records":[{"recordId":1,"data":""},{"recordId":"b","data":5},{"recordId":["x"],"data":{}}]}`,
			recs: []rec{{err: ErrWrongType}, {id: "b", err: ErrWrongType}, {err: ErrWrongType}},
		},
		{
			name: "records that are not objects",
			in:   `{"records":[null,1,"s",[],{"recordId":"ok","data":""}]}`,
			recs: []rec{{err: ErrNotObject}, {err: ErrNotObject}, {err: ErrNotObject}, {err: ErrNotObject}, {id: "ok", data: ""}},
		},
		{
			name: "record without recordId",
			in:   `{"records":[{"data":"` + hello + `"}]}`,
			recs: []rec{{err: ErrNoID}},
			std:  true,
		},
		{name: "no records", in: `{"invocationId":"i"}`, envErr: ErrNoRecords, envOffset: 1, std: true},
		{name: "null records", in: `{"records":null}`, envErr: ErrNoRecords, envOffset: 1, std: true},
		{name: "records not an array", in: `{"records":{"a":1}}`, envErr: ErrNoRecords, envOffset: 11},
		{name: "invocationId of the wrong type", bad: true, in: `{"invocationId":5,"records":[]}`, envOffset: 16},
		{name: "not JSON", bad: true, in: `hello`, envOffset: 0},
		{name: "empty input", in: ``, envErr: io.ErrUnexpectedEOF, envOffset: 0},
		{name: "top level array", bad: true, in: `[{"records":[]}]`, envOffset: 0},
		{name: "truncated in a record", in: `{"records":[{"recordId":"a","data":"aGVsbG`, envErr: io.ErrUnexpectedEOF, envOffset: -1},
		{name: "truncated after a record", in: `{"records":[{"recordId":"a","data":""},`, envErr: io.ErrUnexpectedEOF, envOffset: -1},
		{name: "syntax error in a record", bad: true, in: `{"records":[{"recordId":"a" "data":""}]}`, envOffset: 28},
		{name: "data after the event", bad: true, in: `{"records":[]} {}`, envOffset: 15},
	}
	var p Parser // one parser for all cases: reuse must not leak state
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := p.Parse([]byte(tc.in))
			if tc.bad || tc.envErr != nil {
				var ee *EnvelopeError
				if !errors.As(err, &ee) {
					t.Fatalf("Parse: got %v (%T), want an *EnvelopeError", err, err)
				}
				if tc.envErr != nil && !errors.Is(err, tc.envErr) {
					t.Errorf("Parse: %v, want cause %v", err, tc.envErr)
				}
				if tc.envOffset >= 0 && ee.Offset != tc.envOffset {
					t.Errorf("Parse: %v: offset %d, want %d", err, ee.Offset, tc.envOffset)
				}
				if ee.Offset < 0 || ee.Offset > len(tc.in) {
					t.Errorf("Parse: offset %d outside the input of %d bytes", ee.Offset, len(tc.in))
				}
				if !strings.Contains(err.Error(), "at byte ") {
					t.Errorf("error %q does not name the byte", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ev.InvocationID != tc.inv {
				t.Errorf("invocationId %q, want %q", ev.InvocationID, tc.inv)
			}
			if len(ev.Records) != len(tc.recs) {
				t.Fatalf("%d records, want %d", len(ev.Records), len(tc.recs))
			}
			for i, want := range tc.recs {
				got := ev.Records[i]
				if got.ID != want.id {
					t.Errorf("record %d: id %q, want %q", i, got.ID, want.id)
				}
				if want.err != nil {
					if !errors.Is(got.Err, want.err) {
						t.Errorf("record %d: err %v, want %v", i, got.Err, want.err)
					}
					var re *RecordError
					if !errors.As(got.Err, &re) || re.Index != i || re.Offset < got.Offset || re.Offset >= len(tc.in) {
						t.Errorf("record %d: err %#v does not locate the record (record at byte %d)", i, got.Err, got.Offset)
					}
					continue
				}
				if got.Err != nil {
					t.Errorf("record %d: unexpected error %v", i, got.Err)
				}
				if string(got.Data) != want.data {
					t.Errorf("record %d: data %q, want %q", i, trunc(got.Data), trunc([]byte(want.data)))
				}
				if cap(got.Data) != len(got.Data) {
					t.Errorf("record %d: cap %d > len %d: an append would overwrite the next record", i, cap(got.Data), len(got.Data))
				}
				if got.Offset < 0 || got.Offset >= len(tc.in) || tc.in[got.Offset] != '{' {
					t.Errorf("record %d: offset %d is not where its object starts", i, got.Offset)
				}
			}
			if tc.std {
				checkAgainstStd(t, []byte(tc.in), ev)
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// The record error names the offset of the bad base64 character itself.
func TestParseBadBase64Offset(t *testing.T) {
	in := `{"records":[{"recordId":"a","data":"aGV*bG8="}]}`
	var p Parser
	ev, err := p.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var re *RecordError
	if !errors.As(ev.Records[0].Err, &re) {
		t.Fatalf("err %v, want *RecordError", ev.Records[0].Err)
	}
	if want := strings.Index(in, "*"); re.Offset != want || re.Field != "data" {
		t.Errorf("offset %d field %q, want %d %q (%v)", re.Offset, re.Field, want, "data", re)
	}
	if msg := re.Error(); !strings.Contains(msg, "record 0: data at byte 39") {
		t.Errorf("message %q", msg)
	}
}

// Events made from the real payloads decode to exactly their records, and a
// reused parser gives the same answer on the next, different event.
func TestParseRealPayloadEvents(t *testing.T) {
	var p Parser
	for _, size := range []int{64 << 10, 1 << 20, 200 << 10} {
		in, datas := buildEvent(t, size, uint64(size))
		ev, err := p.Parse(in)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(ev.Records) != len(datas) {
			t.Fatalf("size %d: %d records, want %d", size, len(ev.Records), len(datas))
		}
		for i, r := range ev.Records {
			if r.Err != nil || !bytes.Equal(r.Data, datas[i]) {
				t.Fatalf("size %d record %d: err %v, data differs: %v", size, i, r.Err, !bytes.Equal(r.Data, datas[i]))
			}
		}
		checkAgainstStd(t, in, ev)
	}
}

// A failed Parse leaves the parser usable and hands out no records.
func TestParseAfterError(t *testing.T) {
	var p Parser
	if ev, err := p.Parse([]byte(`{"records":[{"recordId":"a","data":""},`)); err == nil || ev != nil {
		t.Fatalf("got %v, %v; want nil, error", ev, err)
	}
	ev, err := p.Parse([]byte(`{"records":[{"recordId":"b","data":"eA=="}]}`))
	if err != nil || len(ev.Records) != 1 || ev.Records[0].ID != "b" || string(ev.Records[0].Data) != "x" {
		t.Fatalf("after an error: %+v, %v", ev, err)
	}
}

func TestParseAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	in, _ := buildEvent(t, 1<<20, 7)
	var p Parser
	if _, err := p.Parse(in); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := p.Parse(in); err != nil {
			t.Fatal(err)
		}
	})
	// Warm parser: the id string, the metadata strings and the input buffer
	// wrapper; nothing per record.
	if allocs > 8 {
		t.Errorf("%v allocations per 1 MB event, want at most 8 (none per record)", allocs)
	}
}
