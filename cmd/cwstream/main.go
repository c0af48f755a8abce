// Command cwstream works with CloudWatch metric-stream data outside Lambda:
// it shows the series a payload becomes (dryrun), replays recorded or failed
// payloads into a Prometheus-compatible store (replay), and writes the
// dashboards and rules (dashboards, rules, grafana), and configures the ADOT
// collector sidecar of ECS tasks (adot-config).
//
// Each subcommand is thin glue over the packages under internal/, the same
// ones the Lambda runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/cwstream/cwstream/internal/version"
)

// env is what a subcommand may touch of the outside world; tests give
// their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     bool // stderr is a terminal: progress may be drawn
}

type command struct {
	name, usage string
	run         func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"dryrun", "print the samples payloads become, or a cardinality summary", runDryrun},
		{"cost", "estimate the monthly AWS bill of the stream recorded payloads show", runCost},
		{"replay", "write recorded or failed payloads to a remote-write store, through the Lambda handler", runReplay},
		{"dashboards", "write the Grafana dashboards as JSON models (--out DIR)", plain(runDashboards)},
		{"rules", "write the Prometheus rule file (--out FILE) or the alert manager definition", plain(runRules)},
		{"adot-config", "print the ADOT collector sidecar configuration or ECS container definition", plain(runADOTConfig)},
		{"grafana", "provision dashboards and the AMP data source into Amazon Managed Grafana (sync|remove)", plain(runGrafana)},
		{"version", "print the version, commit and toolchain this binary was built from (also --version)", runVersion},
	}
}

// runVersion prints what the binary knows of its build.
func runVersion(_ context.Context, e *env, _ []string) error {
	_, err := fmt.Fprintln(e.stdout, "cwstream", version.Get().Long())
	return err
}

// plain adapts a command that needs only its output writers.
func plain(run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error { return run(ctx, args, e.stdout, e.stderr) }
}

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fi, _ := os.Stderr.Stat()
	e := &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		isTerminal: fi != nil && fi.Mode()&os.ModeCharDevice != 0,
	}
	stopProfile := startProfile(os.Getenv("CWSTREAM_CPUPROFILE"), os.Stderr)
	status := run(ctx, e, os.Args[1:])
	stopProfile()
	os.Exit(status)
}

// startProfile starts a CPU profile into path when it is set (the hidden
// CWSTREAM_CPUPROFILE, which `make bench-e2e -cpuprofile` sets to profile
// the replay end to end), and returns what stops it.
func startProfile(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cwstream: CWSTREAM_CPUPROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// run executes one command line and returns the exit status: 0 on success,
// 1 when the command failed, 2 for a usage error.
func run(ctx context.Context, e *env, args []string) int {
	cmds := commands()
	usage := func() {
		fmt.Fprintln(e.stderr, "usage: cwstream COMMAND [flags] [args]\n\ncommands:")
		for _, c := range cmds {
			fmt.Fprintf(e.stderr, "  %-10s %s\n", c.name, c.usage)
		}
		fmt.Fprintln(e.stderr, "\nRun 'cwstream COMMAND -h' for a command's flags.")
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args[0] = "version"
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(e.stderr, "cwstream %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "cwstream: unknown command %q\n\n", args[0])
	usage()
	return 2
}

// newFlags returns a flag set that reports to e.stderr and does not exit.
func newFlags(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("cwstream "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: cwstream %s [flags] %s\n\nflags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and maps a bad flag to errUsage (the flag package has
// already said what is wrong).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
