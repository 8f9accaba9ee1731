package layerindex

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/strata-tool/strata/layers"
)

// File is one path of a merged file system: the entry as the layer that
// last wrote it has it. That layer and its history step are the path's
// blame.
type File struct {
	*Entry
	// Layer is the 0-based index of the layer that last wrote the path;
	// Ord the entry's position in that layer's Index.Entries.
	Layer int
	Ord   int
}

// FS is the file system a stack of layers leaves, overlay rules applied
// (layers.Merged): whiteouts delete, opaque directories hide what lies
// below, later layers win.
type FS struct {
	files map[string]File
	// dirs holds every directory, listed or implied by a path below it.
	dirs map[string]bool
	// Orphans are paths some layer wrote below a symlink or file it (or a
	// later layer) put at a parent: no real file system can hold them, and
	// writing them would mean following that symlink. Left out of Files.
	Orphans []string
}

// state replays layers one by one, remembering who wrote each path.
type state struct {
	m     *layers.Merged
	blame map[string]File
}

func newState() *state {
	return &state{m: layers.NewMerged(nil), blame: map[string]File{}}
}

func (s *state) apply(ix *Index, layer int) {
	recs := make([]layers.Record, len(ix.Entries))
	for j := range ix.Entries {
		recs[j] = ix.Entries[j].Record
	}
	s.m.Apply(recs)
	for j := range ix.Entries {
		e := &ix.Entries[j]
		if !e.Whiteout && !e.Opaque {
			s.blame[e.Path] = File{Entry: e, Layer: layer, Ord: j}
		}
	}
}

func (s *state) lookup(p string) (File, bool) {
	if _, ok := s.m.Lookup(p); !ok {
		return File{}, false
	}
	f, ok := s.blame[p]
	return f, ok
}

// Merge returns the file system layers [0, upTo) leave; they must be
// loaded. Merge(len(layers)) is the image's final file system.
func (im *Image) Merge(upTo int) (*FS, error) {
	s := newState()
	for i := 0; i < upTo; i++ {
		ix := im.Layer(i)
		if ix == nil {
			return nil, fmt.Errorf("layer %d is not loaded", i)
		}
		s.apply(ix, i)
	}
	return s.fs(), nil
}

func (s *state) fs() *FS {
	out := &FS{files: make(map[string]File, s.m.Len()), dirs: map[string]bool{"": true}}
	for _, e := range s.m.Entries() {
		if f, ok := s.blame[e.Path]; ok {
			out.files[e.Path] = f
		}
	}
	for p, f := range out.files {
		for q := layers.Parent(p); ; q = layers.Parent(q) {
			if pf, ok := out.files[q]; ok && pf.Type != layers.TypeDir {
				out.Orphans = append(out.Orphans, p)
				break
			}
			if q == "" {
				break
			}
		}
		if f.Type == layers.TypeDir {
			out.dirs[p] = true
		}
	}
	for _, p := range out.Orphans {
		delete(out.files, p)
	}
	sort.Strings(out.Orphans)
	for p := range out.files {
		for q := layers.Parent(p); q != "" && !out.dirs[q]; q = layers.Parent(q) {
			out.dirs[q] = true
		}
	}
	return out
}

// Len is the number of paths.
func (f *FS) Len() int { return len(f.files) }

// Lookup returns the entry at p (a cleaned relative path).
func (f *FS) Lookup(p string) (File, bool) {
	e, ok := f.files[p]
	return e, ok
}

// IsDir reports whether p is a directory, listed or implied ("" is the
// root).
func (f *FS) IsDir(p string) bool { return f.dirs[p] }

// Files lists every path in path order.
func (f *FS) Files() []File {
	out := make([]File, 0, len(f.files))
	for _, e := range f.files {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Under lists root and every path below it, in path order ("" is all).
func (f *FS) Under(root string) []File {
	var out []File
	for _, e := range f.Files() {
		if root == "" || e.Path == root || strings.HasPrefix(e.Path, root+"/") {
			out = append(out, e)
		}
	}
	return out
}

// DirSizes sums, for every directory, the sizes of the regular files below
// it (hardlinks add nothing: they share their target's bytes).
func (f *FS) DirSizes() map[string]int64 {
	out := map[string]int64{}
	for p, e := range f.files {
		if e.Type != layers.TypeFile {
			continue
		}
		for q := layers.Parent(p); ; q = layers.Parent(q) {
			out[q] += e.Size
			if q == "" {
				break
			}
		}
	}
	return out
}

// ErrLoop is returned for a path whose symlinks lead round in circles.
var ErrLoop = errors.New("too many levels of symbolic links")

// ErrNotInImage is returned for a path the file system does not hold; it
// matches fs.ErrNotExist too.
var ErrNotInImage error = notInImage{}

type notInImage struct{}

func (notInImage) Error() string        { return "no such file in the image" }
func (notInImage) Is(target error) bool { return target == fs.ErrNotExist }

// Resolve follows symlinks in p as the image's own root would: absolute
// targets start at the image root, ".." stops at it, so resolution never
// leaves the image. The result is the entry p finally names (a directory
// implied by paths below it comes back with a nil Entry).
func (f *FS) Resolve(p string) (string, File, error) {
	rest := splitPath(layers.CleanPath(p))
	cur := ""
	for hops := 0; len(rest) > 0; {
		next := layers.Join(cur, rest[0])
		rest = rest[1:]
		e, ok := f.files[next]
		if !ok {
			if f.dirs[next] {
				cur = next
				continue
			}
			return next, File{}, fmt.Errorf("%s: %w", next, ErrNotInImage)
		}
		if e.Type == layers.TypeSymlink {
			if hops++; hops > 40 {
				return next, File{}, fmt.Errorf("%s: %w", p, ErrLoop)
			}
			base := cur
			if path.IsAbs(e.Link) {
				base = ""
			}
			rest = append(splitPath(layers.CleanPath(path.Join("/"+base, e.Link))), rest...)
			cur = ""
			continue
		}
		if len(rest) > 0 && e.Type != layers.TypeDir {
			return next, File{}, fmt.Errorf("%s: not a directory", next)
		}
		cur = next
	}
	e, ok := f.files[cur]
	if !ok && !f.dirs[cur] {
		return cur, File{}, fmt.Errorf("%s: %w", cur, ErrNotInImage)
	}
	return cur, e, nil
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
