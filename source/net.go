package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts bound every network wait. A zero field takes its default; a
// negative one disables that bound.
type Timeouts struct {
	// Connect bounds dialing and the TLS handshake (default 10 s).
	Connect time.Duration
	// Header bounds the wait from sending a request to its response
	// headers: a peer that accepts and never answers (default 30 s).
	Header time.Duration
	// Idle bounds each wait for more bytes of a response body: a stalled
	// stream, or a Content-Length the peer never fills (default 30 s).
	// Layer streams are bounded by this alone, never by a total.
	Idle time.Duration
	// Metadata bounds opening an image as a whole — manifests, index,
	// config, token exchanges, retries — so a peer dripping a manifest a
	// byte at a time ends too (default 2 min).
	Metadata time.Duration
}

// Default timeouts, as a user of docker or crane would expect them.
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultHeaderTimeout   = 30 * time.Second
	DefaultIdleTimeout     = 30 * time.Second
	DefaultMetadataTimeout = 2 * time.Minute
	// DefaultMaxRetryWait caps the waiting for one registry request to be
	// retried (Retry-After, back-off after 5xx).
	DefaultMaxRetryWait = 20 * time.Second
)

// withDefaults fills zero fields; negative ones become 0 ("no bound").
func (t Timeouts) withDefaults() Timeouts {
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Timeouts{
		Connect:  pick(t.Connect, DefaultConnectTimeout),
		Header:   pick(t.Header, DefaultHeaderTimeout),
		Idle:     pick(t.Idle, DefaultIdleTimeout),
		Metadata: pick(t.Metadata, DefaultMetadataTimeout),
	}
}

// TimeoutError is a bound of Options.Timeouts that ran out: one line
// naming the peer and what it did not do in time. It wraps ErrTimeout.
type TimeoutError struct {
	Peer  string        // "registry 127.0.0.1:5000", "Docker daemon unix:///…"
	What  string        // "response headers for GET /v2/…", "more bytes of …"
	After time.Duration // the bound that ran out
	Field string        // the Options field (Timeouts.Header, …)
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: no %s within %s (Options.%s)", e.Peer, e.What, e.After, e.Field)
}

func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// Timeout makes it a net.Error timeout for callers that ask.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary is false: go-containerregistry must not retry what timed out.
func (e *TimeoutError) Temporary() bool { return false }

// Wait describes a pause before a retry, for Options.Waiting.
type Wait struct {
	Host    string        // the registry host
	Status  int           // the HTTP status that asked for it (429, 503, …), 0 for a network error
	Delay   time.Duration // how long strata will wait
	Attempt int           // the retry about to be made, from 1
}

func (w Wait) String() string {
	why := fmt.Sprintf("HTTP %d", w.Status)
	if w.Status == 0 {
		why = "a network error"
	}
	return fmt.Sprintf("registry %s answered %s; retrying in %s (retry %d)", w.Host, why, w.Delay.Round(100*time.Millisecond), w.Attempt)
}

// baseTransport is the HTTP transport under every registry and daemon
// request when the caller gives none: connect and TLS bounded.
func baseTransport(t Timeouts, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	tr.DialContext = d.DialContext
	if dial != nil {
		tr.DialContext = dial
	}
	tr.TLSHandshakeTimeout = t.Connect
	return tr
}

// maxRedirects is Go's own limit, which go-containerregistry v0.22.1
// drops by installing its own redirect check.
const maxRedirects = 10

// deadlineTransport puts the header and idle bounds on every request and
// the redirect limit on every chain. Each request gets its own context,
// cancelled with a TimeoutError as cause when a bound runs out, so a
// blocked header wait or body read returns at once; the caller's context
// (Ctrl-C) cancels it too.
type deadlineTransport struct {
	next     http.RoundTripper
	peer     string // "Docker daemon HOST"; "" names the URL's host
	registry string // the registry host, to tell its token service apart
	header   time.Duration
	idle     time.Duration
}

func (t *deadlineTransport) peerOf(req *http.Request) string {
	switch {
	case t.peer != "":
		return t.peer
	case t.registry == "" || sameHost(req.URL.Host, t.registry, req.URL.Scheme):
		return "registry " + req.URL.Host
	}
	return fmt.Sprintf("host %s (token service or redirect of registry %s)", req.URL.Host, t.registry)
}

func (t *deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hops := 0
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		hops++
		if hops > maxRedirects {
			return nil, &kindError{kind: ErrCorrupt, msg: fmt.Sprintf("%s: stopped after %d redirects (a redirect loop? the last was to %s)", t.peerOf(req), maxRedirects, req.URL.Redacted())}
		}
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	what := req.Method + " " + req.URL.Path
	var timer *time.Timer
	if t.header > 0 {
		timer = time.AfterFunc(t.header, func() {
			cancel(&TimeoutError{Peer: t.peerOf(req), What: "response headers for " + what, After: t.header, Field: "Timeouts.Header"})
		})
	}
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if timer != nil {
		timer.Stop()
	}
	if err != nil {
		cause := context.Cause(ctx)
		cancel(nil)
		var te *TimeoutError
		if errors.As(cause, &te) {
			return nil, te
		}
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		cancel(nil)
		return resp, nil
	}
	resp.Body = &idleBody{
		ReadCloser: resp.Body, ctx: ctx, cancel: cancel, idle: t.idle,
		timeout: &TimeoutError{Peer: t.peerOf(req), What: "more bytes of the body of " + what, After: t.idle, Field: "Timeouts.Idle"},
	}
	return resp, nil
}

// idleBody bounds each Read: the timer runs only while a Read waits, so a
// caller busy between reads is never mistaken for a stalled peer.
type idleBody struct {
	io.ReadCloser
	ctx     context.Context
	cancel  context.CancelCauseFunc
	idle    time.Duration
	timeout *TimeoutError

	mu      sync.Mutex
	reading bool
	timer   *time.Timer
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.idle > 0 {
		b.mu.Lock()
		b.reading = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.idle, b.fire)
		} else {
			b.timer.Reset(b.idle)
		}
		b.mu.Unlock()
	}
	n, err := b.ReadCloser.Read(p)
	if b.idle > 0 {
		b.mu.Lock()
		b.reading = false
		b.timer.Stop()
		b.mu.Unlock()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		var te *TimeoutError
		if errors.As(context.Cause(b.ctx), &te) {
			return n, te
		}
	}
	return n, err
}

func (b *idleBody) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reading {
		b.cancel(b.timeout)
	}
}

func (b *idleBody) Close() error {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// metadataContext bounds opening an image as a whole. The returned error
// function turns an error into the TimeoutError when that bound (and not
// the caller) ended it.
func metadataContext(ctx context.Context, t Timeouts, peer string) (context.Context, context.CancelFunc, func(error) error) {
	if t.Metadata <= 0 {
		return ctx, func() {}, func(err error) error { return err }
	}
	te := &TimeoutError{Peer: peer, What: "complete image metadata (manifests and config)", After: t.Metadata, Field: "Timeouts.Metadata"}
	mctx, cancel := context.WithTimeoutCause(ctx, t.Metadata, te)
	return mctx, cancel, func(err error) error {
		if err == nil || ctx.Err() != nil {
			return err
		}
		var got *TimeoutError
		if errors.As(err, &got) {
			return err
		}
		if errors.Is(context.Cause(mctx), te) {
			return te
		}
		return err
	}
}
