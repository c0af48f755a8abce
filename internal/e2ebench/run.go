package e2ebench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/decode"
	"github.com/cwstream/cwstream/internal/sample"
	"github.com/cwstream/cwstream/internal/series"
	"github.com/cwstream/cwstream/internal/streamtest"
)

// LoadBase decodes the updates of recorded payloads, the material Generate
// repeats.
func LoadBase(paths []string) ([]cw.Update, error) {
	var all []cw.Update
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var d decode.Decoder
		ups, err := streamtest.Collect(func(fn func(*cw.Update) error) error { return d.Decode(b, fn) })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, ups...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no updates in %v", paths)
	}
	return all, nil
}

// Expected returns the identity of every sample cfg makes of the raw
// object data, computed in process by the same decoder and series builder
// the replay runs: what the sink must receive.
func Expected(data []byte, cfg *config.Config) (map[key]struct{}, int, error) {
	want := make(map[key]struct{})
	b := series.New(cfg)
	var d decode.Decoder
	var dst []sample.Sample
	updates := 0
	err := d.Decode(data, func(u *cw.Update) error {
		updates++
		dst = b.Append(dst[:0], u)
		for i := range dst {
			want[key{dst[i].Hash, dst[i].T}] = struct{}{}
		}
		return nil
	})
	return want, updates, err
}

// Usage is what one replay process cost.
type Usage struct {
	User, Sys time.Duration
	MaxRSS    int64 // bytes
	Wall      time.Duration
	Stdout    string
}

// CPU is user+sys.
func (u Usage) CPU() time.Duration { return u.User + u.Sys }

