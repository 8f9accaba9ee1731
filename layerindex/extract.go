package layerindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/unpack"
)

// Refusal is an entry that was not written because writing it was unsafe.
type Refusal struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// ExtractReport says what Extract wrote and what it left out.
type ExtractReport struct {
	Dirs    int           `json:"dirs"`
	Files   int           `json:"files"`
	Links   int           `json:"links"` // symlinks and hardlinks
	Bytes   int64         `json:"bytes"`
	Skipped []unpack.Skip `json:"skipped"`
	Refused []Refusal     `json:"refused"`
}

// Selection is what Extract would write: the entries below the roots, and
// the directories above them.
type Selection struct {
	// Roots are the selected paths as found in the image ("" is all).
	Roots   []string
	Entries []File
	// Bytes is the regular-file content to write.
	Bytes int64
}

// Select resolves the roots (paths in the image; "" or none is the whole
// file system; symlinks in a root's parent directories are followed inside
// the image, a root that is itself a symlink is taken as the symlink) and
// lists what extracting them writes, parents first.
func (f *FS) Select(roots ...string) (Selection, error) {
	if len(roots) == 0 {
		roots = []string{""}
	}
	seen := map[string]bool{}
	var sel Selection
	add := func(e File) {
		if !seen[e.Path] {
			seen[e.Path] = true
			sel.Entries = append(sel.Entries, e)
			if e.Type == layers.TypeFile {
				sel.Bytes += e.Size
			}
		}
	}
	for _, r := range roots {
		root := layers.CleanPath(r)
		if root != "" {
			dir, _, err := f.Resolve(path.Dir("/" + root))
			if err != nil {
				return sel, fmt.Errorf("%s: %w", r, ErrNotInImage)
			}
			root = layers.Join(dir, path.Base("/"+root))
			if _, ok := f.files[root]; !ok && !f.dirs[root] {
				return sel, fmt.Errorf("%s: %w", r, ErrNotInImage)
			}
			for q := layers.Parent(root); q != ""; q = layers.Parent(q) {
				if e, ok := f.files[q]; ok {
					add(e)
				}
			}
		}
		sel.Roots = append(sel.Roots, root)
		for _, e := range f.Under(root) {
			add(e)
		}
	}
	sort.Slice(sel.Entries, func(i, j int) bool { return sel.Entries[i].Path < sel.Entries[j].Path })
	return sel, nil
}

// Extract writes a selection through w: directories, then regular files
// (layer by layer: a few by range reads, many by one stream of their
// layer), then hardlinks, symlinks and the rest. A hardlink becomes a link
// when its target is written too and is still the same file, a copy
// otherwise. Entries the writer refuses as unsafe are reported, not
// fatal; orphans (paths below a symlink) are refused without trying.
func (im *Image) Extract(ctx context.Context, fsys *FS, sel Selection, w *unpack.Writer) (*ExtractReport, error) {
	rep := &ExtractReport{Skipped: []unpack.Skip{}, Refused: []Refusal{}}
	for _, p := range fsys.Orphans {
		if sel.covers(p) {
			rep.Refused = append(rep.Refused, Refusal{p, "below a symlink or file: never written through"})
		}
	}
	var files, copies, later []File
	for _, e := range sel.Entries {
		switch e.Type {
		case layers.TypeDir:
			ok, err := im.add(w, e, nil, rep)
			if err != nil {
				return rep, err
			}
			rep.Dirs += count(ok)
		case layers.TypeFile:
			files = append(files, e)
		case layers.TypeHardlink:
			if im.linkable(fsys, e, sel) {
				later = append(later, e)
			} else {
				copies = append(copies, e)
			}
		default:
			later = append(later, e)
		}
	}
	err := im.ReadFiles(ctx, files, func(e File, r io.Reader) error {
		ok, err := im.add(w, e, r, rep)
		if ok {
			rep.Files++
			rep.Bytes += e.Size
		}
		return err
	})
	if err != nil {
		return rep, err
	}
	for _, e := range copies {
		if err := im.copyFile(ctx, w, e, rep); err != nil {
			return rep, err
		}
	}
	for _, e := range later {
		ok, err := im.add(w, e, nil, rep)
		if err != nil {
			return rep, err
		}
		if e.Type == layers.TypeSymlink || e.Type == layers.TypeHardlink {
			rep.Links += count(ok)
		}
	}
	rep.Skipped = append(rep.Skipped, w.Skipped...)
	return rep, nil
}

// add writes one entry (ok) or records an unsafe one as refused.
func (im *Image) add(w *unpack.Writer, e File, r io.Reader, rep *ExtractReport) (bool, error) {
	err := w.Add(&e.Entry.Entry, r)
	if errors.Is(err, unpack.ErrUnsafe) {
		rep.Refused = append(rep.Refused, Refusal{e.Path, err.Error()})
		if r != nil {
			// Read it anyway: the content check happens at its end.
			_, err = io.Copy(io.Discard, r)
			return false, err
		}
		return false, nil
	}
	return err == nil, err
}

func count(ok bool) int {
	if ok {
		return 1
	}
	return 0
}

// linkable: the hardlink's target is extracted too and is the very file the
// link was made to (not something a later layer put at that path).
func (im *Image) linkable(fsys *FS, e File, sel Selection) bool {
	c, err := im.linkTarget(e)
	if err != nil {
		return false
	}
	t, ok := fsys.Lookup(e.Link)
	if !ok || t.Layer != c.Layer || t.Ord != c.Ord {
		return false
	}
	i := sort.Search(len(sel.Entries), func(i int) bool { return sel.Entries[i].Path >= e.Link })
	return i < len(sel.Entries) && sel.Entries[i].Path == e.Link
}

// copyFile writes a hardlink whose target is not extracted as a regular
// file with the target's content.
func (im *Image) copyFile(ctx context.Context, w *unpack.Writer, e File, rep *ExtractReport) error {
	if _, err := im.content(e); err != nil {
		// A link to a path no layer holds (or one that climbed out with
		// "..", cleaned to somewhere empty): nothing to write.
		rep.Refused = append(rep.Refused, Refusal{e.Path, err.Error()})
		return nil
	}
	rc, err := im.Open(ctx, e)
	if err != nil {
		return err
	}
	defer rc.Close()
	asFile := *e.Entry
	asFile.Type, asFile.Link = layers.TypeFile, ""
	ok, err := im.add(w, File{Entry: &asFile, Layer: e.Layer, Ord: e.Ord}, rc, rep)
	if ok {
		rep.Files++
		rep.Bytes += e.Size
	}
	return err
}

// covers reports whether p lies at or below one of the roots.
func (s Selection) covers(p string) bool {
	for _, r := range s.Roots {
		if r == "" || p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}
