package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// fallbackVersion names a binary built without .ci/build's -ldflags (a
// plain `go build` or `go install`): the module version Go records
// (a tag, or a pseudo-version from the VCS state), else "dev" with the
// revision when Go recorded one.
func fallbackVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return strings.TrimPrefix(v, "v")
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// setVersion fills in version.Version, which .ci/build sets with -ldflags,
// when it is empty: --version, mail_exporter_build_info and the status
// page then name the build instead of reading "". It runs once, first
// thing in main, as the linker would have.
func setVersion() {
	if version.Version == "" {
		version.Version = fallbackVersion(debug.ReadBuildInfo())
	}
}

func versionText() string { return version.Print("mail_exporter") }
