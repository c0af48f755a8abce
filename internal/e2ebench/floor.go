package e2ebench

import (
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// node is one message of the OpenTelemetry metrics request (0.7 and 1.0
// merged) for Scan: the fields it descends into, by number.
type node struct{ sub [12]*node }

var (
	scanQuantile = &node{}
	scanKV       = &node{}
	scanLabel    = &node{} // 0.7 StringKeyValue: two strings
	scanAny      = &node{}
	scanPoint    = &node{}
	scanSummary  = &node{}
	scanMetric   = &node{}
	scanScope    = &node{}
	scanResource = &node{}
	scanRM       = &node{}
	scanRequest  = &node{}
)

func init() {
	scanAny.sub[6] = scanKV // kvlist_value.values are KeyValues
	scanKV.sub[2] = scanAny
	scanPoint.sub[1], scanPoint.sub[6], scanPoint.sub[7] = scanLabel, scanQuantile, scanKV
	scanSummary.sub[1] = scanPoint
	scanMetric.sub[11] = scanSummary
	scanScope.sub[2] = scanMetric
	scanResource.sub[1] = scanKV
	scanRM.sub[1], scanRM.sub[2] = scanResource, scanScope
	scanRequest.sub[1] = scanRM
}

// Scan walks every field of every frame of a raw object once, descending
// into every message of the metrics request: the least any decoder of the
// stream must do. It returns the number of fields seen.
func Scan(data []byte) (int, error) {
	fields := 0
	for off := 0; off < len(data); {
		n, l := protowire.ConsumeVarint(data[off:])
		if l < 0 || n > uint64(len(data)-off-l) {
			return fields, fmt.Errorf("frame at byte %d: bad length", off)
		}
		msg := data[off+l : off+l+int(n)]
		k, err := scan(msg, scanRequest)
		fields += k
		if err != nil {
			return fields, fmt.Errorf("frame at byte %d: %w", off, err)
		}
		off += l + int(n)
	}
	return fields, nil
}

func scan(b []byte, m *node) (int, error) {
	fields := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return fields, protowire.ParseError(n)
		}
		fields++
		if typ == protowire.BytesType && int(num) < len(m.sub) && m.sub[num] != nil {
			_, _, tl := protowire.ConsumeTag(b)
			v, _ := protowire.ConsumeBytes(b[tl:])
			k, err := scan(v, m.sub[num])
			fields += k
			if err != nil {
				return fields, err
			}
		}
		b = b[n:]
	}
	return fields, nil
}

// Floor is the floor's measured work.
type Floor struct {
	Scan, Snappy time.Duration // CPU (user+sys) of the thread
	Fields       int           // fields scanned
	Compressed   int64         // bytes snappy made
}

// CPU is the floor's whole CPU time.
func (f Floor) CPU() time.Duration { return f.Scan + f.Snappy }

// MeasureFloor scans data once and snappy-compresses body again and again
// until total bytes went through, as the replay compresses its requests,
// on one locked OS thread whose CPU time (RUSAGE_THREAD) it reports; the
// best of runs is kept, since a busy machine only ever adds time.
func MeasureFloor(data, body []byte, total int64, runs int) (Floor, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var best Floor
	var dst []byte
	if len(body) > 0 {
		dst = make([]byte, snappy.MaxEncodedLen(len(body)))
	}
	for r := 0; r < max(runs, 1); r++ {
		var f Floor
		t0 := threadCPU()
		n, err := Scan(data)
		if err != nil {
			return Floor{}, err
		}
		t1 := threadCPU()
		for sent := int64(0); len(body) > 0 && sent < total; sent += int64(len(body)) {
			f.Compressed += int64(len(snappy.Encode(dst, body)))
		}
		t2 := threadCPU()
		f.Fields, f.Scan, f.Snappy = n, t1-t0, t2-t1
		if r == 0 || f.CPU() < best.CPU() {
			best = f
		}
	}
	return best, nil
}

// rusageThread is Linux's RUSAGE_THREAD: the calling thread's usage.
const rusageThread = 1

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return rusageCPU(&ru)
}

func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
