package reference

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Transport is where an image argument points.
type Transport string

// The transports strata reads. The strings appear in JSON output.
const (
	Registry Transport = "registry"
	Daemon   Transport = "daemon"
	// Path is an existing file or directory: an archive (docker save,
	// oci-archive, compressed or not), an OCI layout, skopeo's dir: format
	// or a repo-info file. Which one is decided by content when opened.
	Path Transport = "path"
)

// ErrNoSuchPath is wrapped when an argument is plainly a path (it starts
// with / ./ ../ ~ or has an archive extension, or a transport prefix says
// so) but nothing exists there.
var ErrNoSuchPath = errors.New("no such file or directory")

// Ref is an image argument resolved to its transport.
type Ref struct {
	// Arg is the argument as the user wrote it.
	Arg       string
	Transport Transport
	// Name is the image name for Registry and Daemon references.
	Name Name
	// DaemonRef is the daemon's own spelling (docker-daemon:IMAGE_ID works
	// too), for Daemon references.
	DaemonRef string
	// File is the file or directory of a Path reference; Select names one
	// image inside it (FILE:REF, oci:DIR:tag), "" for the only one.
	File   string
	Select string
	// Prefix is the transport prefix the user wrote ("oci-archive", …), "".
	Prefix string
}

// Options change how a bare argument is read.
type Options struct {
	// Daemon reads a bare name from the Docker-API daemon, not a registry.
	Daemon bool
}

// String renders the reference as the user should see it: the canonical
// name for registry images, else the argument.
func (r Ref) String() string {
	if r.Transport == Registry {
		return r.Name.String()
	}
	return r.Arg
}

// Parse resolves an image argument:
//
//	docker-daemon:REF          the Docker Engine API (or podman's)
//	docker://REF               a registry (skopeo style)
//	oci:DIR[:tag], oci-archive:FILE[:ref], docker-archive:FILE[:ref], dir:DIR
//	PATH[:ref]                 an existing file or directory
//	REF                        a registry, Docker-style; the daemon with Options.Daemon
//
// An argument that looks like a path but does not exist is an error
// wrapping ErrNoSuchPath, never a registry lookup; a bare name that could
// be either says so when the registry then fails (see NotLocal).
func Parse(arg string, opts Options) (Ref, error) {
	r := Ref{Arg: arg}
	if arg == "" {
		return r, fmt.Errorf("empty image reference")
	}
	if rest, ok := strings.CutPrefix(arg, "docker-daemon:"); ok {
		r.Transport, r.DaemonRef = Daemon, rest
		if n, err := ParseName(rest); err == nil {
			r.Name = n
		}
		return r, nil
	}
	if rest, ok := strings.CutPrefix(arg, "docker://"); ok {
		return registryRef(r, rest)
	}
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:", "dir:"} {
		if rest, ok := strings.CutPrefix(arg, prefix); ok {
			r.Prefix = strings.TrimSuffix(prefix, ":")
			p, sub := splitPath(rest)
			if p == "" {
				return r, fmt.Errorf("%s: %w", rest, ErrNoSuchPath)
			}
			r.Transport, r.File, r.Select = Path, p, sub
			return r, nil
		}
	}
	if p, sub := splitPath(arg); p != "" {
		r.Transport, r.File, r.Select = Path, p, sub
		return r, nil
	}
	if LooksLikePath(arg) {
		return r, fmt.Errorf("%s: %w", arg, ErrNoSuchPath)
	}
	if opts.Daemon {
		r.Transport, r.DaemonRef = Daemon, arg
		if n, err := ParseName(arg); err == nil {
			r.Name = n
		}
		return r, nil
	}
	return registryRef(r, arg)
}

func registryRef(r Ref, s string) (Ref, error) {
	n, err := ParseName(s)
	if err != nil {
		return r, fmt.Errorf("%q is not an image reference, file or directory: %w", s, err)
	}
	r.Transport, r.Name = Registry, n
	return r, nil
}

// NotLocal explains a registry failure for a bare argument that a user may
// have meant as a path (images/nope): it returns a clause saying that no
// local file or directory has that name, or "" when the argument could not
// be a relative path.
func NotLocal(r Ref) string {
	if r.Transport != Registry || r.Prefix != "" || strings.HasPrefix(r.Arg, "docker://") {
		return ""
	}
	first, _, ok := strings.Cut(r.Arg, "/")
	if !ok || strings.ContainsAny(first, ".:") || first == "localhost" {
		// ghcr.io/o/r, 127.0.0.1:5000/x: plainly a registry.
		return ""
	}
	return fmt.Sprintf("and there is no local file or directory %q", r.Arg)
}

// splitPath finds the longest existing path at the start of s, the rest
// after a ':' naming an image inside it (FILE:REF, DIR:tag).
func splitPath(s string) (path, sub string) {
	if _, err := os.Lstat(s); err == nil {
		return s, ""
	}
	for i := len(s) - 1; i > 0; i-- {
		if s[i] != ':' {
			continue
		}
		if _, err := os.Lstat(s[:i]); err == nil {
			return s[:i], s[i+1:]
		}
	}
	return "", ""
}

// LooksLikePath reports whether an argument can only be meant as a path.
func LooksLikePath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~") {
		return true
	}
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2", ".md"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}
