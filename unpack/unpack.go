// Package unpack writes file-system entries (a merged image file system, a
// layer, a build context) into a directory without letting any entry reach
// outside it, whatever the entries say: paths are cleaned and relative;
// every directory on the way is opened relative to the one before with
// O_NOFOLLOW, so no symlink — one the image brought, one written a moment
// ago, one already in the directory — is ever followed; hardlink targets
// are found the same way; device nodes are never made; setuid and setgid
// bits are dropped unless asked for. Directory modes and times are applied
// at Close, deepest first, so a read-only directory can still be filled.
package unpack

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/strata-tool/strata/layers"
)

// Options tune a Writer.
type Options struct {
	// Force allows a directory that already holds files; entries then
	// replace what stands in their way (never a non-empty directory).
	Force bool
	// PreserveSpecial keeps setuid and setgid bits.
	PreserveSpecial bool
	// Owners sets each entry's uid/gid (what tar does for root).
	Owners bool
	// MaxBytes refuses file content past this many bytes in all (0: no
	// limit): a gzip bomb stops here instead of filling the disk.
	MaxBytes int64
}

// Errors an Add can wrap.
var (
	// ErrUnsafe: the entry would be written outside the directory, or
	// through a symlink, or its path is not a clean relative path.
	ErrUnsafe = errors.New("unsafe entry refused")
	// ErrLimit: MaxBytes would be exceeded.
	ErrLimit = errors.New("size limit reached")
	// ErrNotEmpty: the directory holds files and Force is not set.
	ErrNotEmpty = errors.New("directory is not empty")
)

// Skip is an entry left out by policy, not by error (a device node).
type Skip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// checkPath refuses anything but a cleaned relative path below the root.
func checkPath(p string) error {
	if p == "" || layers.CleanPath(p) != p {
		return fmt.Errorf("%q is not a clean relative path: %w", p, ErrUnsafe)
	}
	return nil
}

// fileMode is the permission bits to set: setuid/setgid dropped unless
// preserved; the sticky bit is harmless and kept.
func (o Options) fileMode(m uint32) uint32 {
	m &= 0o7777
	if !o.PreserveSpecial {
		m &^= 0o6000
	}
	return m
}

// Free reports the bytes free for an unprivileged writer in dir, or in the
// nearest parent that exists (dir may not exist yet).
func Free(dir string) (int64, error) {
	for {
		n, err := free(dir)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return n, err
		}
		up := filepath.Dir(dir)
		if up == dir {
			return n, err
		}
		dir = up
	}
}
