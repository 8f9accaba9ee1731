package waste

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/strata-tool/strata/layers"
)

// Avoidable is what the final file system shows but need not ship. It is
// not part of WastedBytes (those bytes are visible); Bytes counts a file
// once even when it is both a cache and a duplicate.
type Avoidable struct {
	Bytes      int64        `json:"bytes"`
	Duplicates Duplicates   `json:"duplicates"`
	Caches     []CacheTotal `json:"caches"`
}

// Duplicates is the same content at several paths of the final file
// system (hardlinks excepted: they share one copy). Bytes counts every
// copy after the first of each content.
type Duplicates struct {
	Bytes  int64            `json:"bytes"`
	Groups int              `json:"groups"`
	Files  int              `json:"files"`
	Top    []DuplicateGroup `json:"top"`
}

// DuplicateGroup is one content found at several paths.
type DuplicateGroup struct {
	// Digest is the content's sha256. From fingerprinted layers it is
	// read afterwards for the groups listed (AnalyzeStream).
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// Bytes is Size times the copies after the first.
	Bytes int64      `json:"bytes"`
	Paths []CopyPath `json:"paths"`
	Fix   string     `json:"fix"`
}

// CopyPath is one path of a duplicate group, with the step that wrote it.
type CopyPath struct {
	Path  string `json:"path"`
	Step  int    `json:"step"`
	Layer int    `json:"layer"`
}

// CacheTotal is a package-manager or build cache left in the final file
// system.
type CacheTotal struct {
	Cache   string `json:"cache"`
	Bytes   int64  `json:"bytes"`
	Files   int    `json:"files"`
	Steps   []int  `json:"steps"`
	Layers  []int  `json:"layers"`
	Example string `json:"example"`
	Fix     string `json:"fix"`
}

type liveFile struct {
	path string
	id   int32
}

func (a *Analyzer) avoidable(top int) Avoidable {
	var files []liveFile
	caches := map[string]*CacheTotal{}
	cacheLayers := map[string][]int32{}
	var av Avoidable
	for p, id := range a.live {
		n := a.nodes.at(id)
		if n.typ != layers.TypeFile || n.size == 0 {
			continue
		}
		if k := cacheKind(p); k != "" {
			c := caches[k]
			if c == nil {
				c = &CacheTotal{Cache: k, Fix: cacheFix(k)}
				caches[k] = c
			}
			c.Bytes += n.size
			c.Files++
			if n.size > 0 && (c.Example == "" || p < c.Example) {
				c.Example = p
			}
			cacheLayers[k] = addLayer(cacheLayers[k], n.layer)
			av.Bytes += n.size
			continue
		}
		if n.sha || n.fp != 0 {
			files = append(files, liveFile{p, id})
		}
	}
	av.Caches = []CacheTotal{}
	for k, c := range caches {
		c.Steps, c.Layers = a.steps(cacheLayers[k])
		av.Caches = append(av.Caches, *c)
	}
	slices.SortFunc(av.Caches, func(x, y CacheTotal) int { return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Cache, y.Cache)) })
	av.Duplicates = a.duplicates(files, top)
	av.Bytes += av.Duplicates.Bytes
	return av
}

// duplicates groups files by content: sorting by content key keeps memory
// to one slice however many files there are. The key is the sha256 when
// every file has one, else the fingerprint (files without one are left
// out: a TOC listing in an image whose other layers were fingerprinted).
func (a *Analyzer) duplicates(files []liveFile, top int) Duplicates {
	bySHA := true
	for _, f := range files {
		bySHA = bySHA && a.nodes.at(f.id).sha
	}
	key := func(n *node) [32]byte { return n.digest }
	if !bySHA {
		files = slices.DeleteFunc(files, func(f liveFile) bool { return a.nodes.at(f.id).fp == 0 })
		key = func(n *node) (k [32]byte) {
			binary.BigEndian.PutUint64(k[:], n.fp)
			return k
		}
	}
	slices.SortFunc(files, func(x, y liveFile) int {
		nx, ny := a.nodes.at(x.id), a.nodes.at(y.id)
		kx, ky := key(nx), key(ny)
		return cmp.Or(bytes.Compare(kx[:], ky[:]), cmp.Compare(nx.layer, ny.layer), cmp.Compare(x.path, y.path))
	})
	d := Duplicates{Top: []DuplicateGroup{}}
	var groups []DuplicateGroup
	for i := 0; i < len(files); {
		j := i + 1
		for j < len(files) && key(a.nodes.at(files[j].id)) == key(a.nodes.at(files[i].id)) {
			j++
		}
		if j-i > 1 {
			g := a.group(files[i:j])
			d.Bytes += g.Bytes
			d.Groups++
			d.Files += j - i
			groups = append(groups, g)
		}
		i = j
	}
	slices.SortFunc(groups, func(x, y DuplicateGroup) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Paths[0].Path, y.Paths[0].Path))
	})
	d.Top = append(d.Top, groups[:min(top, len(groups))]...)
	return d
}

func (a *Analyzer) group(fs []liveFile) DuplicateGroup {
	n := a.nodes.at(fs[0].id)
	g := DuplicateGroup{Size: n.size, Bytes: n.size * int64(len(fs)-1)}
	if n.sha {
		g.Digest = "sha256:" + hex.EncodeToString(n.digest[:])
	}
	sameLayer := true
	for _, f := range fs {
		l := a.nodes.at(f.id).layer
		g.Paths = append(g.Paths, CopyPath{Path: f.path, Step: a.stepOf(l), Layer: int(l)})
		sameLayer = sameLayer && l == n.layer
	}
	if sameLayer {
		g.Fix = fmt.Sprintf("%s writes the same content at %d paths: keep one and make the others links (ln or ln -s) in the same step", a.where(n.layer), len(fs))
	} else {
		g.Fix = fmt.Sprintf("the same content is written by %d steps: keep the copy %s ships and link to it (ln -s), or copy it once in a multi-stage build", len(fs), a.where(n.layer))
	}
	return g
}
