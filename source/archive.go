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
	"sync"
	"sync/atomic"
)

// archive is a scanned tarball: where each entry lives, plus the small
// metadata files (manifest.json, index.json, configs, manifests) kept in
// memory. Layers are never held: an uncompressed archive is read back by
// offset; a whole-file compressed one (docker save | gzip) is decompressed
// once into a temporary file the first time a layer is read, and read back
// by offset from there, so reading every layer costs one pass, not one per
// layer.
type archive struct {
	path    string
	comp    compression
	entries map[string]*tarEntry
	small   map[string][]byte
	// plainSize is the length of the tar stream (after decompression) up
	// to its end marker, known from the scan.
	plainSize  int64
	spoolLimit int64

	// passes counts decompressions of the whole archive (scan, spool,
	// re-streams): reading every layer must not multiply them.
	passes atomic.Int32

	mu        sync.Mutex
	spool     string // temporary decompressed copy, "" until made
	spoolErr  error  // why there is none (too large); then re-stream
	spoolDone bool
}

type tarEntry struct {
	name    string
	typ     byte
	link    string
	size    int64
	offset  int64 // start of data in the (decompressed) tar stream
	ordinal int   // position in the tar: duplicates resolve to the last
	head    []byte
}

// smallLimit bounds which entries are kept in memory during the scan: JSON
// metadata is kilobytes; layers are megabytes and start with tar or gzip
// bytes, never '{'. Bigger metadata is read on demand (up to maxMetadata).
const smallLimit = 4 << 20

// smallBudget bounds all entries kept in memory together: an archive of a
// thousand 4 MiB JSON files is read on demand, not held.
const smallBudget = 64 << 20

// DefaultSpoolLimit bounds the temporary decompressed copy of a compressed
// archive; bigger archives are re-read from the start for each layer.
const DefaultSpoolLimit = 16 << 30

func (a *archive) describe() string { return "archive " + a.path }

// countingReader tracks the offset in a stream so each tar entry's data
// offset is known; over a file it implements Seek so archive/tar skips
// layer data instead of reading it.
type countingReader struct {
	r   io.Reader
	pos int64
}

func (p *countingReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	return n, err
}

type seekingCounter struct {
	countingReader
	f *os.File
}

func (p *seekingCounter) Seek(off int64, whence int) (int64, error) {
	n, err := p.f.Seek(off, whence)
	if err == nil {
		p.pos = n
	}
	return n, err
}

// openArchiveFile opens the archive itself: a regular file only (a FIFO
// would block, a device never ends; neither can be read twice).
func openArchiveFile(file string) (*os.File, error) {
	f, err := openRegular(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", file, ErrNotFound)
		}
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	return f, nil
}

func scanArchive(ctx context.Context, file string, spoolLimit int64) (*archive, error) {
	f, err := openArchiveFile(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a := &archive{path: file, entries: map[string]*tarEntry{}, small: map[string][]byte{}, spoolLimit: spoolLimit}
	head := make([]byte, 6)
	n, _ := io.ReadFull(f, head)
	a.comp = detect(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var cr *countingReader
	var tr *tar.Reader
	if a.comp == compNone {
		sc := &seekingCounter{countingReader: countingReader{r: f}, f: f}
		cr, tr = &sc.countingReader, tar.NewReader(sc)
	} else {
		dr, _, err := decompress(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.describe(), err)
		}
		defer dr.Close()
		a.passes.Add(1)
		// Skipping a big entry reads through it: keep Ctrl-C working.
		cr = &countingReader{r: &ctxReader{ctx: ctx, ReadCloser: dr}}
		tr = tar.NewReader(cr)
	}
	if err := a.scan(ctx, tr, cr); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *archive) scan(ctx context.Context, tr *tar.Reader, cr *countingReader) error {
	count, kept := 0, 0
	for {
		if count%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s is not a readable tar (truncated or corrupt): %w (%w)", a.describe(), err, ErrCorrupt)
		}
		count++
		name := cleanEntry(h.Name)
		e := &tarEntry{name: name, typ: h.Typeflag, link: h.Linkname, size: h.Size, offset: cr.pos, ordinal: count}
		// The last entry of a name wins, as docker load has it.
		a.entries[name] = e
		if b, ok := a.small[name]; ok {
			kept -= len(b)
			delete(a.small, name)
		}
		if !isRegularEntry(h.Typeflag) || h.Size == 0 {
			continue
		}
		first := make([]byte, min(6, h.Size))
		if _, err := io.ReadFull(tr, first); err != nil {
			return fmt.Errorf("%s: entry %s is truncated: %w (%w)", a.describe(), name, err, ErrCorrupt)
		}
		e.head = first
		if h.Size <= smallLimit && kept+int(h.Size) <= smallBudget && looksLikeMetadata(name, first) {
			rest, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("%s: entry %s is truncated: %w (%w)", a.describe(), name, err, ErrCorrupt)
			}
			a.small[name] = append(first, rest...)
			kept += int(h.Size)
		}
	}
	if count == 0 {
		return fmt.Errorf("%s is an empty tar: %w", a.describe(), ErrCorrupt)
	}
	a.plainSize = cr.pos
	return nil
}

