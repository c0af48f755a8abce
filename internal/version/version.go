// Package version holds cwstream's version, set at link time:
//
//	go build -ldflags "-X github.com/cwstream/cwstream/internal/version.Version=v1.2.3"
package version

import "runtime/debug"

// Version is the release version, or "dev" for a build that did not set it.
var Version = "dev"

// String returns Version, or for "dev" builds the VCS revision when the Go
// toolchain recorded one.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return Version
}

// UserAgent is the User-Agent cwstream sends.
func UserAgent() string { return "cwstream/" + String() }
