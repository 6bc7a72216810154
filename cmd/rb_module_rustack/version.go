package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/codec"
)

// Set at build time by scripts/package.sh with -ldflags "-X main.commit=...
// -X main.buildDate=..." (beside main.version in root.go). A plain go build
// leaves them empty and buildInfo falls back to the VCS stamp of the Go
// toolchain, when there is one.
var (
	commit    = ""
	buildDate = ""
)

// versionInfo is what the version command and --version print.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	// ZstdEncoder is the encoder compressing zstd chunks: the C library in
	// a build with cgo, the Go package without (docs/benchmarks.md).
	ZstdEncoder string `json:"zstd_encoder"`
}

// buildInfo is this binary's version, commit, build date and Go version.
// An unknown commit or date reads "unknown".
func buildInfo() versionInfo {
	v := versionInfo{Version: version, Commit: commit, BuildDate: buildDate,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		ZstdEncoder: codec.ZstdEncoder()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		vcs := map[string]string{}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
		if v.Commit == "" && vcs["vcs.revision"] != "" {
			v.Commit = vcs["vcs.revision"]
			if vcs["vcs.modified"] == "true" {
				v.Commit += "-dirty"
			}
		}
		if v.BuildDate == "" {
			v.BuildDate = vcs["vcs.time"] // the commit's time: the closest a plain build knows
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	if v.BuildDate == "" {
		v.BuildDate = "unknown"
	}
	return v
}

// String is the text of the version command and of --version.
func (v versionInfo) String() string {
	return fmt.Sprintf("rb_module_rustack %s\ncommit      %s\nbuilt       %s\ngo          %s %s\nzstd        %s\n",
		v.Version, v.Commit, v.BuildDate, v.GoVersion, v.Platform, v.ZstdEncoder)
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version, commit, build date and Go version (same as --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				return a.printJSON(buildInfo())
			}
			_, err := fmt.Fprint(a.stdout, buildInfo())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
