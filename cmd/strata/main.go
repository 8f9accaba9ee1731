// Command strata reads a container image back into where it came from:
// the Dockerfile that built it, its layers, its base image, and how it
// differs from another image. This package only wires flags to packages.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// globals are the flags every verb shares.
type globals struct {
	platform  string
	output    string
	insecure  bool
	daemon    bool
	httpStats bool
}

// stats counts registry traffic when --http-stats is given (benchmarks).
var stats source.HTTPStats

var flags globals

// rootCmd is package-level so each verb's file registers itself in init().
var rootCmd = &cobra.Command{
	Use:           "strata",
	Short:         "Read a container image back into the Dockerfile, layers and base image that made it",
	SilenceUsage:  true,
	SilenceErrors: true,
	Long: `strata reads any container image — in a registry, a Docker-API daemon, a
docker save / oci-archive tarball or an OCI layout — and tells where it came from.

Image references:
  nginx, nginx:1.25, ghcr.io/o/r@sha256:…   registry (Docker-style normalisation)
  docker-daemon:REF  (or --daemon REF)       Docker Engine / podman API at DOCKER_HOST
  ./img.tar[.gz|.zst|.xz|.bz2][:REF]         docker save or oci-archive tarball
  ./dir  or  oci:DIR[:tag]                   OCI image layout`,
}

func init() {
	pf := rootCmd.PersistentFlags()
	pf.StringVar(&flags.platform, "platform", "", "platform to select from a multi-platform image, os/arch[/variant] (default: this host's)")
	pf.StringVarP(&flags.output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&flags.insecure, "insecure", false, "allow plain HTTP and unverified TLS to registries (automatic for localhost)")
	pf.BoolVar(&flags.daemon, "daemon", false, "read bare references from the Docker-API daemon at DOCKER_HOST")
	pf.BoolVar(&flags.httpStats, "http-stats", false, "print registry request count and bytes received on stderr")
	_ = pf.MarkHidden("http-stats")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and maps errors to exit codes: 0 success, 1 error
// (or "different" for diff), 2 where a verb says so.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Cobra keeps a subcommand's first context; reset it so each run (tests
	// call run repeatedly) gets this run's context.
	for _, c := range rootCmd.Commands() {
		c.SetContext(ctx)
	}
	rootCmd.SetArgs(args)
	rootCmd.SetOut(stdout)
	rootCmd.SetErr(stderr)
	err := rootCmd.ExecuteContext(ctx)
	if flags.httpStats {
		fmt.Fprintf(stderr, "http: %d requests, %d bytes received\n", stats.Requests.Load(), stats.BytesReceived.Load())
	}
	if err == nil {
		return 0
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(stderr, "strata: "+oneLine(ec.err.Error()))
		}
		return ec.code
	}
	fmt.Fprintln(stderr, "strata: "+oneLine(err.Error()))
	return 1
}

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

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

// sourceOptions turns the global flags into source options.
func sourceOptions() (source.Options, error) {
	opts := source.Options{Insecure: flags.insecure, Daemon: flags.daemon}
	if flags.httpStats {
		opts.Stats = &stats
	}
	if flags.platform != "" {
		p, err := parsePlatform(flags.platform)
		if err != nil {
			return opts, err
		}
		opts.Platform = &p
	}
	return opts, nil
}

func parsePlatform(s string) (image.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return image.Platform{}, fmt.Errorf("--platform %q: want os/arch[/variant], e.g. linux/arm64/v8", s)
	}
	p := image.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// openImage opens a reference with the global flags. The caller closes it.
func openImage(ctx context.Context, ref string) (source.Source, error) {
	opts, err := sourceOptions()
	if err != nil {
		return nil, err
	}
	return source.Open(ctx, ref, opts)
}

// wantJSON reports whether -o json was asked for, rejecting unknown formats.
func wantJSON() (bool, error) {
	switch flags.output {
	case "text", "":
		return false, nil
	case "json":
		return true, nil
	}
	return false, fmt.Errorf("-o %q: want text or json", flags.output)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
