package source

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// HTTPStats counts what a registry transport asked for and received.
type HTTPStats struct {
	Requests      atomic.Int64
	BytesReceived atomic.Int64
}

// registryTransport is the innermost round tripper of a registry: bounded
// connect, header and idle waits, a redirect limit, retries under one
// budget, strict auth and counting. go-containerregistry wraps it with
// auth; its own retries are switched off (retryOptions) so that every wait
// happens here, where the budget, Ctrl-C and the Waiting hook apply.
func registryTransport(opts Options, registry string, insecure bool) http.RoundTripper {
	t := opts.Timeouts.withDefaults()
	base := opts.Transport
	if base == nil {
		tr := baseTransport(t, nil)
		if insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for --insecure
		}
		opts.Guard.configure(tr, t.Connect)
		base = opts.Guard.limit(tr)
	}
	var next http.RoundTripper = &deadlineTransport{next: base, registry: registry, header: t.Header, idle: t.Idle}
	if opts.StrictAuth {
		next = &strictAuthTransport{next: next, registry: registry}
	}
	wait := opts.MaxRetryWait
	if wait == 0 {
		wait = DefaultMaxRetryWait
	}
	return &politeTransport{next: next, stats: opts.Stats, maxWait: wait, waiting: opts.Waiting}
}

// retryOptions turn off go-containerregistry's retries (one attempt): its
// back-off sleeps ignore the context and stack on top of ours.
func retryOptions() []remote.Option {
	return []remote.Option{
		remote.WithRetryBackoff(remote.Backoff{Duration: time.Second, Factor: 1, Steps: 1}),
		remote.WithRetryStatusCodes(),
	}
}

// politeTransport retries what a registry says will pass — 408, 429, 5xx
// and connection resets — honouring Retry-After, on GET and HEAD only, and
// spends at most maxWait waiting for one request (Retry-After: 60 on every
// attempt would otherwise be minutes). It counts requests and bytes.
type politeTransport struct {
	next    http.RoundTripper
	stats   *HTTPStats
	maxWait time.Duration // < 0: never retry
	waiting func(Wait)
}

// backoff is the wait before retry n (from 1) when the peer names none.
// 0.5 s, 1.5 s, 4.5 s: go-containerregistry's 1 s × 3 steps, halved.
func backoff(n int) time.Duration {
	d := 500 * time.Millisecond
	for ; n > 1; n-- {
		d *= 3
	}
	return d
}

const maxAttempts = 4

func (t *politeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err == nil && t.stats != nil {
			// Counted once answered: go-containerregistry's https probe of
			// a plain-http loopback registry never reaches it.
			t.stats.Requests.Add(1)
		}
		delay, status, asked, retry := t.retryable(req, resp, err, attempt)
		if !retry {
			if err != nil {
				return nil, err
			}
			if t.stats != nil {
				resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.stats.BytesReceived}
			}
			return resp, nil
		}
		if t.maxWait < 0 || waited+delay > t.maxWait {
			if asked {
				drain(resp)
				already := ""
				if waited > 0 {
					already = fmt.Sprintf(" after %s of waiting", waited)
				}
				return nil, &kindError{kind: ErrRateLimited, msg: fmt.Sprintf(
					"registry %s answered HTTP %d to %s %s%s, asking to retry in %s; strata waits at most %s for one request (Options.MaxRetryWait)",
					req.URL.Host, status, req.Method, req.URL.Path, already, delay, max(t.maxWait, 0))}
			}
			if err != nil {
				return nil, err
			}
			return resp, nil // the registry's own answer, reported as such
		}
		if resp != nil {
			drain(resp)
		}
		if t.waiting != nil {
			t.waiting(Wait{Host: req.URL.Host, Status: status, Delay: delay, Attempt: attempt})
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
			waited += delay
		case <-req.Context().Done():
			timer.Stop()
			return nil, context.Cause(req.Context())
		}
	}
}

// retryable decides whether an attempt is retried, after how long, and
// whether the peer asked for that delay (Retry-After).
func (t *politeTransport) retryable(req *http.Request, resp *http.Response, err error, attempt int) (delay time.Duration, status int, asked, retry bool) {
	if attempt >= maxAttempts || (req.Method != http.MethodGet && req.Method != http.MethodHead) || req.Context().Err() != nil {
		return 0, 0, false, false
	}
	if err != nil {
		// Resets and early EOFs pass; timeouts, refusals, DNS failures and
		// redirect loops would only repeat.
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return backoff(attempt), 0, false, true
		}
		return 0, 0, false, false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusRequestTimeout,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return d, resp.StatusCode, true, true
		}
		return backoff(attempt), resp.StatusCode, false, true
	}
	return 0, 0, false, false
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil && secs >= 0 {
		if secs > 1<<20 {
			secs = 1 << 20 // no overflow; any such wait is over budget anyway
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// strictAuthTransport keeps credentials on the registry's own host. A
// registry names its token service in WWW-Authenticate; when that is
// another host, go-containerregistry (like docker) sends it the registry's
// username and password. Here a Basic Authorization header to another host
// is dropped (the token service then issues an anonymous token, enough
// for public images), and a POST — the OAuth2 form carrying a password or
// refresh token — is refused outright.
type strictAuthTransport struct {
	next     http.RoundTripper
	registry string
}

func (t *strictAuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if sameHost(req.URL.Host, t.registry, req.URL.Scheme) {
		return t.next.RoundTrip(req)
	}
	if req.Method == http.MethodPost {
		return nil, &kindError{kind: ErrUnauthorized, msg: fmt.Sprintf(
			"registry %s sends its credentials to a token service on another host, %s; strict auth (--strict-auth) keeps them on %s",
			t.registry, req.URL.Host, t.registry)}
	}
	if strings.HasPrefix(strings.ToLower(req.Header.Get("Authorization")), "basic ") {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return t.next.RoundTrip(req)
}

// sameHost compares host[:port] forms with default ports filled in.
func sameHost(a, b, scheme string) bool {
	norm := func(h string) string {
		if _, _, err := net.SplitHostPort(h); err == nil {
			return strings.ToLower(h)
		}
		port := "443"
		if scheme == "http" {
			port = "80"
		}
		return strings.ToLower(net.JoinHostPort(strings.Trim(h, "[]"), port))
	}
	return norm(a) == norm(b)
}
