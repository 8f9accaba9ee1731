package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/store"
	"github.com/strata-tool/strata/server"
)

// serveFlags are `strata serve`'s own flags.
type serveFlags struct {
	addr, watchFile, logLevel string
	allow, watch              []string
	poll, upstream            time.Duration
	workers                   int
	rate                      float64
	maxLayerBytes             int64
	layerJobs                 int
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve image pages, a JSON API and badges, and crawl watched repositories (MicroBadger reborn)",
		Long: `Serve, for any image in any registry: a page with its layers and the commands
that made them, the Dockerfile, labels (own and inherited), base ancestry and
identical images; its files (/images/REF/-/files, as strata files lists them)
and waste (/-/waste, as strata waste measures it), read inside its layers
(indexes kept in the catalog's database, shared by every replica); the
same as JSON under /v1/images/REF (OpenAPI at
/openapi.json); SVG badges at /badges/{image,version,commit,license,base}/REF.svg
and shields.io endpoint JSON at .json; Prometheus metrics at /metrics.

Registries on loopback, private, link-local and metadata addresses are refused
before any connection unless named with --allow-registry. Watched repositories
(--watch, --watch-file) are polled with HEAD requests and new digests indexed
into the catalog; POST /v1/refresh/REPO with the token from ` + "`strata serve token`" + `
polls one now. Several servers given one --catalog postgres://… share the
catalog and the work queue.`,
		Example: `  strata serve --addr 127.0.0.1:8080
  strata serve --allow-registry 127.0.0.1:5000 --watch 127.0.0.1:5000/team/app
  strata serve --catalog postgres://strata@db/strata --watch-file watch.txt --workers 4
  strata serve token --catalog postgres://strata@db/strata ghcr.io/o/app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runServe(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.StringArrayVar(&f.allow, "allow-registry", nil, "registry HOST[:PORT] that may be on an internal address (repeatable)")
	fl.StringArrayVar(&f.watch, "watch", nil, "repository (every tag) or REPO:TAG to crawl (repeatable)")
	fl.StringVar(&f.watchFile, "watch-file", "", "file of repositories to crawl, one per line")
	fl.DurationVar(&f.poll, "poll-interval", 5*time.Minute, "how often each watched repository's tags are checked")
	fl.DurationVar(&f.upstream, "upstream-timeout", 20*time.Second, "bound on one image's registry requests")
	fl.IntVar(&f.workers, "workers", 2, "crawl workers in this process (0: serve only)")
	fl.Float64Var(&f.rate, "rate-limit", 50, "requests per second per client (negative: no limit)")
	fl.Int64Var(&f.maxLayerBytes, "max-layer-bytes", 1<<30, "largest image (compressed layer bytes) the files and waste views read; larger: 413")
	fl.IntVar(&f.layerJobs, "layer-jobs", 2, "images whose layers are read at once for the files and waste views")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	a.addCatalogFlag(cmd)
	cmd.AddCommand(newServeTokenCmd(a))
	return cmd
}

func (a *app) runServe(ctx context.Context, f serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	watch, err := watchList(f)
	if err != nil {
		return err
	}
	opts, err := a.sourceOptions()
	if err != nil {
		return err
	}
	cat, where, err := a.openCatalog(ctx, true)
	if err != nil {
		return err
	}
	defer cat.Close()
	// Layer indexes live in the catalog's database, so replicas on one
	// PostgreSQL read each layer once between them (and the CLI's
	// --index-store can use what the server read).
	indexes, err := store.CatalogIndexStore(cat, 0)
	if err != nil {
		return err
	}
	defer indexes.Close()
	host, _ := os.Hostname()
	srv, err := server.New(server.Config{Catalog: cat, IndexStore: indexes, AllowRegistries: f.allow, Platform: opts.Platform, Logger: log, RateLimit: f.rate, UpstreamTimeout: f.upstream,
		MaxLayerBytes: f.maxLayerBytes, LayerJobs: f.layerJobs,
		Crawl: server.CrawlConfig{Watch: watch, PollEvery: f.poll, Workers: f.workers, Name: fmt.Sprintf("%s:%d", host, os.Getpid())}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	log.Info("catalog", "where", where)
	// SIGTERM as well as Ctrl-C: a service manager stops servers so.
	ctx, stop := signalContext(ctx)
	defer stop()
	return srv.Run(ctx, ln)
}

func watchList(f serveFlags) ([]catalog.Watch, error) {
	var out []catalog.Watch
	for _, s := range f.watch {
		w, err := server.ParseWatch(s)
		if err != nil {
			return nil, fmt.Errorf("--watch: %w", err)
		}
		out = append(out, w)
	}
	if f.watchFile != "" {
		fh, err := os.Open(f.watchFile)
		if err != nil {
			return nil, fmt.Errorf("--watch-file: %w", err)
		}
		defer fh.Close()
		ws, err := server.ReadWatchList(fh)
		if err != nil {
			return nil, fmt.Errorf("--watch-file %s: %w", f.watchFile, err)
		}
		out = append(out, ws...)
	}
	return out, nil
}

func newServeTokenCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "token REPOSITORY",
		Short: "Make a new webhook token for a repository (and watch it); any earlier token stops working",
		Example: `  strata serve token 127.0.0.1:5000/team/app
  curl -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/refresh/127.0.0.1:5000/team/app`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, _, err := a.openCatalog(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer cat.Close()
			cr, ok := cat.(catalog.Crawler)
			if !ok {
				return fmt.Errorf("this catalog keeps no crawl state")
			}
			tok, err := server.NewToken(cmd.Context(), cr, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\nPOST /v1/refresh/%s with Authorization: Bearer %s\n", tok, args[0], tok)
			return nil
		},
	}
}
