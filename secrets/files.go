package secrets

import (
	"bytes"
	"context"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Content is the layer index's content hook (layerindex.Options.Content):
// a candidate file of a layer being indexed is scanned as it streams past
// (what the scan leaves unread is still hashed by the index).
func (s *Scanner) Content(layer int) layerindex.ContentFunc {
	return func(_ int, rec layers.Record, r io.Reader) {
		if !candidate(rec.Path, rec.Size, s.opts.MaxFileSize) {
			return
		}
		b, err := io.ReadAll(io.LimitReader(r, rec.Size))
		if err != nil {
			return // the index reports the read error itself
		}
		ms, bin := scanContent(b)
		key := fileKey{layer, rec.Offset}
		s.mu.Lock()
		s.inPass[key] = ms
		if bin {
			s.binary[key] = true
		}
		s.mu.Unlock()
	}
}

// scanContent scans a file's bytes, unless they are binary (a NUL byte in
// the first 8 KiB, as git and grep decide).
func scanContent(b []byte) ([]match, bool) {
	if bytes.IndexByte(b[:min(len(b), 8<<10)], 0) >= 0 {
		return nil, true
	}
	return scanText(b), false
}

// version is one candidate file as one layer wrote it.
type version struct {
	f layerindex.File
	// removedAt is the layer that deleted or overwrote it (-1: none).
	removedAt int
	removedBy string
}

// scanFiles indexes every layer (scanning candidates in the same pass
// where a layer is read now), reads the candidates of layers whose index
// was cached, and reports what they hold, with each file's fate.
func (s *Scanner) scanFiles(ctx context.Context, im *layerindex.Image, st *FileStats) ([]Finding, error) {
	if err := im.Load(ctx); err != nil {
		return nil, err
	}
	versions := s.candidates(im, st)
	read := map[[2]int][]match{}
	var toRead []layerindex.File
	for _, v := range versions {
		if s.teed(im, v) {
			st.InPass++
		} else {
			toRead = append(toRead, v.f)
		}
	}
	err := im.ReadFiles(ctx, toRead, func(f layerindex.File, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		ms, bin := scanContent(b)
		if bin {
			st.Binary++
		}
		read[[2]int{f.Layer, f.Ord}] = ms
		st.Read++
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, v := range versions {
		ms := read[[2]int{v.f.Layer, v.f.Ord}]
		if s.teed(im, v) {
			k := fileKey{v.f.Layer, v.f.Offset}
			ms = s.inPass[k]
			if s.binary[k] {
				st.Binary++
			}
		}
		for _, m := range ms {
			out = append(out, fileFinding(im, v, m))
		}
	}
	return out, nil
}

// teed: the file's layer was read in full to index it now, so Content saw
// the file (entries of such a layer have distinct offsets).
func (s *Scanner) teed(im *layerindex.Image, v *version) bool {
	how := im.How(v.f.Layer)
	if how != layerindex.HowBlob && how != layerindex.HowStream {
		return false
	}
	_, ok := s.inPass[fileKey{v.f.Layer, v.f.Offset}]
	return ok
}

func fileFinding(im *layerindex.Image, v *version, m match) Finding {
	f := newFinding(m, SurfaceFile)
	if path.Base(v.f.Path) == ".git-credentials" && m.rule.id == "url-password" {
		f.Rule, f.Description = gitCredentials, "credentials in a .git-credentials file"
	}
	f.Path = "/" + v.f.Path
	l := v.f.Layer
	f.Layer = &l
	if st, ok := im.Step(l); ok {
		f.Step = st.Step
	}
	if v.removedAt >= 0 {
		f.DeletedLater, f.RemovedBy = true, v.removedBy
		if st, ok := im.Step(v.removedAt); ok {
			f.RemovedStep = st.Step
		}
	}
	return f
}

// candidates lists every candidate file version of every layer, with the
// later layer (if any) that deleted or overwrote it. A version a later
// layer rewrote with the same content is left out: the later one stands
// for both.
func (s *Scanner) candidates(im *layerindex.Image, st *FileStats) []*version {
	var all []*version
	live := map[string]*version{}
	var paths []string // every candidate path, sorted, for prefix queries
	for l := range im.Image.Layers {
		st.Layers[string(im.How(l))]++
		for _, e := range im.Layer(l).Entries {
			if e.Type == layers.TypeFile && !e.Whiteout && !e.Opaque {
				st.Entries++
				if candidate(e.Path, e.Size, s.opts.MaxFileSize) {
					paths = append(paths, e.Path)
				}
			}
		}
	}
	sort.Strings(paths)
	for l := range im.Image.Layers {
		ix := im.Layer(l)
		for j := range ix.Entries {
			e := &ix.Entries[j]
			switch {
			case e.Whiteout:
				removeUnder(live, paths, e.Path, true, l)
			case e.Opaque:
				removeUnder(live, paths, e.Path, false, l)
			}
		}
		for j := range ix.Entries {
			e := &ix.Entries[j]
			if e.Whiteout || e.Opaque {
				continue
			}
			old := live[e.Path]
			if old != nil && old.f.Layer < l {
				if same, _ := layers.SameContent(&e.Entry, &old.f.Entry.Entry); e.Type == layers.TypeFile && same {
					old.removedAt, old.removedBy = -2, "" // same content again: dropped below
				} else {
					old.removedAt, old.removedBy = l, "overwritten"
				}
				delete(live, e.Path)
			}
			if e.Type != layers.TypeFile || !candidate(e.Path, e.Size, s.opts.MaxFileSize) {
				continue
			}
			v := &version{f: layerindex.File{Entry: e, Layer: l, Ord: j}, removedAt: -1}
			live[e.Path] = v
			all = append(all, v)
		}
	}
	out := all[:0]
	for _, v := range all {
		if v.removedAt != -2 {
			out = append(out, v)
			st.Candidates++
			st.CandidateBytes += v.f.Size
		}
	}
	return out
}

// removeUnder marks the live candidates a whiteout (the path and all below
// it) or an opaque directory (all below it) of layer l removes.
func removeUnder(live map[string]*version, paths []string, p string, self bool, l int) {
	if self {
		if v := live[p]; v != nil && v.f.Layer < l {
			v.removedAt, v.removedBy = l, "deleted"
			delete(live, p)
		}
	}
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for i := sort.SearchStrings(paths, prefix); i < len(paths) && strings.HasPrefix(paths[i], prefix); i++ {
		if v := live[paths[i]]; v != nil && v.f.Layer < l {
			v.removedAt, v.removedBy = l, "deleted"
			delete(live, paths[i])
		}
	}
}
