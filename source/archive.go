package source

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// archive is a scanned tarball: where each entry lives, plus the small
// metadata files (manifest.json, index.json, configs, manifests) kept in
// memory. Layers are never held: an uncompressed archive is read back by
// offset, a compressed one (docker save | gzip) by re-streaming to the entry.
type archive struct {
	path    string
	comp    compression
	entries map[string]*tarEntry
	small   map[string][]byte
}

type tarEntry struct {
	name   string
	typ    byte
	link   string
	size   int64
	offset int64 // start of data; meaningful only when comp == compNone
	head   []byte
}

// smallLimit bounds which entries are kept in memory during the scan: JSON
// metadata is kilobytes; layers are megabytes and start with tar or gzip
// bytes, never '{'.
const smallLimit = 4 << 20

func (a *archive) describe() string { return "archive " + a.path }

// posReader tracks the offset of an *os.File so each tar entry's data
// offset is known; it implements Seek so archive/tar skips layer data
// instead of reading it.
type posReader struct {
	f   *os.File
	pos int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	p.pos += int64(n)
	return n, err
}

func (p *posReader) Seek(off int64, whence int) (int64, error) {
	n, err := p.f.Seek(off, whence)
	if err == nil {
		p.pos = n
	}
	return n, err
}

func scanArchive(ctx context.Context, file string) (*archive, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", file, ErrNotFound)
		}
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	defer f.Close()
	a := &archive{path: file, entries: map[string]*tarEntry{}, small: map[string][]byte{}}
	head := make([]byte, 6)
	n, _ := io.ReadFull(f, head)
	a.comp = detect(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var tr *tar.Reader
	var pr *posReader
	if a.comp == compNone {
		pr = &posReader{f: f}
		tr = tar.NewReader(pr)
	} else {
		dr, _, err := decompress(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.describe(), err)
		}
		defer dr.Close()
		tr = tar.NewReader(dr)
	}
	count := 0
	for {
		if count%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		count++
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s is not a readable tar (truncated or corrupt): %w (%w)", a.describe(), err, ErrCorrupt)
		}
		name := cleanEntry(h.Name)
		e := &tarEntry{name: name, typ: h.Typeflag, link: h.Linkname, size: h.Size}
		if pr != nil {
			e.offset = pr.pos
		}
		a.entries[name] = e
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		if h.Size == 0 {
			continue
		}
		first := make([]byte, min(6, h.Size))
		if _, err := io.ReadFull(tr, first); err != nil {
			return nil, fmt.Errorf("%s: entry %s is truncated: %w (%w)", a.describe(), name, err, ErrCorrupt)
		}
		e.head = first
		if h.Size <= smallLimit && (first[0] == '{' || first[0] == '[' || name == "repositories" || strings.HasSuffix(name, ".json")) {
			rest, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: entry %s is truncated: %w (%w)", a.describe(), name, err, ErrCorrupt)
			}
			a.small[name] = append(first, rest...)
		}
	}
	if count == 1 && len(a.entries) == 0 {
		return nil, fmt.Errorf("%s is an empty tar: %w", a.describe(), ErrCorrupt)
	}
	return a, nil
}

func cleanEntry(n string) string {
	n = path.Clean("/" + strings.TrimPrefix(n, "./"))
	return strings.TrimPrefix(n, "/")
}

// resolve follows symlinks and hard links inside the archive (docker save
// links duplicate layer.tar files to one copy).
func (a *archive) resolve(name string) (*tarEntry, error) {
	name = cleanEntry(name)
	for hops := 0; hops < 16; hops++ {
		e, ok := a.entries[name]
		if !ok {
			return nil, fs.ErrNotExist
		}
		switch e.typ {
		case tar.TypeSymlink:
			if path.IsAbs(e.link) {
				name = cleanEntry(e.link)
			} else {
				name = cleanEntry(path.Join(path.Dir(name), e.link))
			}
		case tar.TypeLink:
			name = cleanEntry(e.link)
		default:
			return e, nil
		}
	}
	return nil, fmt.Errorf("entry %s: too many links: %w", name, ErrCorrupt)
}

func (a *archive) openBlob(d string) (io.ReadCloser, error) {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return nil, fmt.Errorf("bad digest %q: %w", d, ErrCorrupt)
	}
	return a.openEntry("blobs/" + alg + "/" + hex)
}

// openEntry opens an entry's data without reading other entries into memory.
func (a *archive) openEntry(name string) (io.ReadCloser, error) {
	e, err := a.resolve(name)
	if err != nil {
		return nil, err
	}
	if b, ok := a.small[e.name]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	if a.comp == compNone {
		return &layerReader{Reader: io.NewSectionReader(f, e.offset, e.size), closers: []io.Closer{f}}, nil
	}
	dr, _, err := decompress(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	tr := tar.NewReader(dr)
	for {
		h, err := tr.Next()
		if err != nil {
			dr.Close()
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, fs.ErrNotExist
			}
			return nil, fmt.Errorf("%s: %w (%w)", a.describe(), err, ErrCorrupt)
		}
		if cleanEntry(h.Name) == e.name {
			return &layerReader{Reader: tr, closers: []io.Closer{dr, f}}, nil
		}
	}
}

// entryCompression says how a stored entry is compressed, from the bytes
// seen during the scan.
func (a *archive) entryCompression(name string) (compression, int64, bool) {
	e, err := a.resolve(name)
	if err != nil || e.head == nil {
		return compNone, 0, false
	}
	return detect(e.head), e.size, true
}
