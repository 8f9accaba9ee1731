package reference

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseName(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		in, canonical, familiar, familiarRepo, tag string
	}{
		{"nginx", "index.docker.io/library/nginx:latest", "nginx", "nginx", "latest"},
		{"nginx:1.25", "index.docker.io/library/nginx:1.25", "nginx:1.25", "nginx", "1.25"},
		{"docker.io/library/nginx:1.25", "index.docker.io/library/nginx:1.25", "nginx:1.25", "nginx", "1.25"},
		{"index.docker.io/library/nginx", "index.docker.io/library/nginx:latest", "nginx", "nginx", "latest"},
		{"registry-1.docker.io/library/nginx:1", "index.docker.io/library/nginx:1", "nginx:1", "nginx", "1"},
		{"bitnami/redis", "index.docker.io/bitnami/redis:latest", "bitnami/redis", "bitnami/redis", "latest"},
		{"ghcr.io/o/r@" + d, "ghcr.io/o/r@" + d, "ghcr.io/o/r@" + d, "ghcr.io/o/r", ""},
		{"ghcr.io/o/r:v1@" + d, "ghcr.io/o/r:v1@" + d, "ghcr.io/o/r:v1@" + d, "ghcr.io/o/r", "v1"},
		{"127.0.0.1:5000/strata-test/parent:podman", "127.0.0.1:5000/strata-test/parent:podman", "127.0.0.1:5000/strata-test/parent:podman", "127.0.0.1:5000/strata-test/parent", "podman"},
		{"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x", "localhost:5000/x", "latest"},
	} {
		n, err := ParseName(c.in)
		if err != nil {
			t.Errorf("ParseName(%q): %v", c.in, err)
			continue
		}
		if got := n.String(); got != c.canonical {
			t.Errorf("ParseName(%q).String() = %q, want %q", c.in, got, c.canonical)
		}
		if got := n.Familiar(); got != c.familiar {
			t.Errorf("ParseName(%q).Familiar() = %q, want %q", c.in, got, c.familiar)
		}
		if got := n.FamiliarRepository(); got != c.familiarRepo {
			t.Errorf("ParseName(%q).FamiliarRepository() = %q, want %q", c.in, got, c.familiarRepo)
		}
		if got := n.Tag(); got != c.tag {
			t.Errorf("ParseName(%q).Tag() = %q, want %q", c.in, got, c.tag)
		}
	}
	for _, bad := range []string{"", "UPPER/case", "a:b:c:d", "x@sha256:short", "nginx:bad tag"} {
		if _, err := ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) succeeded, want an error", bad)
		}
	}
}

func TestSameName(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const e = "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"debian", "docker.io/library/debian:latest", true},
		{"debian:bullseye", "index.docker.io/library/debian:bullseye", true},
		{"registry-1.docker.io/library/debian", "debian", true},
		{"debian:bullseye", "debian:bookworm", false},
		{"debian", "ghcr.io/library/debian", false},
		{"debian@" + d, "debian:bullseye@" + d, true},
		{"debian@" + d, "debian@" + e, false},
		{"debian@" + d, "debian:bullseye", true}, // a pin says nothing of the tag
	} {
		if got := SameName(c.a, c.b); got != c.same {
			t.Errorf("SameName(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestMatchesStored(t *testing.T) {
	for _, c := range []struct {
		want, stored string
		match        bool
	}{
		{"v1", "docker.io/library/app:v1", true},
		{"v1", "app:v2", false},
		{"app:v1", "docker.io/library/app:v1", true},
		{"docker.io/library/app:v1", "app:v1", true},
		{"app", "app:latest", true},
		{"other:v1", "app:v1", false},
		{"127.0.0.1:5000/x:t", "127.0.0.1:5000/x:t", true},
	} {
		if got := MatchesStored(c.want, c.stored); got != c.match {
			t.Errorf("MatchesStored(%q, %q) = %v, want %v", c.want, c.stored, got, c.match)
		}
	}
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "img.tar")
	if err := os.WriteFile(archive, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		arg       string
		opts      Options
		transport Transport
		file, sel string
		name      string
	}{
		{arg: "nginx", transport: Registry, name: "index.docker.io/library/nginx:latest"},
		{arg: "docker://nginx:1", transport: Registry, name: "index.docker.io/library/nginx:1"},
		{arg: "nginx", opts: Options{Daemon: true}, transport: Daemon, name: "index.docker.io/library/nginx:latest"},
		{arg: "docker-daemon:abc123", transport: Daemon},
		{arg: archive, transport: Path, file: archive},
		{arg: archive + ":app:v1", transport: Path, file: archive, sel: "app:v1"},
		{arg: "oci:" + dir + ":v1", transport: Path, file: dir, sel: "v1"},
		{arg: "oci-archive:" + archive, transport: Path, file: archive},
	} {
		r, err := Parse(c.arg, c.opts)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.arg, err)
			continue
		}
		if r.Transport != c.transport || r.File != c.file || r.Select != c.sel {
			t.Errorf("Parse(%q) = %s file=%q select=%q, want %s file=%q select=%q", c.arg, r.Transport, r.File, r.Select, c.transport, c.file, c.sel)
		}
		if c.name != "" && r.Name.String() != c.name {
			t.Errorf("Parse(%q).Name = %s, want %s", c.arg, r.Name, c.name)
		}
	}
	for _, arg := range []string{"./nope.tar", "/no/such/dir", "nope.tar.gz", "oci:/no/such/layout", "x.md"} {
		if _, err := Parse(arg, Options{}); !errors.Is(err, ErrNoSuchPath) {
			t.Errorf("Parse(%q) = %v, want ErrNoSuchPath", arg, err)
		}
	}
}

func TestNotLocal(t *testing.T) {
	r, err := Parse("images/nope", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Transport != Registry || NotLocal(r) == "" {
		t.Errorf("images/nope: transport %s, hint %q; want a registry ref with a hint that no local path exists", r.Transport, NotLocal(r))
	}
	if r, _ := Parse("nginx", Options{}); NotLocal(r) != "" {
		t.Errorf("nginx: unexpected hint %q", NotLocal(r))
	}
}

func TestSameTag(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"debian", "debian:latest", true},
		{"docker.io/library/debian:bullseye@" + d, "debian:bullseye", true},
		{"debian@" + d, "debian:bullseye", false}, // no tag written is latest
		{"debian@" + d, "debian", true},
		{"127.0.0.1:5000/x/parent:classic", "127.0.0.1:5000/x/parent:buildah", false},
	} {
		if got := SameTag(c.a, c.b); got != c.same {
			t.Errorf("SameTag(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
