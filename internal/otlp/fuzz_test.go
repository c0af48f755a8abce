package otlp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/testutil"
	"github.com/cwstream/cwstream/internal/wire"
)

// checkError holds every decoding error to the package's promise: a
// *wire.Error whose offsets lie inside the input and whose text names them.
func checkError(t *testing.T, err error, data []byte) {
	t.Helper()
	var de *wire.Error
	if !errors.As(err, &de) {
		t.Fatalf("error is not a *wire.Error: %v", err)
	}
	if de.UnitOffset < 0 || de.UnitOffset > len(data) || de.Offset < de.UnitOffset || de.Offset > len(data) {
		t.Fatalf("offsets out of range: %+v (len %d)", de, len(data))
	}
	if !strings.Contains(err.Error(), "offset") && !strings.Contains(err.Error(), "byte") {
		t.Fatalf("error does not name the offset: %v", err)
	}
}

// FuzzDecode feeds both versions' decoder and the version sniffer the same
// bytes: no panic, every update stamped, errors that say where.
func FuzzDecode(f *testing.F) {
	for _, name := range testutil.RealPayloadNames {
		b := testutil.RealPayload(f, name)
		f.Add(b[:min(len(b), 4096)])
	}
	files, _ := filepath.Glob(testutil.Testdata(f, "payloads", "*.bin"))
	bad, _ := filepath.Glob(testutil.Testdata(f, "payloads", "bad", "*.bin"))
	for _, p := range append(files, bad...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Add(frame(request(goodPoint())))
	f.Add(frame(request(goodPoint10())))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, verr := Version(data)
		if verr != nil {
			checkError(t, verr, data)
		}
		for _, format := range []wire.Format{wire.OTel07, wire.OTel10} {
			var d Decoder
			n := 0
			err := d.Decode(data, format, func(u *cw.Update) error {
				n++
				if u.EndUnixNano == 0 {
					t.Fatal("update without time")
				}
				return nil
			})
			if err != nil {
				checkError(t, err, data)
				var de *wire.Error
				if errors.As(err, &de) && de.Format != format {
					t.Fatalf("decoding as %v, the error names %v", format, de.Format)
				}
			}
			// Whatever the sniffer recognised as a version with data
			// points must be decodable as that version up to its first
			// data point, which the sniffer has seen whole.
			if verr == nil && v == format && n == 0 && err != nil {
				var de *wire.Error
				if errors.As(err, &de) && de.Index == 0 && strings.Contains(de.Reason, "only OpenTelemetry") {
					t.Fatalf("Version said %v, the decoder refuses the first frame's dimensions: %v", v, err)
				}
			}
		}
	})
}
