package packages

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/internal/filecache"
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

// DefaultCacheBytes bounds a DirCache unless told otherwise: parsed
// package lists are kilobytes, so this holds those of tens of thousands
// of database files.
const DefaultCacheBytes = 128 << 20

// maxEntry bounds one entry read back (a damaged or planted file).
const maxEntry = 64 << 20

// DirCache is a Cache in a directory, one file per entry, written
// atomically and bounded in total size (the least recently used go
// first); failures to write are ignored (a cache is an optimisation).
type DirCache struct{ files filecache.Dir }

// NewDirCache keeps entries under dir, at most maxBytes in all (<= 0:
// DefaultCacheBytes).
func NewDirCache(dir string, maxBytes int64) DirCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return DirCache{filecache.Dir{Path: dir, MaxBytes: maxBytes}}
}

// Get reads an entry.
func (d DirCache) Get(key string) ([]byte, bool) {
	b, err := d.files.Read(key, maxEntry)
	return b, err == nil
}

// Put writes an entry.
func (d DirCache) Put(key string, value []byte) { _ = d.files.Write(key, value) }

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
