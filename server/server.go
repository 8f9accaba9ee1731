// Package server is `strata serve`: MicroBadger reborn for any registry.
// It serves server-rendered pages (html/template, no scripts), a JSON API
// mirroring every page at /v1/…, an OpenAPI description, SVG badges at
// MicroBadger's paths with shields.io endpoint JSON beside them, and runs
// the crawler that keeps the catalog current (watch list polled with HEAD
// requests, webhook refreshes, a work queue in the catalog's store shared
// by every replica).
//
// Images are hostile input and so are the people naming them: registries
// on internal addresses are refused before any connection (source.Guard)
// unless allowed, upstream sizes and times are bounded, everything an
// image says is escaped by html/template under a Content-Security-Policy
// that allows no script at all, and clients are rate-limited.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// Config says how a Server runs. Zero values take the defaults noted.
type Config struct {
	// Catalog is the catalog pages read and the crawler writes (required).
	Catalog catalog.Catalog
	// AllowRegistries are HOST[:PORT] registries that may be on internal
	// addresses (--allow-registry).
	AllowRegistries []string
	// Platform is the platform shown by default (linux/amd64).
	Platform *image.Platform
	// Logger receives structured logs (default: slog.Default()).
	Logger *slog.Logger
	// TagTTL is how long a tag's digest is trusted before it is checked
	// again with a HEAD request (60s).
	TagTTL time.Duration
	// DigestTTL is how long an analysed digest is kept; its catalog
	// answers (base, identical images) are refreshed after it (10m).
	DigestTTL time.Duration
	// CacheSize is how many analysed images are kept in memory (1024).
	CacheSize int
	// UpstreamTimeout bounds one image's registry fetches (20s).
	UpstreamTimeout time.Duration
	// MaxMetadata caps any one registry response: manifest, config,
	// attestation (4 MiB).
	MaxMetadata int64
	// RateLimit is each client's sustained requests per second (50);
	// negative disables it. ColdRateLimit is each client's sustained
	// rate of requests that fetch from a registry (1 per second, burst 10).
	RateLimit     float64
	ColdRateLimit float64
	// Keychain supplies registry credentials; nil is anonymous: a public
	// server must not lend its operator's credentials to strangers.
	Keychain authn.Keychain
	// Crawl configures the crawler; Workers 0 disables it.
	Crawl CrawlConfig

	// IndexStore keeps the layer indexes the files and waste views read
	// (nil: a DirStore under the user cache directory, as the command
	// line keeps them, or none when there is no cache directory).
	IndexStore layerindex.Store
	// MaxLayerBytes bounds the layers (compressed, as the manifest sizes
	// them) of an image whose files or waste are asked for (1 GiB): a
	// larger image is refused with 413 before any layer is read.
	MaxLayerBytes int64
	// LayerJobs is how many images' layers are read at once (2); a request
	// that finds no free slot within UpstreamTimeout gets 503.
	LayerJobs int
	// FilesPageSize is how many paths one page of the files view lists
	// (1000).
	FilesPageSize int
}

// CrawlConfig configures the crawler.
type CrawlConfig struct {
	// Watch is added to the watch list at start.
	Watch []catalog.Watch
	// PollEvery is how often each watched repository's tags are checked
	// with HEAD requests (5m).
	PollEvery time.Duration
	// Workers index queued digests (0: no crawling in this process).
	Workers int
	// Name identifies this process in the queue's records (host:pid).
	Name string
	// MaxTags caps the tags polled per repository (500).
	MaxTags int
}

// Server serves pages, API and badges, and crawls.
type Server struct {
	cfg     Config
	cat     catalog.Catalog
	crawler catalog.Crawler
	log     *slog.Logger
	opts    source.Options
	guard   *source.Guard
	cache   *cache
	metrics *metrics
	limits  *limiter
	jobs    *layerJobs
	wake    chan struct{}
	handler http.Handler
	now     func() time.Time
}

// New builds a Server; Run starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Catalog == nil {
		return nil, errors.New("server: no catalog")
	}
	setDefaults(&cfg)
	s := &Server{cfg: cfg, cat: cfg.Catalog, log: cfg.Logger, wake: make(chan struct{}, 1), now: time.Now}
	s.crawler, _ = cfg.Catalog.(catalog.Crawler)
	s.guard = &source.Guard{Allow: cfg.AllowRegistries, MaxResponse: cfg.MaxMetadata}
	s.opts = source.Options{Platform: cfg.Platform, Keychain: cfg.Keychain, Guard: s.guard}
	s.metrics = newMetrics()
	s.cache = newCache(cfg.CacheSize, cfg.DigestTTL, cfg.TagTTL)
	s.limits = newLimiter(cfg.RateLimit, cfg.ColdRateLimit)
	s.jobs = newLayerJobs(cfg)
	s.handler = s.routes()
	return s, nil
}

func setDefaults(cfg *Config) {
	if cfg.Platform == nil {
		cfg.Platform = &image.Platform{OS: "linux", Architecture: "amd64"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TagTTL <= 0 {
		cfg.TagTTL = time.Minute
	}
	if cfg.DigestTTL <= 0 {
		cfg.DigestTTL = 10 * time.Minute
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1024
	}
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = 20 * time.Second
	}
	if cfg.MaxMetadata <= 0 {
		cfg.MaxMetadata = 4 << 20
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 50
	}
	if cfg.ColdRateLimit == 0 {
		cfg.ColdRateLimit = 1
	}
	if cfg.Keychain == nil {
		cfg.Keychain = authn.NewMultiKeychain()
	}
	setLayerDefaults(cfg)
	if cfg.Crawl.PollEvery <= 0 {
		cfg.Crawl.PollEvery = 5 * time.Minute
	}
	if cfg.Crawl.MaxTags <= 0 {
		cfg.Crawl.MaxTags = 500
	}
}

func setLayerDefaults(cfg *Config) {
	if cfg.IndexStore == nil {
		cfg.IndexStore = layerindex.DefaultStore()
	}
	if cfg.MaxLayerBytes <= 0 {
		cfg.MaxLayerBytes = 1 << 30
	}
	if cfg.LayerJobs <= 0 {
		cfg.LayerJobs = 2
	}
	if cfg.FilesPageSize <= 0 {
		cfg.FilesPageSize = 1000
	}
}

// Handler is the whole HTTP interface (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves on ln and crawls until ctx ends, then shuts down gracefully:
// no new connections, requests in flight finish (up to 10s), the crawl
// workers finish or abandon their jobs (a job abandoned is not lost: its
// transaction rolls back or its lease runs out, and another worker does it).
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.cfg.UpstreamTimeout + 15*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	crawlCtx, stopCrawl := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if err := s.startCrawl(ctx, crawlCtx, &wg); err != nil {
		stopCrawl()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		stopCrawl()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	stopCrawl()
	wg.Wait()
	return err
}
