// Command otlp07gen is the format oracle for cwstream's OpenTelemetry 0.7 decoder.
//
// It builds CloudWatch Metric Streams payloads with the official OTLP v0.7.0 Go types
// (go.opentelemetry.io/proto/otlp v0.7.0), shaped the way CloudWatch shapes them (learned
// from real recorded deliveries, see -inspect), and writes them as test fixtures together
// with the oracle's own view of every data point (X.expected.json), produced by walking the
// official types. The main module's decoder (internal/otlp07) is tested against these pairs.
//
// It lives in its own module because the main module's dependency graph (prometheus)
// forces go.opentelemetry.io/proto/otlp v1.x, where the 0.7 message types no longer exist.
//
// Everything is deterministic: fixed timestamps, a fixed-seed splitmix64 generator, no map
// iteration in output paths, gzip headers without name or time. Regenerate with
//
//	cd tools/otlp07gen && go run . -out ../../testdata/payloads
//
// and `go test` in this directory fails when the committed files drift from the generator.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// Main holds the parsed command line, so tests can run the generator without flags.
type Main struct {
	Out     string    // directory the fixtures are written to
	Inspect string    // when set, summarise this raw payload file instead of generating
	Stdout  io.Writer // where -inspect and the generation summary are printed
}

func main() {
	m := Main{Stdout: os.Stdout}
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := m.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "otlp07gen:", err)
		os.Exit(1)
	}
}

// ParseFlags fills m from args.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("otlp07gen", flag.ContinueOnError)
	fs.StringVar(&m.Out, "out", "../../testdata/payloads", "directory to write the fixtures to")
	fs.StringVar(&m.Inspect, "inspect", "", "print a summary of a raw payload file (concatenated length-delimited frames) and exit")
	return fs.Parse(args)
}

// Run inspects or generates, as the flags say.
func (m *Main) Run() error {
	if m.Inspect != "" {
		b, err := os.ReadFile(m.Inspect)
		if err != nil {
			return err
		}
		return inspect(m.Stdout, m.Inspect, b)
	}
	files, err := generate()
	if err != nil {
		return err
	}
	if err := writeFiles(m.Out, files); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %d files to %s\n", len(files), m.Out)
	return nil
}
