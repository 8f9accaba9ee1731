// Package filecache keeps byte values as files in one directory: written
// atomically (a temporary file renamed into place, so concurrent strata
// processes never read half a value) and bounded in total size, the least
// recently used going first. The layer index store and the packages and
// waste caches keep their files through it.
package filecache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Dir is a cache directory. Names are slash-separated relative paths the
// caller builds from validated parts (digests, hex): Dir does not accept
// names from input.
type Dir struct {
	Path string
	// MaxBytes bounds the files' total size (<= 0: unbounded).
	MaxBytes int64
}

const tmpPrefix = ".tmp-"

// Read returns the value kept under name, at most limit bytes (more is
// an error), and marks it recently used. An absent value is
// fs.ErrNotExist.
func (d Dir) Read(name string, limit int64) ([]byte, error) {
	p := d.file(name)
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s holds over %d bytes", p, limit)
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // failure only weakens eviction
	return b, nil
}

// Write keeps b under name, then evicts if the directory grew past
// MaxBytes.
func (d Dir) Write(name string, b []byte) error {
	p := d.file(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+"*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return d.Evict()
}

// Remove drops the value kept under name (a damaged one).
func (d Dir) Remove(name string) { os.Remove(d.file(name)) }

func (d Dir) file(name string) string { return filepath.Join(d.Path, filepath.FromSlash(name)) }

// Evict removes the least recently used files until the directory is back
// under 90 % of MaxBytes (so eviction does not run on every Write once
// full). Temporary files older than an hour are leftovers of a killed
// process.
func (d Dir) Evict() error {
	if d.MaxBytes <= 0 {
		return nil
	}
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	err := filepath.WalkDir(d.Path, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if time.Since(info.ModTime()) > time.Hour {
				os.Remove(p)
			}
			return nil
		}
		files = append(files, file{p, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil || total <= d.MaxBytes {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, f := range files {
		if total <= d.MaxBytes*9/10 {
			break
		}
		if err := os.Remove(f.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= f.size
		}
	}
	return nil
}
