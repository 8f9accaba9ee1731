package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/internal/testenv"
)

// TestConnectToSilentServerEnds: a server that accepts the connection and
// never answers ends Open with an error naming the catalog, within the
// connect timeout, instead of a wait without end; and a DSN that sets no
// timeout gets the default one.
func TestConnectToSilentServerEnds(t *testing.T) {
	cfg, err := parseConfig("postgres://u@127.0.0.1:1/db")
	if err != nil || cfg.ConnectTimeout != DefaultConnectTimeout {
		t.Fatalf("default connect timeout %v (%v), want %v", cfg.ConnectTimeout, err, DefaultConnectTimeout)
	}
	ln := testenv.SilentListener(t)
	dsn := "postgres://u:secret@" + ln.Addr().String() + "/db?connect_timeout=1&sslmode=disable"
	done := make(chan error, 1)
	go func() {
		_, err := Open(context.Background(), dsn)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open of a silent server: %v; want an error naming the host, without the password", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Open still waits on a server that never answers")
	}
}
