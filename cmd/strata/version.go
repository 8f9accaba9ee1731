package main

import (
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is the module version and VCS revision the binary was built
// from, as Go records them: "v0.3.0", or "(devel) rev 1a2b3c4d5e6f
// (modified)" for a build from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
		v += " rev " + rev[:min(12, len(rev))] + modified
	}
	return v + " " + bi.GoVersion
}

// commonPlatforms are offered for --platform completion.
var commonPlatforms = []string{
	"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386",
	"linux/ppc64le", "linux/s390x", "linux/riscv64", "windows/amd64",
}

func registerCompletions(root *cobra.Command) {
	fixed := func(vals []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return vals, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("output", fixed(outputFormats))
	_ = root.RegisterFlagCompletionFunc("platform", fixed(commonPlatforms))
}
