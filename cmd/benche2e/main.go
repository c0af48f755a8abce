// Command benche2e is `make bench-e2e`: it replays generated large raw
// objects with the real `cwstream replay` binary against a loopback
// counting sink and prints the CPU beside the floor measured in the same
// run, the ratio, the peak RSS and whether every sample arrived (see
// internal/e2ebench).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cwstream/cwstream/internal/e2ebench"
)

func main() {
	var (
		o       e2ebench.Options
		updates string
		base    string
		configs string
	)
	flag.StringVar(&o.Bin, "bin", "bin/cwstream", "the cwstream `binary` to replay with")
	flag.StringVar(&base, "base", "../shared/real-payloads/*.bin", "`glob` of recorded raw objects to generate from (testdata/payloads/*.bin when it matches nothing)")
	flag.StringVar(&updates, "updates", "200000,700000", "comma-separated `sizes` of the generated objects, in updates")
	flag.IntVar(&o.Groups, "groups", 4, "series groups: the object holds this many times the base's series")
	flag.StringVar(&configs, "configs", ",testdata/config/relabel5.yaml", "comma-separated configuration `files` to replay with (empty: none)")
	flag.IntVar(&o.Procs, "procs", 1, "GOMAXPROCS of the replay")
	flag.IntVar(&o.Runs, "runs", 1, "replays per case; the one with the least CPU is reported")
	flag.StringVar(&o.ProfileDir, "cpuprofile", "", "write the replays' CPU profiles into this `directory`")
	keep := flag.String("keep", "", "write the generated objects into this `directory` and keep them (default: a temporary one, removed)")
	flag.Parse()

	paths, _ := filepath.Glob(base)
	if len(paths) == 0 {
		paths, _ = filepath.Glob("testdata/payloads/*.bin")
		fmt.Fprintf(os.Stderr, "benche2e: %s matches nothing; generating from testdata/payloads instead\n", base)
	}
	o.Base = paths
	for _, s := range strings.Split(updates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(os.Stderr, "benche2e: -updates: %v\n", err)
			os.Exit(2)
		}
		o.Updates = append(o.Updates, n)
	}
	o.Configs = strings.Split(configs, ",")
	o.Dir, o.Keep = *keep, *keep != ""
	if !o.Keep {
		dir, err := os.MkdirTemp("", "benche2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, "benche2e:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before: %s", load)
	}
	fmt.Printf("base: %d recorded objects; replay GOMAXPROCS=%d; CPU is the replay process's rusage, the floor's its thread's, best of %d\n", len(paths), o.Procs, max(o.Runs, 1))
	_, err := e2ebench.Run(context.Background(), o, os.Stdout)
	if load, lerr := os.ReadFile("/proc/loadavg"); lerr == nil {
		fmt.Printf("load average after: %s", load)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benche2e:", err)
		os.Exit(1)
	}
}
