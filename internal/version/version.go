// Package version says which cwstream is running, from what the Go
// toolchain records in the binary (runtime/debug.ReadBuildInfo): the module
// version (a tag when built with `go install …@v1.2.3`, "(devel)" from a
// checkout), the VCS commit, its time and whether the work tree had
// uncommitted changes. A release build may set Version at link time:
//
//	go build -ldflags "-X github.com/cwstream/cwstream/internal/version.Version=v1.2.3"
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version is the release version set at link time; "dev" when it was not.
var Version = "dev"

// Info is what a binary knows about its build.
type Info struct {
	Version  string // Version if set at link time, else the module version, else "dev"
	Revision string // VCS commit; "" when the toolchain recorded none (go run, no git)
	Time     string // the commit's time (RFC 3339), as recorded by the toolchain
	Modified bool   // the work tree had uncommitted changes
	Go       string // the toolchain that built it
}

// Get reads the build information.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: Version}
	}
	return fromBuildInfo(bi, Version)
}

func fromBuildInfo(bi *debug.BuildInfo, linked string) Info {
	in := Info{Version: linked, Go: bi.GoVersion}
	if linked == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the short form: the version, or for a "dev" build the first
// 12 digits of the commit ("dev-0123456789ab", "+dirty" when modified).
func (in Info) String() string {
	if in.Version != "dev" || len(in.Revision) < 12 {
		return in.Version
	}
	s := "dev-" + in.Revision[:12]
	if in.Modified {
		s += "+dirty"
	}
	return s
}

// Long is every field, for `cwstream version` and the Lambda's cold start
// log: "v1.2.3 (commit 0123456789ab…, 2026-12-07T23:00:00Z, go1.26.8)".
func (in Info) Long() string {
	var parts []string
	if in.Revision != "" {
		c := "commit " + in.Revision
		if in.Modified {
			c += " with uncommitted changes"
		}
		parts = append(parts, c)
	} else {
		parts = append(parts, "no commit recorded (built outside a git checkout, or with -buildvcs=false)")
	}
	if in.Time != "" {
		parts = append(parts, "committed "+in.Time)
	}
	if in.Go != "" {
		parts = append(parts, "built with "+in.Go)
	}
	return fmt.Sprintf("%s (%s)", in.Version, strings.Join(parts, ", "))
}

// String returns Get().String(); remote-write requests carry it in their
// User-Agent.
func String() string { return Get().String() }

// UserAgent is the User-Agent cwstream sends.
func UserAgent() string { return "cwstream/" + String() }
