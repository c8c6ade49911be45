package tsuna

import (
	"runtime/debug"
	"testing"
)

// TestVersionNamesTheCommit guards issue 10 item 11: a build from a git
// clone names its commit, not just "devel".
func TestVersionNamesTheCommit(t *testing.T) {
	rev := "f23f7754f9969cb014d28b3d09dbb072f9241d96"
	bi := func(version string, modified bool) *debug.BuildInfo {
		m := "false"
		if modified {
			m = "true"
		}
		return &debug.BuildInfo{Main: debug.Module{Version: version},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: m}}}
	}
	for _, c := range []struct {
		set  string
		bi   *debug.BuildInfo
		want string
	}{
		{"", bi("(devel)", false), "devel+f23f7754f996"},
		{"", bi("(devel)", true), "devel+f23f7754f996.dirty"},
		{"", bi("v0.0.0-20261123152202-f23f7754f996+dirty", true), "v0.0.0-20261123152202-f23f7754f996+dirty"},
		{"v1.2.3", bi("(devel)", false), "v1.2.3+f23f7754f996"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"", nil, "devel"},
	} {
		if got := versionOf(c.set, c.bi); got != c.want {
			t.Errorf("versionOf(%q, %+v) = %q, want %q", c.set, c.bi, got, c.want)
		}
	}
}
