package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestRegistryCredentials uses the real htpasswd registry: strata finds
// credentials where docker keeps them — auths in $DOCKER_CONFIG/config.json
// and credential helpers named there — and says where it looked when there
// are none.
func TestRegistryCredentials(t *testing.T) {
	host := testenv.Service(t, "STRATA_TEST_REGISTRY_AUTH")
	user := testenv.Service(t, "STRATA_TEST_REGISTRY_USER")
	pass := testenv.Service(t, "STRATA_TEST_REGISTRY_PASS")
	ctx := context.Background()

	ref := host + "/strata-test/private:v1"
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatalf("push to the htpasswd registry: %v", err)
	}
	cfg, _ := img.ConfigFile()

	open := func(t *testing.T, dockerConfig string) (source.Source, error) {
		t.Setenv("DOCKER_CONFIG", dockerConfig)
		t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dockerConfig, "none.json"))
		t.Setenv("XDG_RUNTIME_DIR", dockerConfig)
		// nil Keychain: the default one, as the CLI uses.
		return source.Open(ctx, ref, source.Options{})
	}
	writeConfig := func(t *testing.T, body string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	t.Run("no-credentials", func(t *testing.T) {
		_, err := open(t, writeConfig(t, `{}`))
		if !errors.Is(err, source.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		for _, say := range []string{host, "config.json", "docker login"} {
			if !strings.Contains(err.Error(), say) {
				t.Errorf("error %q does not say %q", err, say)
			}
		}
	})
	t.Run("config-auths", func(t *testing.T) {
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		src, err := open(t, writeConfig(t, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if got := src.Image().DiffIDs(); len(got) != 2 || got[0] != cfg.RootFS.DiffIDs[0].String() {
			t.Errorf("diff_ids %v", got)
		}
	})
	t.Run("credential-helper", func(t *testing.T) {
		bin := t.TempDir()
		helper := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho '{\"ServerURL\":\"'$server'\",\"Username\":%q,\"Secret\":%q}'\n", user, pass)
		if err := os.WriteFile(filepath.Join(bin, "docker-credential-strata-test"), []byte(helper), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		src, err := open(t, writeConfig(t, fmt.Sprintf(`{"credHelpers":{%q:"strata-test"}}`, host)))
		if err != nil {
			t.Fatal(err)
		}
		src.Close()
	})
}
