package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/provenance"
	"github.com/strata-tool/strata/reference"
	"github.com/strata-tool/strata/source"
)

// version is one platform image, analysed: everything its page, API
// document and badges show. It is immutable once built, apart from the
// renderings cached beside it.
type version struct {
	name     reference.Name // as requested: repository and tag or digest
	top      string         // the digest the request resolved to (index or manifest)
	platform string
	img      *image.Image
	steps    []history.Step
	df       *dockerfile.Result
	lin      *lineage.Result
	prov     *provenance.Provenance
	labels   []label
	// tags are the catalogued tags with this manifest digest.
	tags []string
	// identical are catalogued images with the same whole layer chain.
	identical []lineage.Name
	notes     []string
	fetched   time.Time
	requests  int64
	bytes     int64

	mu       sync.Mutex
	rendered map[string]*rendered
}

// rendered is a response body made once and served many times.
type rendered struct {
	body  []byte
	etag  string
	ctype string
}

// render returns the cached rendering under key, making it with make once.
func (v *version) render(key string, make func() (*rendered, error)) (*rendered, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, ok := v.rendered[key]; ok {
		return r, nil
	}
	r, err := make()
	if err != nil {
		return nil, err
	}
	if v.rendered == nil {
		v.rendered = map[string]*rendered{}
	}
	v.rendered[key] = r
	return r, nil
}

// cache holds analysed images by the digest a request resolved to, and
// which digest each tag was last seen at.
type cache struct {
	versions *expirable.LRU[string, *version]
	mu       sync.Mutex
	tags     map[string]tagSeen
	tagTTL   time.Duration
	maxTags  int
	flight   singleflight.Group
}

type tagSeen struct {
	top string
	at  time.Time
}

func newCache(size int, digestTTL, tagTTL time.Duration) *cache {
	return &cache{versions: expirable.NewLRU[string, *version](size, nil, digestTTL), tags: map[string]tagSeen{}, tagTTL: tagTTL, maxTags: size * 4}
}

func (c *cache) tag(key string) (tagSeen, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tags[key]
	return t, ok
}

func (c *cache) setTag(key, top string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tags) >= c.maxTags {
		// Crude but bounded: forget everything rather than grow.
		clear(c.tags)
	}
	c.tags[key] = tagSeen{top: top, at: at}
}

// version returns the analysed image n names on platform p: from the
// cache when the tag still points where it did (checked with one HEAD
// request once TagTTL has passed), else fetched — concurrent requests
// for one image share one fetch.
func (s *Server) version(ctx context.Context, n reference.Name, p image.Platform) (*version, error) {
	plat := p.String()
	if d := n.Digest(); d != "" {
		if v, ok := s.cache.versions.Get(n.Repository() + "@" + d + "|" + plat); ok {
			s.metrics.cache.WithLabelValues("hit").Inc()
			return v, nil
		}
		return s.fetch(ctx, n, p)
	}
	tk := n.Repository() + ":" + n.Tag() + "|" + plat
	if t, ok := s.cache.tag(tk); ok {
		fresh := s.now().Sub(t.at) < s.cache.tagTTL
		if !fresh {
			if err := s.allowCold(ctx); err != nil {
				return nil, err
			}
			top, err := s.head(ctx, n)
			if err != nil {
				return nil, err
			}
			fresh = top == t.top
			if fresh {
				s.cache.setTag(tk, top, s.now())
			}
		}
		if v, ok := s.cache.versions.Get(n.Repository() + "@" + t.top + "|" + plat); ok && fresh {
			s.metrics.cache.WithLabelValues("hit").Inc()
			return v, nil
		}
	}
	v, err := s.fetch(ctx, n, p)
	if err != nil {
		return nil, err
	}
	s.cache.setTag(tk, v.top, v.fetched)
	return v, nil
}

func (s *Server) head(ctx context.Context, n reference.Name) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	d, _, err := source.Head(ctx, n, s.opts)
	s.metrics.upstream.WithLabelValues("head", outcome(err)).Inc()
	return d, err
}

