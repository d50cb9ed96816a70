package main

import (
	"runtime/debug"
	"testing"
)

func TestFallbackVersion(t *testing.T) {
	rev := []debug.BuildSetting{{Key: "vcs.revision", Value: "de2d1804f00dbeefcafe0123"}}
	dirty := append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: ""}}, true, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true, "1.4.0"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202201500-de2d1804f00d+dirty"}}, true, "0.0.0-20261202201500-de2d1804f00d+dirty"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev}, true, "dev-de2d1804f00d"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: dirty}, true, "dev-de2d1804f00d-dirty"},
	} {
		if got := fallbackVersion(tc.bi, tc.ok); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.bi, got, tc.want)
		}
	}
}

// TestVersionInPlainBuild: the test binary is a plain `go build` (no
// -ldflags): --version and the status page name it all the same.
func TestVersionInPlainBuild(t *testing.T) {
	out := helpOutput(t, "--version")
	if want := "mail_exporter, version dev"; len(out) < len(want) || out[:len(want)] != want {
		t.Errorf("--version of a plain build: %q", out)
	}
}
