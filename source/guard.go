package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is wrapped when a Guard refuses to connect: the
// registry resolves to a loopback, private, link-local, metadata or other
// non-public address that no Allow entry names.
var ErrForbiddenAddress = errors.New("registry address not allowed")

// Guard limits where and how much a registry transport fetches. A server
// that opens images named by strangers sets one, so that a request for
// "169.254.169.254/x" or "10.0.0.5:5000/y" never reaches an internal
// service. The check runs in the dialer, after name resolution and before
// connect(2), so DNS names that resolve (or rebind) to internal addresses
// and redirects to them are refused too: no connection is ever opened.
//
// A Guard applies to the transport source builds itself; a caller that
// sets Options.Transport carries its own policy. With a Guard the
// environment's HTTP proxy is not used, since through a proxy the guard
// would see only the proxy's address.
type Guard struct {
	// Allow lists registries that may be internal, as HOST or HOST:PORT
	// (127.0.0.1:5000, registry.internal). A HOST entry allows every port.
	Allow []string
	// MaxResponse caps every response body (manifests, configs,
	// attestations); 0 means no cap beyond source's own.
	MaxResponse int64
	// DialTimeout bounds connecting (default: the transport's own connect
	// bound, else 10s).
	DialTimeout time.Duration
}

// CheckRegistry refuses a registry host (HOST or HOST:PORT, as in an
// image name) that the guard would refuse to dial, resolving names: a
// caller learns before opening anything. Dialing checks again, since a
// name may resolve differently then.
func (g *Guard) CheckRegistry(ctx context.Context, host string) error {
	if g == nil || g.allowed(host) {
		return nil
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if ip, err := netip.ParseAddr(h); err == nil {
		return forbidden(host, ip)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	if err != nil {
		return fmt.Errorf("registry %s: %w", host, err)
	}
	for _, ip := range ips {
		if err := forbidden(host, ip); err != nil {
			return err
		}
	}
	return nil
}

// allowed reports whether addr (HOST or HOST:PORT) is on the allow list.
func (g *Guard) allowed(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	for _, a := range g.Allow {
		ah, ap, err := net.SplitHostPort(a)
		if err != nil {
			ah, ap = a, ""
		}
		if strings.ToLower(strings.Trim(ah, "[]")) != host {
			continue
		}
		if ap == "" || ap == port || port == "" && (ap == "443" || ap == "80") {
			return true
		}
	}
	return false
}

// forbidden says why ip may not be dialled for what, or nil.
func forbidden(what string, ip netip.Addr) error {
	if why := classify(ip); why != "" {
		return fmt.Errorf("registry %s resolves to %s, a %s address (allow it with --allow-registry): %w", what, ip, why, ErrForbiddenAddress)
	}
	return nil
}

// classify names the kind of non-public address ip is, "" for a public one.
func classify(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		// 64:ff9b::/96 reaches the embedded IPv4 address through a NAT64.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		// 169.254.169.254 (cloud metadata) is link-local.
		return "link-local"
	case ip.IsPrivate():
		// fd00:ec2::254 (AWS metadata over IPv6) is in fc00::/7.
		return "private"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, r := range reserved {
		if r.p.Contains(ip) {
			return r.why
		}
	}
	return ""
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

var reserved = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	// 100.100.100.200 is Alibaba Cloud's metadata service.
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("100::/64"), "discard"},
}

// dialContext dials addr (HOST:PORT as in the URL, before resolution):
// an allowed registry directly, anything else through a dialer whose
// Control refuses non-public addresses before connect(2).
func (g *Guard) dialContext(ctx context.Context, network, addr string, connect time.Duration) (net.Conn, error) {
	timeout := g.DialTimeout
	if timeout <= 0 {
		timeout = connect
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !g.allowed(addr) {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("registry %s: dial %s: %w", addr, address, ErrForbiddenAddress)
			}
			return forbidden(addr, ap.Addr())
		}
	}
	return d.DialContext(ctx, network, addr)
}

// configure applies the guard to a transport source built (nil-safe);
// connect bounds dialing when the guard sets no DialTimeout (0: 10s).
func (g *Guard) configure(t *http.Transport, connect time.Duration) {
	if g == nil {
		return
	}
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return g.dialContext(ctx, network, addr, connect)
	}
	t.DialTLSContext = nil
}

// limit wraps next so no response body exceeds MaxResponse (nil-safe).
func (g *Guard) limit(next http.RoundTripper) http.RoundTripper {
	if g == nil || g.MaxResponse <= 0 {
		return next
	}
	return &limitTransport{next: next, max: g.MaxResponse}
}

type limitTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: response of %d bytes is over the %d-byte limit: %w", req.Method, req.URL.Redacted(), resp.ContentLength, t.max, ErrCorrupt)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.max, what: req.URL.Redacted()}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
	what string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%s: response over the size limit: %w", b.what, ErrCorrupt)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