// Replay runs `bin replay` on object against url with the configuration
// file cfgPath ("" for none), GOMAXPROCS=procs, and returns its rusage.
// With profile set, the replay writes a CPU profile there
// (CWSTREAM_CPUPROFILE).
func Replay(ctx context.Context, bin, object, cfgPath, url string, procs int, profile string) (Usage, error) {
	args := []string{"replay", "--to", url, "--no-sigv4"}
	if cfgPath != "" {
		args = append(args, "--config", cfgPath)
	}
	args = append(args, object)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	if profile != "" {
		cmd.Env = append(cmd.Env, "CWSTREAM_CPUPROFILE="+profile)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Usage{}, err
	}
	peak := watchPeak(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	hwm := peak()
	if err != nil {
		return Usage{}, fmt.Errorf("%s %s: %w\n%s%s", bin, strings.Join(args, " "), err, stdout.String(), tail(stderr.String(), 2000))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Usage{}, fmt.Errorf("no rusage for the replay on this system")
	}
	return Usage{
		User:   time.Duration(ru.Utime.Nano()),
		Sys:    time.Duration(ru.Stime.Nano()),
		MaxRSS: hwm,
		Wall:   wall,
		Stdout: strings.TrimSpace(stdout.String()),
	}, nil
}

// watchPeak polls the peak RSS (VmHWM) of process pid until the returned
// function is called, which returns the last value read, in bytes.
//
// The child's ru_maxrss cannot be used: os/exec starts it with
// clone(CLONE_VFORK|CLONE_VM), so until exec it runs in this process's
// memory, and Linux carries that peak across exec (it would report this
// process's RSS, the generated object included). VmHWM belongs to the
// memory the replay itself maps; it only grows, so polling misses at most
// the growth of the last interval.
func watchPeak(pid int) func() int64 {
	var mu sync.Mutex
	var last int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			if b, err := os.ReadFile(path); err == nil {
				if v := statusKB(b, "VmHWM:"); v > 0 {
					mu.Lock()
					last = max(last, v<<10)
					mu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// statusKB returns the value in kB of field in /proc/PID/status.
func statusKB(status []byte, field string) int64 {
	i := bytes.Index(status, []byte(field))
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(status[i+len(field):]))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseInt(f[0], 10, 64)
	return v
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Options configure Run.
type Options struct {
	Bin        string   // the cwstream binary
	Base       []string // recorded payloads to generate from
	Updates    []int    // one object per size
	Groups     int      // series groups (Generate)
	Configs    []string // configuration files; "" is none
	Procs      int      // GOMAXPROCS of the replay
	Runs       int      // replays per case; the least CPU is reported
	ProfileDir string   // CPU profiles of the replays go here when set
	Dir        string   // where the objects are written
	Keep       bool     // keep them there after the run
}

// Row is one measured case.
type Row struct {
	Updates  int
	Bytes    int64
	Config   string
	Usage    Usage
	Floor    Floor
	Recv     Received
	Expected int
	Missing  int
}

// Ratio is the replay's CPU over the floor's.
func (r Row) Ratio() float64 { return float64(r.Usage.CPU()) / float64(r.Floor.CPU()) }

// Run measures every object size with every configuration and writes a
// table to w. It fails when a sample did not arrive.
func Run(ctx context.Context, o Options, w io.Writer) ([]Row, error) {
	base, err := LoadBase(o.Base)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, n := range o.Updates {
		obj, written := Generate(nil, base, n, o.Groups)
		path := filepath.Join(o.Dir, fmt.Sprintf("bench-%d.bin", written))
		if err := os.WriteFile(path, obj, 0o644); err != nil {
			return rows, err
		}
		for _, cfgPath := range o.Configs {
			row, err := runCase(ctx, o, obj, path, written, cfgPath)
			if err != nil {
				return rows, err
			}
			rows = append(rows, row)
			printRow(w, row, len(rows) == 1)
		}
		obj = nil
		if !o.Keep {
			_ = os.Remove(path)
		}
	}
	printRatios(w, rows)
	for _, r := range rows {
		if r.Missing > 0 || r.Recv.Distinct != r.Expected || r.Recv.Err != nil {
			return rows, fmt.Errorf("%d updates, config %q: %d of %d samples missing, %d distinct received (%v)",
				r.Updates, r.Config, r.Missing, r.Expected, r.Recv.Distinct, r.Recv.Err)
		}
	}
	return rows, nil
}

func runCase(ctx context.Context, o Options, obj []byte, path string, updates int, cfgPath string) (Row, error) {
	cfg := config.Default()
	name := "no rules"
	if cfgPath != "" {
		var err error
		if cfg, err = config.Load(cfgPath); err != nil {
			return Row{}, err
		}
		name = filepath.Base(cfgPath)
	}
	want, decoded, err := Expected(obj, cfg)
	if err != nil {
		return Row{}, fmt.Errorf("expected samples: %w", err)
	}
	if decoded != updates {
		return Row{}, fmt.Errorf("the generated object decodes to %d updates, want %d", decoded, updates)
	}
	row := Row{Updates: updates, Bytes: int64(len(obj)), Config: name, Expected: len(want)}
	for run := 0; run < max(o.Runs, 1); run++ {
		sink, err := StartSink()
		if err != nil {
			return row, err
		}
		profile := ""
		if o.ProfileDir != "" {
			profile = filepath.Join(o.ProfileDir, fmt.Sprintf("replay-%d-%s-%d.pprof", updates, strings.TrimSuffix(name, ".yaml"), run))
			profile = strings.ReplaceAll(profile, " ", "")
		}
		u, err := Replay(ctx, o.Bin, path, cfgPath, sink.URL(), o.Procs, profile)
		recv := sink.Received()
		missing := sink.Missing(want)
		_ = sink.Close()
		if err != nil {
			return row, err
		}
		if run == 0 || u.CPU() < row.Usage.CPU() {
			row.Usage, row.Recv, row.Missing = u, recv, missing
		}
	}
	floor, err := MeasureFloor(obj, row.Recv.First, row.Recv.Raw, 3)
	if err != nil {
		return row, fmt.Errorf("floor: %w", err)
	}
	row.Floor = floor
	return row, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func printRow(w io.Writer, r Row, header bool) {
	if header {
		fmt.Fprintf(w, "%-8s %-9s %-14s %-22s %-22s %-6s %-9s %-7s %s\n",
			"updates", "object", "config", "replay cpu (user+sys)", "floor cpu (scan+snappy)", "ratio", "peak RSS", "wall", "samples arrived")
	}
	fmt.Fprintf(w, "%-8d %-9s %-14s %-22s %-22s %-6.2f %-9s %-7s %d of %d (%d requests, %s sent)\n",
		r.Updates, Size(r.Bytes), r.Config,
		fmt.Sprintf("%s (%s+%s)", secs(r.Usage.CPU()), secs(r.Usage.User), secs(r.Usage.Sys)),
		fmt.Sprintf("%s (%s+%s)", secs(r.Floor.CPU()), secs(r.Floor.Scan), secs(r.Floor.Snappy)),
		r.Ratio(), Size(r.Usage.MaxRSS), secs(r.Usage.Wall),
		r.Expected-r.Missing, r.Expected, r.Recv.Requests, Size(r.Recv.Wire))
}

// printRatios prints, per object, each configuration's CPU over the first
// configuration's (the rules' cost end to end).
func printRatios(w io.Writer, rows []Row) {
	for i := 1; i < len(rows); i++ {
		if rows[i].Updates == rows[i-1].Updates && rows[i-1].Config == "no rules" {
			fmt.Fprintf(w, "%d updates: %s costs %.2f× no rules in replay CPU\n", rows[i].Updates, rows[i].Config,
				float64(rows[i].Usage.CPU())/float64(rows[i-1].Usage.CPU()))
		}
	}
}
