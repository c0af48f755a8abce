package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	guardBin := flag.String("guard", "", "the cfn-guard 3 binary")
	rules := flag.String("rules", "", "directory (or file) of cfn-guard rules")
	lintBin := flag.String("cfn-lint", "cfn-lint", "the cfn-lint command; empty skips cfn-lint")
	flag.Parse()
	if *guardBin == "" || *rules == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: templatecheck -guard BIN -rules DIR [-cfn-lint CMD] TEMPLATE...")
		os.Exit(2)
	}
	rep, err := Check(Options{Guard: *guardBin, Rules: *rules, Lint: *lintBin, Templates: flag.Args()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "templatecheck:", err)
		os.Exit(1)
	}
	rep.Print(os.Stdout)
	if !rep.OK() {
		os.Exit(1)
	}
}