// fetch opens and analyses an image: manifest (through the index) and
// config, plus the provenance attestation when the index has one.
func (s *Server) fetch(ctx context.Context, n reference.Name, p image.Platform) (*version, error) {
	if err := s.guard.CheckRegistry(ctx, n.Registry()); err != nil {
		return nil, err
	}
	if err := s.allowCold(ctx); err != nil {
		return nil, err
	}
	s.metrics.cache.WithLabelValues("miss").Inc()
	key := n.String() + "|" + p.String()
	res, err, _ := s.cache.flight.Do(key, func() (any, error) {
		// Detached from the first caller, so its going away does not fail
		// the others waiting on the same fetch; bounded all the same.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.UpstreamTimeout)
		defer cancel()
		v, err := s.analyse(fctx, n, p)
		s.metrics.upstream.WithLabelValues("image", outcome(err)).Inc()
		if err != nil {
			return nil, err
		}
		s.cache.versions.Add(n.Repository()+"@"+v.top+"|"+p.String(), v)
		if v.img.ManifestDigest != v.top {
			s.cache.versions.Add(n.Repository()+"@"+v.img.ManifestDigest+"|"+p.String(), v)
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*version), nil
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// analyse does the work of fetch.
func (s *Server) analyse(ctx context.Context, n reference.Name, p image.Platform) (*version, error) {
	stats := &source.HTTPStats{}
	opts := s.opts
	opts.Platform, opts.Stats = &p, stats
	// docker:// names a registry image whatever the rest says: a
	// stranger's reference never opens a local file or a daemon.
	src, err := source.Open(ctx, "docker://"+n.String(), opts)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	img := src.Image()
	v := &version{name: n, img: img, platform: img.Platform.String(), fetched: s.now()}
	v.top = img.ManifestDigest
	if img.Index != nil && img.Index.Digest != "" {
		v.top = img.Index.Digest
	}
	prov, err := provenance.Read(ctx, src, img)
	if err != nil {
		v.notes = append(v.notes, "provenance attestation unreadable, ignored: "+err.Error())
	}
	v.prov = prov
	v.lin, err = lineage.Resolve(ctx, s.cat, lineageInput(img, prov))
	if err != nil {
		v.notes = append(v.notes, "catalog lookup failed, base named without it: "+err.Error())
		if v.lin, err = lineage.Resolve(ctx, nil, lineageInput(img, prov)); err != nil {
			return nil, fmt.Errorf("lineage: %w", err)
		}
	}
	if prov != nil {
		if text, name, ok := prov.Dockerfile(); ok {
			v.df = dockerfile.Exact(img, text, fmt.Sprintf("%s exactly as recorded in the image's BuildKit provenance attestation (%s)", name, prov.PredicateType))
		}
	}
	if v.df == nil {
		v.df = dockerfile.Render(img, dockerfile.Options{Base: &v.lin.From})
	}
	v.steps = history.Steps(img)
	v.labels = classifyLabels(img, v.df)
	v.identical = identical(n, img, v.lin)
	v.tags = s.catalogTags(ctx, img.ManifestDigest)
	v.requests, v.bytes = stats.Requests.Load(), stats.BytesReceived.Load()
	s.metrics.fetched.WithLabelValues("requests").Add(float64(v.requests))
	s.metrics.fetched.WithLabelValues("bytes").Add(float64(v.bytes))
	return v, nil
}

// lineageInput gathers what lineage.Resolve works from.
func lineageInput(img *image.Image, prov *provenance.Provenance) lineage.Input {
	in := lineage.Input{Image: img}
	if prov != nil {
		for _, m := range prov.BaseImages() {
			in.Materials = append(in.Materials, lineage.Material{Ref: m.Ref, Digest: m.Digest, Platform: m.Platform})
		}
	}
	return in
}

// identical lists catalogued images with this image's whole chain,
// leaving out this very image.
func identical(n reference.Name, img *image.Image, lin *lineage.Result) []lineage.Name {
	var out []lineage.Name
	for _, id := range lin.Identical {
		if id.Digest == img.ManifestDigest && reference.SameName(id.Ref, n.WithDigest("").Familiar()) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// catalogTags are the tags the catalog knows for a manifest digest.
func (s *Server) catalogTags(ctx context.Context, digest string) []string {
	if digest == "" {
		return nil
	}
	es, err := s.cat.List(ctx, catalog.Filter{Digest: digest, Limit: 50})
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range es {
		if e.Tag != "" && !seen[e.Name+":"+e.Tag] {
			seen[e.Name+":"+e.Tag] = true
			out = append(out, e.Name+":"+e.Tag)
		}
	}
	return out
}

// httpError is an error with the status a client gets for it.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// statusOf maps an error to an HTTP status: what the registry said, or
// what the guard refused. A private image is 404, as MicroBadger did, so
// a server never confirms that one exists.
func statusOf(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.Is(err, source.ErrForbiddenAddress):
		return http.StatusForbidden
	case errors.Is(err, source.ErrNotFound), errors.Is(err, source.ErrUnauthorized), errors.Is(err, source.ErrPlatformNotFound):
		return http.StatusNotFound
	case errors.Is(err, source.ErrUnsupported):
		return http.StatusUnprocessableEntity
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, errTooManyRequests):
		return http.StatusTooManyRequests
	}
	if strings.Contains(err.Error(), "not an image") {
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadGateway
}
