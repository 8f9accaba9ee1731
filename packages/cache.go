package packages

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Cache keeps what a database file or executable yielded, by the file's
// content digest, so a later scan of any image holding the same file
// reads none of its bytes. Entries are small JSON documents.
type Cache interface {
	Get(key string) ([]byte, bool)
	Put(key string, value []byte)
}

// cacheVersion changes whenever a parser's output changes.
const cacheVersion = "v1"

// DirCache is a Cache in a directory, one file per entry, written
// atomically; failures to write are ignored (a cache is an optimisation).
type DirCache string

// Get reads an entry.
func (d DirCache) Get(key string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(string(d), key))
	return b, err == nil
}

// Put writes an entry.
func (d DirCache) Put(key string, value []byte) {
	p := filepath.Join(string(d), key)
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return
	}
	_, err = f.Write(value)
	if cerr := f.Close(); err != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if os.Rename(f.Name(), p) != nil {
		os.Remove(f.Name())
	}
}

// cacheKey names what kind k yields from a file with this digest; "" when
// the file has no digest (a TOC entry without one) or the kind spans
// several files (rpm).
func cacheKey(k kind, digest string) string {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || k == kindRPM || len(hex) < 16 {
		return ""
	}
	return fmt.Sprintf("%s/%d/%s/%s/%s", cacheVersion, k, alg, hex[:2], hex)
}

// cachedParse looks a file's packages up.
func (s *scanState) cachedParse(k kind, digest string) ([]Package, bool) {
	key := cacheKey(k, digest)
	if s.cache == nil || key == "" {
		return nil, false
	}
	b, ok := s.cache.Get(key)
	if !ok {
		return nil, false
	}
	var pkgs []Package
	if json.Unmarshal(b, &pkgs) != nil {
		return nil, false
	}
	return pkgs, true
}

func (s *scanState) keepParse(k kind, digest string, pkgs []Package) {
	key := cacheKey(k, digest)
	if s.cache == nil || key == "" {
		return
	}
	if pkgs == nil {
		pkgs = []Package{}
	}
	if b, err := json.Marshal(pkgs); err == nil {
		s.cache.Put(key, b)
	}
}
