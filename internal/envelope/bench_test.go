package envelope

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

var benchSizes = []int{1 << 20, 3 << 20, 6 << 20}

// BenchmarkParse: this parser, warm (the Lambda reuses one per container).
func BenchmarkParse(b *testing.B) {
	for _, size := range benchSizes {
		in, datas := buildEvent(b, size, 1)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			var p Parser
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				ev, err := p.Parse(in)
				if err != nil || len(ev.Records) != len(datas) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStdJSON: encoding/json into the aws-lambda-go event, the baseline.
func BenchmarkStdJSON(b *testing.B) {
	for _, size := range benchSizes {
		in, datas := buildEvent(b, size, 1)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var ev events.KinesisFirehoseEvent
				if err := json.Unmarshal(in, &ev); err != nil || len(ev.Records) != len(datas) {
					b.Fatal(err)
				}
			}
		})
	}
}
