package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/golang/protobuf/proto"
	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// file is one generated file plus what the README says about it.
type file struct {
	Path   string // relative to the output directory, slash-separated
	Data   []byte
	About  string
	Frames int    // frames in the file (all records together); -1 when not applicable
	Points int    // data points in the well-formed frames; -1 when not applicable
	Bad    string // for malformed fixtures: where and what, one line
}

// record is one Firehose record built from fixture frames.
type record struct {
	Source string // which fixture frames, for the README
	Data   []byte
	Frames int
	Points int
}

// generate builds every file in memory, in a fixed order.
func generate() ([]file, error) {
	var files []file
	recs := map[string][]byte{}            // fixture name → whole record
	frames := map[string][][]byte{}        // fixture name → each frame with its prefix
	points := map[string][]expectedPoint{} // fixture name → oracle view
	for _, fx := range fixtures() {
		rec, err := encodeRecord(fx.Frames)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fx.Name, err)
		}
		pts, n, err := expected(rec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fx.Name, err)
		}
		js, err := marshalIndent(pts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fx.Name, err)
		}
		spans, _ := splitFrames(rec)
		for _, sp := range spans {
			frames[fx.Name] = append(frames[fx.Name], rec[sp.Offset:sp.End])
		}
		recs[fx.Name], points[fx.Name] = rec, pts
		files = append(files,
			file{Path: fx.Name + ".bin", Data: rec, About: fx.About, Frames: n, Points: len(pts)},
			file{Path: fx.Name + ".expected.json", Data: js, About: "oracle view of " + fx.Name + ".bin, one object per data point", Frames: n, Points: len(pts)},
		)
	}
	pointsOf := func(b []byte) int {
		pts, _, err := expected(b)
		if err != nil {
			return -1
		}
		return len(pts)
	}
	whole := func(name string) record {
		return record{Source: name + ".bin (all frames)", Data: recs[name], Frames: len(frames[name]), Points: len(points[name])}
	}
	frameRec := func(name string, i int) record {
		b := frames[name][i]
		return record{Source: fmt.Sprintf("%s.bin frame %d", name, i), Data: b, Frames: 1, Points: pointsOf(b)}
	}

	// event.json: the Lambda input of one Firehose invocation.
	evRecs := []record{whole("single")}
	for i := range frames["ecs"] {
		evRecs = append(evRecs, frameRec("ecs", i))
	}
	evRecs = append(evRecs, whole("rds"), frameRec("alb", 0), frameRec("alb", 1), whole("odd"))
	r := newRNG(7)
	ev := newEvent(r, evRecs)
	evJSON, err := marshalIndent(ev)
	if err != nil {
		return nil, err
	}
	var srcs []string
	evFrames, evPoints := 0, 0
	for i, rc := range evRecs {
		srcs = append(srcs, fmt.Sprintf("%d=%s", i, rc.Source))
		evFrames += rc.Frames
		evPoints += rc.Points
	}
	files = append(files, file{Path: "event.json", Data: evJSON, Frames: evFrames, Points: evPoints,
		About: fmt.Sprintf("Firehose transformation event (aws-lambda-go events.KinesisFirehoseEvent field names), %d records: %s", len(evRecs), strings.Join(srcs, "; "))})
	evGz, err := gzipBytes(evJSON)
	if err != nil {
		return nil, err
	}
	files = append(files, file{Path: "event.json.gz", Data: evGz, Frames: evFrames, Points: evPoints, About: "event.json, gzip-compressed"})

	// processing-failed.jsonl: what Firehose writes under processing-failed/ in S3.
	pf, pfFrames, pfPoints, pfSrc, err := processingFailed(ev, evRecs, []int{1, 5, 7, 8})
	if err != nil {
		return nil, err
	}
	files = append(files, file{Path: "processing-failed.jsonl", Data: pf, Frames: pfFrames, Points: pfPoints,
		About: "Firehose processing-failed/ S3 object, one JSON line per failed record (rawData = base64 record data): " + pfSrc})

	// raw-multi.bin.gz: a raw S3 object (records' data concatenated), gzip-compressed.
	var raw []byte
	rawFrames, rawPoints := 0, 0
	// The event's records, in its order: a raw object and the event carry the same data.
	for _, name := range []string{"single", "ecs", "rds", "alb", "odd"} {
		raw = append(raw, recs[name]...)
		rawFrames += len(frames[name])
		rawPoints += len(points[name])
	}
	rawGz, err := gzipBytes(raw)
	if err != nil {
		return nil, err
	}
	files = append(files, file{Path: "raw-multi.bin.gz", Data: rawGz, Frames: rawFrames, Points: rawPoints,
		About: "gzip of a raw S3 object: the records of single, ecs, rds, alb and odd concatenated (" + strconv.Itoa(len(raw)) + " bytes uncompressed)"})

	bad, err := badFixtures(r, frames, points)
	if err != nil {
		return nil, err
	}
	files = append(files, bad...)
	files = append(files, file{Path: "README.md", Data: readme(files), Frames: -1, Points: -1})
	return files, nil
}

