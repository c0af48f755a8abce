package wire

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestNextFrame(t *testing.T) {
	frame := func(msg string) []byte { return append(protowire.AppendVarint(nil, uint64(len(msg))), msg...) }
	data := append(append(frame("ab"), frame("")...), frame("xyz")...)
	var got []string
	for off := 0; off < len(data); {
		msg, end, err := NextFrame(data, off)
		if err != nil {
			t.Fatalf("at %d: %v", off, err)
		}
		got = append(got, string(msg))
		off = end
	}
	if strings.Join(got, "|") != "ab||xyz" {
		t.Fatalf("frames %q", got)
	}
	for _, tt := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"truncated prefix", []byte{0x80}, "length prefix"},
		{"past the end", []byte{0x05, 'a'}, "frame length 5 runs past the end of the record (1 bytes left)"},
	} {
		_, end, err := NextFrame(append(frame("ok"), tt.data...), 3)
		if err == nil || end != 3 || err.Offset != 3 || err.UnitOffset != 3 || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: end %d, err %v", tt.name, end, err)
		}
	}
}

// An error says the format when there is one, the frame or line and where
// it starts, and the byte of the problem when that is elsewhere.
func TestErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  Error
		want string
	}{
		{Error{Format: OTel10, Unit: "frame", Index: 2, UnitOffset: 100, Offset: 100, Reason: "r"}, "OpenTelemetry 1.0: frame 2 at offset 100: r"},
		{Error{Format: JSON, Unit: "line", Index: 3, UnitOffset: 40, Offset: 57, Reason: "r"}, "JSON: line 3 at offset 40: byte 57: r"},
		{Error{Unit: "frame", UnitOffset: 0, Offset: 9, Reason: "r"}, "frame 0 at offset 0: byte 9: r"},
		{Error{Reason: "r"}, "at byte 0: r"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%q, want %q", got, tt.want)
		}
	}
	for _, f := range Formats {
		if f.String() == "" || f.OutputFormat() == "" {
			t.Errorf("format %d has no name", f)
		}
	}
}
