package layerindex

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"sync"
)

// packed is a lean index's entries in their encoded form (the on-disk
// body's entry section): about 50 bytes an entry instead of about 250 as
// []Entry, so a consumer that needs one pass (waste) can hold a layer of
// hundreds of thousands of entries in a few megabytes.
type packed struct {
	n int
	b []byte
}

// packedEntries is the entry section Marshal writes.
func (ix *Index) packedEntries() ([]byte, int) {
	if ix.packed != nil {
		return ix.packed.b, ix.packed.n
	}
	var w entryEncoder
	for i := range ix.Entries {
		w.add(&ix.Entries[i])
	}
	return w.b, w.n
}

// Len is the number of entries.
func (ix *Index) Len() int {
	if ix.packed != nil {
		return ix.packed.n
	}
	return len(ix.Entries)
}

// Each calls fn with every entry in tar order (j its position) until fn
// returns false. It works on every index; on a lean one (from Stream),
// whose Entries is nil, it decodes one entry at a time into one Entry
// that the next call reuses: fn copies what it keeps (the strings in it
// are its own).
func (ix *Index) Each(fn func(j int, e *Entry) bool) error {
	if ix.packed == nil {
		for j := range ix.Entries {
			if !fn(j, &ix.Entries[j]) {
				return nil
			}
		}
		return nil
	}
	r := &reader{b: ix.packed.b}
	var path []byte
	var prevOff int64
	e := &Entry{}
	for j := 0; j < ix.packed.n; j++ {
		shared := int(r.uvarint())
		if shared > len(path) {
			return fmt.Errorf("%w: path prefix longer than the previous path", ErrCorruptIndex)
		}
		path = append(path[:shared], r.rawStr()...)
		*e = Entry{}
		e.Path = string(path)
		fl := r.entry(e, &prevOff)
		if fl&flSHA256 != 0 {
			e.Digest = "sha256:" + hex.EncodeToString(r.bytes(32))
		} else if fl&flDigest != 0 {
			e.Digest = r.str()
		}
		r.tail(e, fl)
		if r.err != nil {
			return fmt.Errorf("%w: %v", ErrCorruptIndex, r.err)
		}
		if !fn(j, e) {
			return nil
		}
	}
	return nil
}

// lean returns the index without materialized entries or checkpoints.
func (ix *Index) lean() *Index {
	if ix.packed != nil && ix.Checkpoints == nil {
		return ix
	}
	c := *ix
	if c.packed == nil {
		b, n := ix.packedEntries()
		c.packed = &packed{n: n, b: b}
	}
	c.Entries, c.Checkpoints = nil, nil
	return &c
}

// unmarshalLean decodes what Marshal wrote into a lean index: the entry
// section is checked entry by entry (as Unmarshal checks it) and kept
// encoded; checkpoints are skipped.
func unmarshalLean(data []byte) (*Index, error) {
	codecs()
	if len(data) < len(magic)+1 || string(data[:len(magic)]) != magic || data[len(magic)] != formatVersion {
		return nil, fmt.Errorf("%w: not a strata layer index of this version", ErrCorruptIndex)
	}
	body, err := dec.DecodeAll(data[len(magic)+1:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptIndex, err)
	}
	if len(body) < 4 || crc32.Checksum(body[:len(body)-4], crcTable) != binary.LittleEndian.Uint32(body[len(body)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptIndex)
	}
	r := &reader{b: body[:len(body)-4]}
	ix := r.header()
	n := r.count(12)
	start := r.off
	var scratch Entry
	var prevOff int64
	prevLen := 0
	for i := 0; i < n && r.err == nil; i++ {
		if shared := int(r.uvarint()); shared > prevLen {
			r.fail("path prefix longer than the previous path")
			break
		} else {
			prevLen = shared + len(r.rawStr())
		}
		fl := r.entry(&scratch, &prevOff)
		if fl&flSHA256 != 0 {
			r.bytes(32)
		} else if fl&flDigest != 0 {
			r.rawStr()
		}
		r.tail(&scratch, fl)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptIndex, r.err)
	}
	// Keep the decoded body when the entries are most of it; copy them out
	// when checkpoint windows (up to 8 MiB) follow, which a lean index
	// drops.
	entries := r.b[start:r.off:r.off]
	if len(r.b)-r.off > len(entries)/4 {
		entries = bytes.Clone(entries)
	}
	ix.packed = &packed{n: n, b: entries}
	return ix, nil
}

// leanGetter is a Store that can hand back a lean index without
// materializing its entries (DirStore); other stores are asked with Get.
type leanGetter interface {
	getLean(ctx context.Context, digest string) (*Index, error)
}

func (s *DirStore) getLean(ctx context.Context, d string) (*Index, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	b, err := s.files().Read(n, maxDecoded)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.files().Remove(n)
		}
		return nil, ErrNotFound
	}
	ix, err := unmarshalLean(b)
	if err != nil {
		s.files().Remove(n)
		return nil, ErrNotFound
	}
	return ix, nil
}

// Stream hands each layer's index to fn, bottom-up in layer order, and
// keeps none of them: a consumer that needs one pass over the entries
// holds a few layers at a time instead of all. The indexes are lean —
// Entries is nil (read them with Each) and there are no checkpoints —
// unless the layer was already loaded. Layers are indexed (and cached) in
// parallel, at most Options.Parallel ahead of fn. fn's error stops the
// stream and is returned.
func (im *Image) Stream(ctx context.Context, fn func(i int, ix *Index) error) error {
	n := len(im.layers)
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		ix  *Index
		err error
	}
	out := make([]chan result, n)
	for i := range out {
		out[i] = make(chan result, 1)
	}
	tokens := make(chan struct{}, im.parallel())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ix := im.Layer(i)
				var err error
				if ix == nil {
					var how How
					ix, how, err = im.load(ctx, i, true)
					im.setHow(i, how)
				}
				if err != nil {
					err = fmt.Errorf("index layer %d (%s): %w", i, im.Image.Layers[i].Digest, err)
				}
				out[i] <- result{ix, err}
			}()
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i := 0; i < n; i++ {
		var r result
		select {
		case r = <-out[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		if err := fn(i, r.ix); err != nil {
			return err
		}
		<-tokens
	}
	return nil
}

func (im *Image) setHow(i int, how How) {
	im.mu.Lock()
	im.how[i] = how
	im.mu.Unlock()
}

// parallel is how many layers are indexed at once.
func (im *Image) parallel() int {
	if im.opts.Parallel > 0 {
		return im.opts.Parallel
	}
	return defaultParallel()
}