type eventRecord struct {
	RecordID                    string `json:"recordId"`
	ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"`
	Data                        string `json:"data"`
}

type firehoseEvent struct {
	InvocationID      string        `json:"invocationId"`
	DeliveryStreamArn string        `json:"deliveryStreamArn"`
	Region            string        `json:"region"`
	Records           []eventRecord `json:"records"`
}

// arrivalMs is when the records of the events arrive: 30 s after the fixtures' minute.
var arrivalMs = minute.UnixMilli() + 30_000

// newEvent wraps recs as a Direct PUT delivery stream (the kind metric streams write to)
// invokes the transformation Lambda: no sourceKinesisStreamArn, no kinesisRecordMetadata.
// Record IDs look like Direct PUT ones: a long decimal sequence number with a 6-digit suffix.
func newEvent(r *rng, recs []record) firehoseEvent {
	ev := firehoseEvent{
		InvocationID:      fmt.Sprintf("%s-%s-4%s-a%s-%s", r.hex(8), r.hex(4), r.hex(3), r.hex(3), r.hex(12)),
		DeliveryStreamArn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/cwstream-metrics",
		Region:            "us-east-1",
	}
	prefix := "4964" + r.digits(36)
	for i, rc := range recs {
		ev.Records = append(ev.Records, eventRecord{
			RecordID:                    prefix + r.digits(16) + "000000",
			ApproximateArrivalTimestamp: arrivalMs + int64(i)*7,
			Data:                        base64.StdEncoding.EncodeToString(rc.Data),
		})
	}
	return ev
}

