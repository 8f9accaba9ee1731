package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"
)

// csp allows nothing but the server's own stylesheet and images: no
// script of any origin, no inline style, no plugins, no framing, forms
// only to itself. Whatever an image's labels smuggle into a page cannot
// run even if escaping failed.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// metrics are the Prometheus metrics served at /metrics, in a registry
// of the server's own (so tests can build many servers).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	upstream *prometheus.CounterVec
	cache    *prometheus.CounterVec
	limited  prometheus.Counter
	crawl    *prometheus.CounterVec
	// fetched counts what image fetches asked a registry for: requests
	// and bytes received.
	fetched *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "strata_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_upstream_fetches_total",
			Help: "Registry fetches by kind (image, head, tags) and outcome."}, []string{"kind", "outcome"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_image_cache_total",
			Help: "Analysed-image cache lookups by result."}, []string{"result"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_rate_limited_total",
			Help: "Requests refused by the per-client rate limits."}),
		crawl: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_crawl_total",
			Help: "Crawl events: polls, queued digests, jobs done and failed."}, []string{"event"}),
	}
	m.fetched = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_upstream_fetched_total",
		Help: "What image fetches received from registries, by unit (requests, bytes)."}, []string{"unit"})
	m.reg.MustRegister(m.requests, m.duration, m.upstream, m.cache, m.limited, m.crawl, m.fetched,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// limiter keeps a token bucket per client for all requests, and one for
// requests that reach a registry.
type limiter struct {
	rps, cold float64
	mu        sync.Mutex
	clients   map[string]*client
	swept     time.Time
}

type client struct {
	all, cold *rate.Limiter
	seen      time.Time
}

func newLimiter(rps, cold float64) *limiter {
	return &limiter{rps: rps, cold: cold, clients: map[string]*client{}}
}

func (l *limiter) get(key string) *client {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.swept) > time.Minute {
		for k, c := range l.clients {
			if now.Sub(c.seen) > 5*time.Minute {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	c, ok := l.clients[key]
	if !ok {
		c = &client{
			all:  rate.NewLimiter(rate.Limit(max(l.rps, 0)), max(int(2*l.rps), 1)),
			cold: rate.NewLimiter(rate.Limit(max(l.cold, 0)), max(int(10*l.cold), 1)),
		}
		l.clients[key] = c
	}
	c.seen = now
	return c
}

var errTooManyRequests = errors.New("too many requests from this client: slow down")

type clientKey struct{}

// clientOf names the client a request comes from: its IP address (an
// IPv6 client by its /64, which one host usually owns whole).
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String()
	}
	return host
}

// allowCold spends one of the client's registry-fetch tokens; requests
// with no client (the crawler) are not limited.
func (s *Server) allowCold(ctx context.Context) error {
	key, ok := ctx.Value(clientKey{}).(string)
	if !ok || s.cfg.ColdRateLimit < 0 {
		return nil
	}
	if !s.limits.get(key).cold.Allow() {
		s.metrics.limited.Inc()
		return errTooManyRequests
	}
	return nil
}

// statusWriter records the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds what every response gets: security headers, the client's
// rate limit, panic recovery, a log line and metrics under route.
func (s *Server) wrap(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		sw := &statusWriter{ResponseWriter: w}
		key := clientOf(r)
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic", "route", route, "panic", p)
				if sw.code == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			// slog quotes every value: a path full of control characters
			// or fake log lines stays one escaped attribute.
			s.log.Debug("request", "method", r.Method, "path", r.URL.EscapedPath(), "status", sw.code, "client", key, "duration", d)
		}()
		if s.cfg.RateLimit > 0 && !s.limits.get(key).all.Allow() {
			s.metrics.limited.Inc()
			hd.Set("Retry-After", "1")
			http.Error(sw, errTooManyRequests.Error(), http.StatusTooManyRequests)
			return
		}
		h(sw, r.WithContext(context.WithValue(r.Context(), clientKey{}, key)))
	})
}

// serveRendered writes a rendered body with its ETag and cache policy,
// answering a matching If-None-Match with 304.
func serveRendered(w http.ResponseWriter, r *http.Request, rd *rendered, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", rd.ctype)
	h.Set("ETag", rd.etag)
	h.Set("Cache-Control", cacheControl)
	if match := r.Header.Get("If-None-Match"); match != "" {
		for _, m := range strings.Split(match, ",") {
			if m = strings.TrimSpace(m); m == rd.etag || m == "*" || m == "W/"+rd.etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(rd.body)))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Write(rd.body)
}

func newRendered(body []byte, ctype string) *rendered {
	sum := sha256.Sum256(body)
	return &rendered{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Cache policies: what a digest names never changes; a tag moves.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheDigest    = "public, max-age=600"
	cacheTag       = "public, max-age=60"
	cacheNone      = "no-store"
)
