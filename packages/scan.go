package packages

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Options tune Scan.
type Options struct {
	// NoGo skips Go binaries: executables are the only files the scan
	// reads that are not package metadata.
	NoGo bool
	// Cache, if set, keeps what each file yielded by content digest.
	Cache Cache
	// Capture, if set, holds the files its Hook saw while the layers were
	// indexed (see Capture): those are not read again.
	Capture *Capture
}

// maxDBFile bounds one database file held in memory (a large RHEL
// BerkeleyDB rpmdb is around 100 MiB).
const maxDBFile = 512 << 20

// layerOps is what one layer did to the files the scan follows.
type layerOps struct {
	deleted []string // whiteouts and opaque directories
	written []member // added or modified (kind may be kindNone: no longer a member)
}

// Scan indexes every layer of im and reads the package databases each
// layer wrote, returning the final packages with their blame and the
// packages removed along the way.
func Scan(ctx context.Context, im *layerindex.Image, opts Options) (*Result, error) {
	if err := im.Load(ctx); err != nil {
		return nil, err
	}
	n := len(im.Image.Layers)
	changes, err := im.Changes(n)
	if err != nil {
		return nil, err
	}
	ops, want := plan(changes, !opts.NoGo)
	s := newScanState(im)
	s.cache, s.capture = opts.Cache, opts.Capture
	if err := s.read(ctx, want); err != nil {
		return nil, err
	}
	for i := range ops {
		s.replay(i, ops[i])
	}
	return s.result(), nil
}

// plan turns the layers' changes into per-layer operations on followed
// files, and the distinct file versions to read.
func plan(changes [][]layerindex.Change, wantGo bool) ([]layerOps, []member) {
	ops := make([]layerOps, len(changes))
	var want []member
	seen := map[string]bool{}
	for i, cs := range changes {
		for _, c := range cs {
			switch c.Kind {
			case layerindex.Deleted, layerindex.Opaque:
				ops[i].deleted = append(ops[i].deleted, c.Path)
			case layerindex.Added, layerindex.Modified:
				m := classify(c.File, wantGo)
				if m.kind == kindNone && c.Kind == layerindex.Added {
					continue
				}
				m.file = c.File
				ops[i].written = append(ops[i].written, m)
				if k := contentKey(c.File); m.kind != kindNone && !seen[k] {
					seen[k] = true
					want = append(want, m)
				}
			}
		}
	}
	return ops, want
}

// contentKey names a file version's content: its digest, else where it is.
func contentKey(f layerindex.File) string {
	if f.Digest != "" {
		return f.Digest
	}
	return fmt.Sprintf("layer%d#%d", f.Layer, f.Ord)
}

// scanState replays the layers.
type scanState struct {
	im *layerindex.Image
	// content of database files, and the packages of Go binaries, by
	// content key; parsed memoises parses by scope kind and content.
	content map[string][]byte
	goPkgs  map[string][]Package
	parsed  map[string][]Package
	// members are the followed files as the layers so far leave them;
	// scopes groups their paths.
	members map[string]member
	scopes  map[string]map[string]bool
	// pkgs are the packages of each scope after the last layer that
	// touched it; current and removed carry history across scopes.
	pkgs     map[string][]Package
	current  map[string]*Package
	removed  map[string]*Package
	dbLayers map[string]*Database
	distro   [2]string
	cache    Cache
	capture  *Capture
	res      Result
}

func newScanState(im *layerindex.Image) *scanState {
	return &scanState{im: im, content: map[string][]byte{}, goPkgs: map[string][]Package{},
		parsed: map[string][]Package{}, members: map[string]member{}, scopes: map[string]map[string]bool{},
		pkgs: map[string][]Package{}, current: map[string]*Package{}, removed: map[string]*Package{},
		dbLayers: map[string]*Database{}}
}

// read fetches every wanted file version once: regular files through
// ReadFiles (range reads where possible, else one pass per layer),
// hardlinks through Open, which finds the file they name.
func (s *scanState) read(ctx context.Context, want []member) error {
	byPath := map[string]member{}
	var files []layerindex.File
	for _, m := range want {
		if pkgs, ok := s.cachedParse(m.kind, m.file.Digest); ok {
			key := contentKey(m.file)
			if m.kind == kindGo {
				s.goPkgs[key] = pkgs
			} else {
				s.parsed[string(rune('0'+m.kind))+key] = pkgs
			}
			continue
		}
		if content, gos, ok := s.capture.take(m); ok {
			key := contentKey(m.file)
			if m.kind == kindGo {
				s.res.Candidates++
				s.goPkgs[key] = gos
				s.keepParse(kindGo, m.file.Digest, gos)
			} else {
				s.res.FilesRead++
				s.res.BytesRead += int64(len(content))
				s.content[key] = content
			}
			continue
		}
		if m.file.Type == layers.TypeHardlink {
			rc, err := s.im.Open(ctx, m.file)
			if err != nil {
				s.note("%s: %v", m.file.Path, err)
				continue
			}
			err = s.take(m, rc)
			rc.Close()
			if err != nil {
				return err
			}
			continue
		}
		byPath[fmt.Sprintf("%d\x00%s", m.file.Layer, m.file.Path)] = m
		files = append(files, m.file)
	}
	return s.im.ReadFiles(ctx, files, func(f layerindex.File, r io.Reader) error {
		return s.take(byPath[fmt.Sprintf("%d\x00%s", f.Layer, f.Path)], r)
	})
}

// take keeps one file's content (or, for a Go candidate, its packages).
func (s *scanState) take(m member, r io.Reader) error {
	key := contentKey(m.file)
	if m.kind == kindGo {
		s.res.Candidates++
		pkgs, n, err := readGoBinary(m.file.Path, r)
		s.res.BytesRead += n
		if err != nil {
			return fmt.Errorf("read %s: %w", m.file.Path, err)
		}
		s.goPkgs[key] = pkgs
		s.keepParse(kindGo, m.file.Digest, pkgs)
		return nil
	}
	if m.file.Size > maxDBFile {
		s.note("%s (layer %d): %d bytes, more than any package database holds; not read", m.file.Path, m.file.Layer, m.file.Size)
		return nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read %s from layer %d: %w", m.file.Path, m.file.Layer, err)
	}
	s.res.FilesRead++
	s.res.BytesRead += int64(len(b))
	s.content[key] = b
	return nil
}

func (s *scanState) note(format string, args ...any) {
	s.res.Notes = append(s.res.Notes, fmt.Sprintf(format, args...))
}

// replay applies layer i's operations and records what changed.
func (s *scanState) replay(i int, ops layerOps) {
	dirty := map[string]kind{}
	for _, d := range ops.deleted {
		for p, m := range s.members {
			if under(p, d) {
				s.drop(p, m)
				dirty[m.scope] = m.kind
			}
		}
	}
	for _, m := range ops.written {
		if old, ok := s.members[m.file.Path]; ok {
			s.drop(m.file.Path, old)
			dirty[old.scope] = old.kind
		}
		if m.kind == kindNone {
			continue
		}
		s.members[m.file.Path] = m
		if s.scopes[m.scope] == nil {
			s.scopes[m.scope] = map[string]bool{}
		}
		s.scopes[m.scope][m.file.Path] = true
		dirty[m.scope] = m.kind
	}
	scopes := make([]string, 0, len(dirty))
	for sc := range dirty {
		scopes = append(scopes, sc)
	}
	sort.Strings(scopes)
	for _, sc := range scopes {
		s.evaluate(i, sc, dirty[sc])
	}
}

func (s *scanState) drop(p string, m member) {
	delete(s.members, p)
	delete(s.scopes[m.scope], p)
}
