package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/reference"
	"github.com/strata-tool/strata/source"
)

// startCrawl registers the watch list and starts the poller and workers
// (when Workers > 0); they stop when crawlCtx ends.
func (s *Server) startCrawl(ctx, crawlCtx context.Context, wg *sync.WaitGroup) error {
	c := s.cfg.Crawl
	if c.Workers <= 0 && len(c.Watch) == 0 {
		return nil
	}
	if s.crawler == nil {
		return fmt.Errorf("crawl: the catalog %T keeps no crawl state", s.cat)
	}
	if err := s.crawler.EnsureCrawl(ctx); err != nil {
		return err
	}
	if err := s.crawler.Watch(ctx, c.Watch...); err != nil {
		return err
	}
	if c.Workers <= 0 {
		return nil
	}
	wg.Add(1 + c.Workers)
	go func() { defer wg.Done(); s.pollLoop(crawlCtx) }()
	for i := 0; i < c.Workers; i++ {
		go func() { defer wg.Done(); s.workLoop(crawlCtx, fmt.Sprintf("%s/%d", c.Name, i)) }()
	}
	return nil
}

// idle waits d, or less when woken (a webhook arrived), or until ctx ends.
func (s *Server) idle(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-s.wake:
	case <-t.C:
	}
	return true
}

// pollLoop claims due watch entries one at a time and polls them.
func (s *Server) pollLoop(ctx context.Context) {
	for ctx.Err() == nil {
		// The lease outlasts a poll's requests; a poller that dies
		// leaves the repository due again when it ends.
		w, ok, err := s.crawler.ClaimPoll(ctx, s.now(), s.pollLease())
		if err != nil {
			s.log.Warn("crawl: claim poll", "error", err.Error())
		}
		if !ok || err != nil {
			if !s.idle(ctx, time.Second) {
				return
			}
			continue
		}
		problem := ""
		if err := s.poll(ctx, w); err != nil {
			problem = err.Error()
			s.log.Warn("crawl: poll", "repo", w.Repo, "error", problem)
		}
		s.metrics.crawl.WithLabelValues("poll").Inc()
		now := s.now()
		if err := s.crawler.PollDone(context.WithoutCancel(ctx), w, now, now.Add(s.cfg.Crawl.PollEvery), problem); err != nil {
			s.log.Warn("crawl: poll done", "error", err.Error())
		}
	}
}

// pollLease is how long a claimed poll stays claimed: a few upstream
// timeouts, a poll's requests being bounded by one each.
func (s *Server) pollLease() time.Duration {
	return min(s.cfg.Crawl.PollEvery, 3*s.cfg.UpstreamTimeout)
}

// poll reads a watched repository's tags (or its one tag) and HEADs each:
// a HEAD is not a pull, so polling costs no rate-limit quota; digests new
// for their tag are queued for the workers.
func (s *Server) poll(ctx context.Context, w catalog.Watch) error {
	n, err := reference.ParseName(w.Repo)
	if err != nil {
		return err
	}
	if err := s.guard.CheckRegistry(ctx, n.Registry()); err != nil {
		return err
	}
	tags := []string{w.Tag}
	if w.Tag == "" {
		tctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
		tags, err = source.Tags(tctx, n, s.opts, s.cfg.Crawl.MaxTags)
		cancel()
		s.metrics.upstream.WithLabelValues("tags", outcome(err)).Inc()
		if err != nil {
			return err
		}
	}
	var errs []error
	for _, t := range tags {
		d, err := s.head(ctx, n.WithTag(t))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		queued, err := s.crawler.SawTag(ctx, w.Repo, t, d, s.now())
		if err != nil {
			return err
		}
		if queued {
			s.metrics.crawl.WithLabelValues("queued").Inc()
			s.log.Info("crawl: queued", "repo", w.Repo, "tag", t, "digest", d)
		}
	}
	return errors.Join(errs...)
}

// workLoop runs queued jobs until ctx ends. A job's fetch has its own
// deadline, shorter than the queue's lease, so a live worker always
// finishes or gives a job back before anyone else may take it.
func (s *Server) workLoop(ctx context.Context, name string) {
	for ctx.Err() == nil {
		ok, err := s.crawler.Work(ctx, name, s.now(), s.index)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("crawl: work", "worker", name, "error", err.Error())
		}
		if !ok || err != nil {
			if !s.idle(ctx, 500*time.Millisecond) {
				return
			}
		}
	}
}

// index fetches one queued digest and returns its catalog entry.
func (s *Server) index(ctx context.Context, j catalog.Job) ([]catalog.Entry, error) {
	n, err := reference.ParseName(j.Repo + "@" + j.Digest)
	if err != nil {
		return nil, err
	}
	v, err := s.fetch(ctx, n.WithTag(j.Tag).WithDigest(j.Digest), *s.cfg.Platform)
	if err != nil {
		s.metrics.crawl.WithLabelValues("failed").Inc()
		return nil, err
	}
	e := catalog.FromImage(v.img, catalog.Familiar(n.Repository()), j.Tag)
	e.Source = n.WithTag(j.Tag).Familiar()
	s.metrics.crawl.WithLabelValues("indexed").Inc()
	s.log.Info("crawl: indexed", "repo", j.Repo, "tag", j.Tag, "digest", j.Digest)
	return []catalog.Entry{e}, nil
}

// NewToken makes a webhook token for repo and stores its hash, replacing
// any earlier one; the repository is watched from then on. The token
// itself is returned once and never stored.
func NewToken(ctx context.Context, c catalog.Crawler, repo string) (string, error) {
	n, err := reference.ParseName(repo)
	if err != nil {
		return "", err
	}
	if err := c.EnsureCrawl(ctx); err != nil {
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b[:])
	if err := c.Watch(ctx, catalog.Watch{Repo: n.Repository(), Tag: n.ExplicitTag()}); err != nil {
		return "", err
	}
	if err := c.SetToken(ctx, n.Repository(), hashToken(tok)); err != nil {
		return "", err
	}
	return tok, nil
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// refresh is the webhook: POST /v1/refresh/{repo} with the repository's
// token (Authorization: Bearer TOKEN, or ?token=) polls it now. A
// repository with no token is 404, a wrong token 403 (MicroBadger's
// answers).
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	n, err := parseName(r.PathValue("ref"))
	if err != nil {
		s.apiError(w, err)
		return
	}
	if s.crawler == nil {
		s.apiError(w, &httpError{http.StatusNotFound, "this server does not crawl"})
		return
	}
	tok := r.URL.Query().Get("token")
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		tok = strings.TrimSpace(b)
	}
	want, err := s.crawler.TokenHash(r.Context(), n.Repository())
	if err != nil {
		s.apiError(w, err)
		return
	}
	if want == "" {
		s.apiError(w, &httpError{http.StatusNotFound, "no webhook for this repository"})
		return
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(tok)), []byte(want)) != 1 {
		s.apiError(w, &httpError{http.StatusForbidden, "bad token"})
		return
	}
	if _, err := s.crawler.Poke(r.Context(), n.Repository()); err != nil {
		s.apiError(w, err)
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.metrics.crawl.WithLabelValues("webhook").Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheNone)
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "{\"status\":\"queued\"}\n")
}
