// Package layers reads image layers as tar streams, one entry at a time,
// and merges them the way an overlay file system does: whiteouts delete,
// opaque markers hide what lies below, later layers win. It keeps metadata
// only; file content is hashed while it streams past and then dropped, so
// memory grows with the number of paths, never with their bytes.
package layers

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Type is what a tar entry is, reduced to what matters in a file system.
type Type uint8

// Entry types.
const (
	TypeFile Type = iota + 1
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeChar
	TypeBlock
	TypeFIFO
	TypeOther
)

var typeNames = map[Type]string{
	TypeFile: "file", TypeDir: "dir", TypeSymlink: "symlink", TypeHardlink: "hardlink",
	TypeChar: "char", TypeBlock: "block", TypeFIFO: "fifo", TypeOther: "other",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// MarshalText renders the type by name in JSON.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText accepts the names MarshalText writes.
func (t *Type) UnmarshalText(b []byte) error {
	for k, v := range typeNames {
		if v == string(b) {
			*t = k
			return nil
		}
	}
	return fmt.Errorf("unknown entry type %q", b)
}

// Entry is one path of a layer or of a merged file system.
type Entry struct {
	// Path is cleaned and relative to the root ("etc/passwd"); it can never
	// name anything outside the root, whatever the tar said.
	Path string `json:"path"`
	Type Type   `json:"type"`
	// Mode holds the permission, setuid/setgid and sticky bits only: some
	// builders also store the type bits in the tar mode and some do not.
	Mode    uint32    `json:"mode"`
	UID     int       `json:"uid"`
	GID     int       `json:"gid"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	// Link is the symlink target as stored, or the cleaned path a hardlink
	// points at.
	Link string `json:"link,omitempty"`
	// Digest is "sha256:…" of the content, set only where the walker was
	// asked to hash this path (hardlinks inherit their target's).
	Digest string `json:"digest,omitempty"`
	// Fingerprint is the xxhash64 of the content (0: not read). It costs a
	// tenth of sha256, so a one-pass verb that only asks "same bytes?"
	// (waste, secrets, explore) reads layers at decompression speed; it is
	// not a name for the content and never printed.
	Fingerprint uint64 `json:"-"`
}

// SameContent compares two regular files' content by what both carry:
// sha256 where both have it, else their fingerprints. known is false when
// neither pair is there to compare.
func SameContent(a, b *Entry) (same, known bool) {
	switch {
	case a.Digest != "" && b.Digest != "":
		return a.Digest == b.Digest, true
	case a.Fingerprint != 0 && b.Fingerprint != 0:
		return a.Fingerprint == b.Fingerprint, true
	}
	return false, false
}

// IsDir reports whether e is a directory.
func (e *Entry) IsDir() bool { return e.Type == TypeDir }

// Whiteout file names (OCI image spec, "Whiteouts").
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	// Other ".wh..wh." names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs)
	// that never describe the image's file system.
	whiteoutMeta = ".wh..wh."
)

// eStargz adds these to an otherwise ordinary tar.gz; they are not files
// of the image.
var estargzEntries = map[string]bool{
	"stargz.index.json":     true,
	".prefetch.landmark":    true,
	".no.prefetch.landmark": true,
}

// CleanPath turns a tar entry name into a safe root-relative path: leading
// "/" and "./" go, ".." cannot climb above the root. The root itself is "".
func CleanPath(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}

// Parent returns the directory holding the root-relative path p ("" for
// top-level paths).
func Parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Join is dir/name for root-relative paths, name alone below the root ("").
func Join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// under reports whether p lies strictly below dir ("" is the root).
func under(p, dir string) bool {
	if dir == "" {
		return p != ""
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// ModeString renders an entry's type and permission bits as ls does
// (drwxr-xr-x, -rwsr-xr-x; h for a hardlink).
func ModeString(t Type, mode uint32) string {
	kind := map[Type]byte{TypeDir: 'd', TypeSymlink: 'l', TypeChar: 'c', TypeBlock: 'b', TypeFIFO: 'p', TypeHardlink: 'h'}[t]
	if kind == 0 {
		kind = '-'
	}
	b := []byte{kind}
	for i, c := range "rwxrwxrwx" {
		if mode&(1<<(8-i)) != 0 {
			b = append(b, byte(c))
		} else {
			b = append(b, '-')
		}
	}
	for _, s := range []struct {
		bit     uint32
		at      int
		on, off byte
	}{{0o4000, 3, 's', 'S'}, {0o2000, 6, 's', 'S'}, {0o1000, 9, 't', 'T'}} {
		if mode&s.bit != 0 {
			if b[s.at] == 'x' {
				b[s.at] = s.on
			} else {
				b[s.at] = s.off
			}
		}
	}
	return string(b)
}