func processingFailed(ev firehoseEvent, recs []record, idx []int) ([]byte, int, int, string, error) {
	type line struct {
		AttemptsMade           int    `json:"attemptsMade"`
		ArrivalTimestamp       int64  `json:"arrivalTimestamp"`
		ErrorCode              string `json:"errorCode"`
		ErrorMessage           string `json:"errorMessage"`
		AttemptEndingTimestamp int64  `json:"attemptEndingTimestamp"`
		RawData                string `json:"rawData"`
		LambdaArn              string `json:"lambdaArn"`
	}
	errs := []struct{ code, msg string }{
		{"Lambda.FunctionError", "The Lambda function was successfully invoked but it returned an error result."},
		{"Lambda.FunctionTimedOut", "The Lambda function invocation timed out. Increase the Timeout setting in the Lambda function."},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	nf, np := 0, 0
	var src []string
	for k, i := range idx {
		e := errs[k%len(errs)]
		rec := ev.Records[i]
		if err := enc.Encode(line{
			AttemptsMade:           4,
			ArrivalTimestamp:       rec.ApproximateArrivalTimestamp,
			ErrorCode:              e.code,
			ErrorMessage:           e.msg,
			AttemptEndingTimestamp: rec.ApproximateArrivalTimestamp + 75_000 + int64(k)*1_013,
			RawData:                rec.Data,
			LambdaArn:              "arn:aws:lambda:us-east-1:123456789012:function:cwstream-ingest:$LATEST",
		}); err != nil {
			return nil, 0, 0, "", err
		}
		nf += recs[i].Frames
		np += recs[i].Points
		src = append(src, fmt.Sprintf("line %d=event record %d (%s)", k+1, i, recs[i].Source))
	}
	return buf.Bytes(), nf, np, strings.Join(src, "; "), nil
}

// badFixtures builds the malformed inputs. Each one is checked here against the official
// library, so a fixture that is accidentally valid fails generation.
func badFixtures(r *rng, frames map[string][][]byte, points map[string][]expectedPoint) ([]file, error) {
	var out []file
	add := func(name string, data []byte, nFrames, nPoints int, what string) {
		out = append(out,
			file{Path: "bad/" + name, Data: data, Frames: nFrames, Points: nPoints, Bad: what},
			file{Path: "bad/" + strings.TrimSuffix(name, filepath.Ext(name)) + ".txt", Data: []byte(what + "\n"), Frames: -1, Points: -1, About: "what is wrong with bad/" + name})
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	var countErr error
	count := func(bs ...[]byte) int {
		n := 0
		for _, b := range bs {
			pts, _, err := expected(b)
			if err != nil && countErr == nil {
				countErr = err
			}
			n += len(pts)
		}
		return n
	}

	// truncated-varint.bin: both alb frames, then the first byte of a two-byte length prefix.
	rdsPrefix := frames["rds"][0]
	if rdsPrefix[0]&0x80 == 0 {
		return nil, fmt.Errorf("truncated-varint: rds frame 0 is too short for a multi-byte prefix")
	}
	good := cat(frames["alb"]...)
	add("truncated-varint.bin", cat(good, rdsPrefix[:1]), 2, count(frames["alb"]...),
		fmt.Sprintf("frame at byte %d: length prefix cut short: its only byte 0x%02x has the continuation bit set and the data ends (2 good frames before it)", len(good), rdsPrefix[0]))

	// length-past-end.bin: two rds frames, then a prefix for the third with half its bytes.
	f2 := frames["rds"][2]
	n2, k2 := protowire.ConsumeVarint(f2)
	good = cat(frames["rds"][0], frames["rds"][1])
	cut := f2[:k2+int(n2)/2]
	add("length-past-end.bin", cat(good, cut), 2, count(frames["rds"][0], frames["rds"][1]),
		fmt.Sprintf("frame at byte %d: length prefix says %d bytes but only %d follow (2 good frames before it)", len(good), n2, len(cut)-k2))

	// bad-protobuf.bin: good, a frame whose first field (LEN, field 1) claims 200 bytes of
	// its 43, good.
	e2 := frames["ecs"][2]
	_, ke := protowire.ConsumeVarint(e2)
	body := cat([]byte{0x0a, 0xc8, 0x01}, e2[ke:ke+40])
	var probe colpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(body, &probe); err == nil {
		return nil, fmt.Errorf("bad-protobuf: the bad frame unmarshals")
	}
	badFrame := protowire.AppendVarint(nil, uint64(len(body)))
	badFrame = append(badFrame, body...)
	good = frames["ecs"][0]
	add("bad-protobuf.bin", cat(good, badFrame, frames["ecs"][1]), 2, count(frames["ecs"][0], frames["ecs"][1]),
		fmt.Sprintf("frame at byte %d (%d-byte prefix, %d-byte message): field 1 (resource_metrics, LEN) declares 200 bytes but the message has %d left; one good frame before it (ecs frame 0) and one after (ecs frame 1)", len(good), len(badFrame)-len(body), len(body), len(body)-3))

	// json-format.jsonl: what a stream with OutputFormat json writes for the
	// first 12 data points of rds.bin. Not 0.7 frames, but well-formed: the
	// main module's json decoder reads it.
	jl, err := jsonFormatLines(points["rds"][:12])
	if err != nil {
		return nil, err
	}
	out = append(out, file{Path: "json-format.jsonl", Data: jl, Frames: -1, Points: 12,
		About: "rds.bin data points 0-11 as a stream with OutputFormat json writes them (one JSON object a line; timestamp = period start)"})

	// missing-timestamp.jsonl: json-format.jsonl lines 1, 2, 4 and 5 around
	// its line 3 without the "timestamp" key: the one line a decoder must
	// refuse, with good lines on both sides of it.
	lines := bytes.SplitAfter(jl, []byte("\n"))
	third := lines[2]
	ts := regexp.MustCompile(`"timestamp":[0-9]+,`)
	if len(ts.FindAll(third, -1)) != 1 {
		return nil, fmt.Errorf("missing-timestamp: json-format.jsonl line 3 has no single timestamp")
	}
	noTS := ts.ReplaceAll(third, nil)
	mt := cat(lines[0], lines[1], noTS, lines[3], lines[4])
	add("missing-timestamp.jsonl", mt, -1, 4,
		fmt.Sprintf(`line 3 (byte %d) lacks "timestamp"; lines 1-2 and 4-5 are json-format.jsonl lines 1, 2, 4 and 5 (rds.bin data points 0, 1, 3 and 4)`, len(lines[0])+len(lines[1])))

	// mixed-event.json: good, bad base64, truncated frame, good, a record of
	// the json output format (a stream whose format was changed), good.
	o0 := frames["odd"][0]
	no, ko := protowire.ConsumeVarint(o0)
	trunc := o0[:ko+int(no)/2]
	single := cat(frames["single"]...)
	recs := []record{
		{Data: single}, {}, {Data: trunc}, {Data: frames["alb"][0]}, {Data: jl[:bytes.IndexByte(jl, '\n')+1]}, {Data: frames["rds"][2]},
	}
	ev := newEvent(r, recs)
	ev.Records[1].Data = "T1RMUDA3*not~base64*" + strings.Repeat("=", 3)
	mixed, err := marshalIndent(ev)
	if err != nil {
		return nil, err
	}
	add("mixed-event.json", mixed, 3, count(single, frames["alb"][0], frames["rds"][2]),
		fmt.Sprintf("records 1 and 2 are bad: record 1 data is not base64; record 2: frame at byte 0 declares %d bytes but only %d follow (odd.bin frame 0 cut); record 4 is not OpenTelemetry 0.7 but one line of the json output format (rds.bin point 0), which cwstream decodes; records 0 (single.bin), 3 (alb.bin frame 0) and 5 (rds.bin frame 2) are 0.7", no, len(trunc)-ko))
	if countErr != nil {
		return nil, countErr
	}
	return out, nil
}

// cloudWatchUnit maps the OTel unit strings back to CloudWatch's, for the JSON format.
var cloudWatchUnit = map[string]string{
	"%": "Percent", "1": "None", "By": "Bytes", "By/s": "Bytes/Second", "MBy": "Megabytes",
	"s": "Seconds", "ms": "Milliseconds", "{Count}": "Count", "{Count}/s": "Count/Second",
}

// jsonFormatLines renders points the way OutputFormat json does: one object a line, keys in
// the order of the CloudWatch documentation's example, timestamp in epoch milliseconds (the
// start of the minute, CloudWatch's datapoint timestamp).
func jsonFormatLines(pts []expectedPoint) ([]byte, error) {
	var buf bytes.Buffer
	str := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	num := func(f float64) string {
		b, _ := json.Marshal(f)
		return string(b)
	}
	for _, p := range pts {
		unit, ok := cloudWatchUnit[p.Unit]
		if !ok {
			return nil, fmt.Errorf("json format: no CloudWatch unit for %q", p.Unit)
		}
		stream := p.StreamARN[strings.LastIndexByte(p.StreamARN, '/')+1:]
		fmt.Fprintf(&buf, `{"metric_stream_name":%s,"account_id":%s,"region":%s,"namespace":%s,"metric_name":%s,"dimensions":{`,
			str(stream), str(p.AccountID), str(p.Region), str(p.Namespace), str(p.MetricName))
		for i, d := range p.Dimensions {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(str(d.Name) + ":" + str(d.Value))
		}
		lo, hi := p.Quantiles[0].Value, p.Quantiles[len(p.Quantiles)-1].Value
		fmt.Fprintf(&buf, `},"timestamp":%d,"value":{"count":%s,"sum":%s,"max":%s,"min":%s},"unit":%s}`+"\n",
			p.StartUnixNano/1e6, num(float64(p.Count)), num(p.Sum), num(hi), num(lo), str(unit))
	}
	return buf.Bytes(), nil
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipBytes compresses b with an empty header (no name, zero time), so the output depends
// on the bytes alone.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFiles(dir string, files []file) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
