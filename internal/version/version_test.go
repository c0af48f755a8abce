package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-07T23:00:00Z"}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name        string
		main        string
		linked      string
		settings    []debug.BuildSetting
		short, long string
	}{
		{"checkout build", "(devel)", "dev", vcs("false"), "dev-0123456789ab",
			"dev (commit " + rev + ", committed 2026-12-07T23:00:00Z, built with go1.26.8)"},
		{"uncommitted changes", "(devel)", "dev", vcs("true"), "dev-0123456789ab+dirty",
			"dev (commit " + rev + " with uncommitted changes, committed 2026-12-07T23:00:00Z, built with go1.26.8)"},
		{"go install of a tag", "v1.4.0", "dev", nil, "v1.4.0",
			"v1.4.0 (no commit recorded (built outside a git checkout, or with -buildvcs=false), built with go1.26.8)"},
		{"linked version wins", "v1.4.0", "v1.5.0-rc.1", vcs("false"), "v1.5.0-rc.1",
			"v1.5.0-rc.1 (commit " + rev + ", committed 2026-12-07T23:00:00Z, built with go1.26.8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/cwstream/cwstream", Version: tt.main}, Settings: tt.settings}
			in := fromBuildInfo(bi, tt.linked)
			if got := in.String(); got != tt.short {
				t.Errorf("String() = %q, want %q", got, tt.short)
			}
			if got := in.Long(); got != tt.long {
				t.Errorf("Long() = %q, want %q", got, tt.long)
			}
		})
	}
}

// The test binary has build info too: Get reads it.
func TestGet(t *testing.T) {
	in := Get()
	if in.Version == "" || !strings.HasPrefix(in.Go, "go") {
		t.Fatalf("Get() = %+v", in)
	}
	if ua := UserAgent(); ua != "cwstream/"+in.String() {
		t.Errorf("UserAgent() = %q", ua)
	}
}
