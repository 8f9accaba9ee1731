package source

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

func TestGuardClassify(t *testing.T) {
	for _, tc := range []struct {
		ip, want string
	}{
		{"127.0.0.1", "loopback"},
		{"127.1.2.3", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"64:ff9b::7f00:1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"192.168.1.1", "private"},
		{"fd00:ec2::254", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"100.100.100.200", "shared (carrier-grade NAT)"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"239.1.1.1", "multicast"},
		{"8.8.8.8", ""},
		{"2606:4700::1111", ""},
	} {
		if got := classify(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("classify(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestGuardAllow(t *testing.T) {
	g := &Guard{Allow: []string{"127.0.0.1:5000", "registry.internal", "[::1]:5001"}}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:5000", true},
		{"127.0.0.1:5001", false},
		{"127.0.0.1", false},
		{"registry.internal:443", true},
		{"REGISTRY.internal:8443", true},
		{"[::1]:5001", true},
		{"[::1]:5000", false},
	} {
		if got := g.allowed(tc.addr); got != tc.want {
			t.Errorf("allowed(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestGuardOpensNoConnection: opening an image on a loopback registry the
// guard does not allow fails with ErrForbiddenAddress, and a listener on
// that address records no connection — also when the name is a DNS name
// (localhost) that resolves to it.
func TestGuardOpensNoConnection(t *testing.T) {
	ln, accepted := testenv.CountingListener(t)
	port := ln.Addr().(*net.TCPAddr).Port
	g := &Guard{Allow: []string{"127.0.0.1:1"}}
	for _, host := range []string{ln.Addr().String(), "localhost:" + strconv.Itoa(port)} {
		_, err := Open(context.Background(), host+"/x/y:latest", Options{Guard: g})
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("open on %s: %v, want ErrForbiddenAddress", host, err)
		}
		if err := g.CheckRegistry(context.Background(), host); !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("CheckRegistry(%s) = %v", host, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the listener accepted %d connections; want none", n)
	}
	// The same registry, allowed, is reached.
	g.Allow = []string{ln.Addr().String()}
	_, _ = Open(context.Background(), ln.Addr().String()+"/x/y:latest", Options{Guard: g})
	if accepted.Load() == 0 {
		t.Errorf("an allowed registry was never dialled")
	}
}
