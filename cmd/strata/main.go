// Command strata reads a container image back into where it came from:
// the Dockerfile that built it, its layers, its base image, and how it
// differs from another image. This package only wires flags to packages:
// each verb is a constructor taking the shared *app, so a test can build a
// fresh command tree per run and run verbs in parallel.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog/store"
	"github.com/strata-tool/strata/internal/progress"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/source"
)

func main() {
	limitMemory()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// app is one run of the CLI: the flags every verb shares and the streams.
type app struct {
	platform  string
	output    string
	insecure  bool
	daemon    bool
	httpStats bool
	catalog   string
	net       netFlags
	noCache   bool
	// indexSpec is --index-store; sharedIndexes its store, once opened.
	indexSpec     string
	sharedIndexes *store.IndexStore
	// meter counts the layer bytes read to index them (drawn on a
	// terminal's stderr only); emit clears its line before printing.
	meter     *progress.Meter
	meterOnce sync.Once

	format outputFormat
	stats  source.HTTPStats
	stdin  io.Reader
	stderr io.Writer
	// errorCode is the exit code of an error in the verb being run (2 for
	// diff, else 1).
	errorCode int
}

const rootLong = `strata reads any container image — in a registry, a Docker-API daemon, a
docker save / oci-archive tarball or an OCI layout — and tells where it came from.

Image references:
  nginx, nginx:1.25, ghcr.io/o/r@sha256:…   registry (Docker-style normalisation)
  docker-daemon:REF  (or --daemon REF)       Docker Engine / podman API at DOCKER_HOST
  ./img.tar[.gz|.zst|.xz|.bz2][:REF]         docker save or oci-archive tarball
  ./dir  or  oci:DIR[:tag]                   OCI image layout
  repo-info/repos/nginx/remote/1.25.md       a docker-library repo-info record

Exit status: 0 success, 1 error (diff: 1 = the images differ, 2 = error;
waste --ci: 1 = a rule failed, 2 = error).`

// newRootCmd builds the whole command tree for one run.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Read a container image back into the Dockerfile, layers and base image that made it",
		Long:          rootLong,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// -o is checked once, for every verb, before any work is done.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Annotations[errorExitAnnotation] == "2" {
				a.errorCode = 2
			}
			f, err := parseOutput(a.output)
			a.format = f
			return err
		},
	}
	root.SetVersionTemplate("strata {{.Version}}\n")
	a.addGlobalFlags(root.PersistentFlags())
	registerCompletions(root)

	root.AddCommand(
		newLayersCmd(a),
		newInspectCmd(a),
		newDockerfileCmd(a),
		newBaseCmd(a),
		newCatalogCmd(a),
		newDiffCmd(a),
		newFilesCmd(a),
		newCatCmd(a),
		newExtractCmd(a),
		newServeCmd(a),
		newPackagesCmd(a),
		newReferrersCmd(a),
		newWasteCmd(a),
		newSecretsCmd(a),
		newExploreCmd(a),
	)
	return root
}

// run executes the CLI and maps errors to exit codes: 0 success, 1 error
// (or "different" for diff), 2 where a verb says so. Everything printed in
// text goes through an escaping writer (package safetext): image text
// cannot drive the terminal, in output or in error lines.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	out, errw := safetext.NewWriter(stdout), safetext.NewWriter(stderr)
	defer func() { _, _ = out.Flush(), errw.Flush() }()
	a := &app{stdin: stdin, stderr: errw, errorCode: 1}
	defer recoverInternal(a, errw, &code)
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(out)
	root.SetErr(errw)
	cmd, err := root.ExecuteContextC(ctx)
	a.closeIndexStore()
	if a.httpStats {
		fmt.Fprintf(errw, "http: %d requests, %d bytes received\n", a.stats.Requests.Load(), a.stats.BytesReceived.Load())
	}
	if err == nil {
		return 0
	}
	code = 1
	if cmd != nil && cmd.Annotations[errorExitAnnotation] == "2" {
		code = 2
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err == nil {
			return ec.code
		}
		code = ec.code
	}
	fmt.Fprintln(errw, "strata: "+oneLine(err.Error()))
	return code
}

// errorExitAnnotation marks a verb whose errors exit 2 rather than 1
// (diff, where 1 means "the images differ"); flag and argument errors
// included.
const errorExitAnnotation = "strata.errorExit"

// exitCodeError lets a verb choose its exit code (diff: 1 = different,
// 2 = error). A nil err prints nothing.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// oneLine puts an error or note on one line, escaped (safetext.Line): it
// may quote image text or a registry's reply.
func oneLine(s string) string {
	return safetext.Line(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; "))
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// count renders "1 layer", "3 layers".
func count(n int, noun string) string { return fmt.Sprintf("%d %s%s", n, noun, plural(n)) }
