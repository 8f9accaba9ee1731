package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/source"
)

// netFlags bound every network wait (source.Options.Timeouts and retries).
type netFlags struct {
	connect, read, metadata, retryWait time.Duration
	strictAuth                         bool
}

func (a *app) addGlobalFlags(pf *pflag.FlagSet) {
	pf.StringVar(&a.platform, "platform", "", "platform to select from a multi-platform image, os/arch[/variant] (default: this host's)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&a.insecure, "insecure", false, "allow plain HTTP and unverified TLS to registries (automatic for localhost)")
	pf.BoolVar(&a.daemon, "daemon", false, "read bare references from the Docker-API daemon at DOCKER_HOST")
	pf.BoolVar(&a.httpStats, "http-stats", false, "print registry request count and bytes received on stderr")
	_ = pf.MarkHidden("http-stats")
	pf.DurationVar(&a.net.connect, "connect-timeout", source.DefaultConnectTimeout, "bound on connecting to a registry or daemon (negative: none)")
	pf.DurationVar(&a.net.read, "read-timeout", source.DefaultHeaderTimeout, "bound on waiting for a response, and for each read of a body (negative: none)")
	pf.DurationVar(&a.net.metadata, "metadata-timeout", source.DefaultMetadataTimeout, "bound on fetching an image's manifests and config in all (negative: none)")
	pf.DurationVar(&a.net.retryWait, "retry-wait", source.DefaultMaxRetryWait, "most time one registry request may wait to be retried after 429/5xx (negative: never retry)")
	pf.BoolVar(&a.net.strictAuth, "strict-auth", false, "send registry credentials to the registry's own host only, never to a token service elsewhere")
}

// applyNet copies the network flags into source options; on a terminal a
// retry wait is announced, so a pause is never silent.
func (a *app) applyNet(opts *source.Options) {
	opts.Timeouts = source.Timeouts{Connect: a.net.connect, Header: a.net.read, Idle: a.net.read, Metadata: a.net.metadata}
	opts.MaxRetryWait = a.net.retryWait
	opts.StrictAuth = a.net.strictAuth
	if safetext.IsTerminal(a.stderr) {
		w := a.stderr
		opts.Waiting = func(wt source.Wait) { fmt.Fprintln(w, "strata: "+wt.String()) }
	}
}
