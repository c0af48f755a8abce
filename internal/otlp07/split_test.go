package otlp07

import (
	"bytes"
	"testing"

	"github.com/cwstream/cwstream/internal/testutil"
)

func TestSplit(t *testing.T) {
	data := testutil.RealPayload(t, testutil.RealPayloadNames[0])
	want, err := collect(t, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, max := range []int{1, 1000, 70_000, 150_000, 1 << 30} {
		var joined []byte
		var got int
		chunks := 0
		err := Split(data, max, func(chunk []byte, off int) error {
			chunks++
			if off != len(joined) {
				t.Fatalf("max %d: chunk at %d, want %d", max, off, len(joined))
			}
			joined = append(joined, chunk...)
			ups, err := collect(t, chunk) // every chunk is whole frames
			if err != nil {
				t.Fatalf("max %d: chunk at %d: %v", max, off, err)
			}
			got += len(ups)
			return nil
		})
		if err != nil || !bytes.Equal(joined, data) || got != len(want) {
			t.Fatalf("max %d: err %v, rejoined equal %v, %d updates of %d", max, err, bytes.Equal(joined, data), got, len(want))
		}
		if max == 1<<30 && chunks != 1 {
			t.Errorf("one chunk expected when everything fits, got %d", chunks)
		}
		t.Logf("max %d: %d chunks", max, chunks)
	}
	// A bad length prefix: the good frames come first, the rest as one chunk.
	bad := append(append([]byte{}, data...), 0xff, 0x01, 0x00)
	var last []byte
	_ = Split(bad, 100_000, func(chunk []byte, off int) error { last = chunk; return nil })
	if _, err := collect(t, last); err == nil {
		t.Fatal("the malformed tail should still fail to decode")
	}
}
