package packages

import (
	"io"
	"sync"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Capture keeps the database files (and Go binaries' packages) that go
// past while layers are read to be indexed, so a scan right after a cold
// index pass fetches none of them again: set Hook as the layer index's
// Options.Content and pass the Capture to Scan. Only files the scan would
// read are kept; a Go candidate is examined on the stream and only its
// packages are kept.
type Capture struct {
	noGo  bool
	mu    sync.Mutex
	files map[capKey][]byte
	gos   map[capKey][]Package
	bytes int64
}

type capKey struct{ layer, ord int }

// NewCapture makes a Capture; noGo as Options.NoGo.
func NewCapture(noGo bool) *Capture {
	return &Capture{noGo: noGo, files: map[capKey][]byte{}, gos: map[capKey][]Package{}}
}

// Hook is layerindex.Options.Content.
func (c *Capture) Hook(layer int) layerindex.ContentFunc {
	return func(ord int, rec layers.Record, r io.Reader) {
		e := &layerindex.Entry{Record: rec}
		m := classify(layerindex.File{Entry: e, Layer: layer, Ord: ord}, !c.noGo)
		k := capKey{layer, ord}
		switch {
		case m.kind == kindNone:
			return
		case m.kind == kindGo:
			pkgs, n, err := readGoBinary(rec.Path, r)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.gos[k], c.bytes = pkgs, c.bytes+n
			c.mu.Unlock()
		case rec.Size <= maxDBFile:
			b, err := io.ReadAll(r)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.files[k], c.bytes = b, c.bytes+int64(len(b))
			c.mu.Unlock()
		}
	}
}

// take hands over what was captured for a member; ok is false when it
// went past unseen (the index came from the cache or a TOC).
func (c *Capture) take(m member) (content []byte, gos []Package, ok bool) {
	if c == nil {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := capKey{m.file.Layer, m.file.Ord}
	if m.kind == kindGo {
		gos, ok = c.gos[k]
		return nil, gos, ok
	}
	content, ok = c.files[k]
	return content, nil, ok
}