func looksLikeMetadata(name string, first []byte) bool {
	return first[0] == '{' || first[0] == '[' || name == "repositories" || strings.HasSuffix(name, ".json")
}

// isRegularEntry: archive/tar already reads the pre-POSIX '\x00' type as
// TypeReg.
func isRegularEntry(typ byte) bool { return typ == tar.TypeReg }

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

func (a *archive) openBlob(ctx context.Context, d string) (io.ReadCloser, error) {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return nil, fmt.Errorf("bad digest %q: %w", d, ErrCorrupt)
	}
	return a.openEntry(ctx, "blobs/"+alg+"/"+hex)
}

// meta reads a metadata entry (manifest.json, index.json, a config),
// following links, from memory if the scan kept it. An entry that exists
// but is bigger than maxMetadata is "too large", not "missing".
func (a *archive) meta(ctx context.Context, name string) ([]byte, error) {
	e, err := a.resolve(name)
	if err != nil {
		return nil, err
	}
	if b, ok := a.small[e.name]; ok && a.entries[e.name] == e {
		return b, nil
	}
	rc, err := a.openEntry(ctx, e.name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAllLimited(rc, maxMetadata, "entry "+name)
}

// openEntry opens an entry's data without reading other entries into
// memory. Reading stops when ctx is cancelled.
func (a *archive) openEntry(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := a.openData(ctx, name)
	if err != nil {
		return nil, err
	}
	return ctxReadCloser(ctx, rc), nil
}

func (a *archive) openData(ctx context.Context, name string) (io.ReadCloser, error) {
	e, err := a.resolve(name)
	if err != nil {
		return nil, err
	}
	if !isRegularEntry(e.typ) {
		return nil, fmt.Errorf("entry %s is not a regular file (tar type %q): %w", e.name, e.typ, ErrCorrupt)
	}
	if b, ok := a.small[e.name]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	if a.comp == compNone {
		return a.section(a.path, e)
	}
	if spool, err := a.spooled(ctx); err == nil && spool != "" {
		return a.section(spool, e)
	}
	return a.restream(e)
}

// section reads an entry by offset from an uncompressed tar file.
func (a *archive) section(file string, e *tarEntry) (io.ReadCloser, error) {
	f, err := openRegular(file)
	if err != nil {
		return nil, err
	}
	return &layerReader{Reader: io.NewSectionReader(f, e.offset, e.size), closers: []io.Closer{f}}, nil
}

// restream decompresses from the start to the entry: the fallback when the
// archive is too big to spool.
func (a *archive) restream(e *tarEntry) (io.ReadCloser, error) {
	f, err := openRegular(a.path)
	if err != nil {
		return nil, err
	}
	dr, _, err := decompress(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.passes.Add(1)
	tr := tar.NewReader(dr)
	for n := 1; ; n++ {
		_, err := tr.Next()
		if err != nil {
			dr.Close()
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, fs.ErrNotExist
			}
			return nil, fmt.Errorf("%s: %w (%w)", a.describe(), err, ErrCorrupt)
		}
		if n == e.ordinal {
			return &layerReader{Reader: tr, closers: []io.Closer{dr, f}}, nil
		}
	}
}

// spooled returns the decompressed copy of the archive, making it on first
// use; "" with an error when the archive is too large to copy.
func (a *archive) spooled(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.spoolDone {
		return a.spool, a.spoolErr
	}
	a.spoolDone = true
	limit := a.spoolLimit
	if limit == 0 {
		limit = DefaultSpoolLimit
	}
	if limit < 0 || a.plainSize > limit {
		a.spoolErr = fmt.Errorf("%s decompresses to %d bytes, more than the spool limit of %d", a.describe(), a.plainSize, limit)
		return "", a.spoolErr
	}
	a.spool, a.spoolErr = a.writeSpool(ctx)
	if errors.Is(a.spoolErr, context.Canceled) || errors.Is(a.spoolErr, context.DeadlineExceeded) {
		a.spoolDone = false // cancelled, not impossible: try again next time
		return "", a.spoolErr
	}
	return a.spool, a.spoolErr
}

func (a *archive) writeSpool(ctx context.Context) (string, error) {
	f, err := openRegular(a.path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dr, _, err := decompress(f)
	if err != nil {
		return "", err
	}
	defer dr.Close()
	a.passes.Add(1)
	out, err := os.CreateTemp("", "strata-archive-*.tar")
	if err != nil {
		return "", err
	}
	// Only the tar stream the scan measured is needed: trailing garbage
	// or a decompression bomb past the end marker is never written.
	_, err = io.Copy(out, &ctxReader{ctx: ctx, ReadCloser: io.NopCloser(io.LimitReader(dr, a.plainSize))})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("%s: decompress to a temporary file: %w", a.describe(), err)
	}
	return out.Name(), nil
}

// close removes the decompressed copy, if one was made.
func (a *archive) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.spool == "" {
		return nil
	}
	err := os.Remove(a.spool)
	a.spool = ""
	return err
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

// sharedCloser closes a resource shared by several Sources once the last
// of them is closed.
type sharedCloser struct {
	mu    sync.Mutex
	left  int
	close func() error
}

func (s *sharedCloser) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.left--
	if s.left == 0 && s.close != nil {
		return s.close()
	}
	return nil
}
