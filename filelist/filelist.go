// Package filelist is the rows `strata files` lists — the merged file
// system of an image, or what each layer changed — in the shape its JSON
// output prints them. The command line and the server (`strata serve`'s
// files view) both list through it, so a row means the same everywhere.
package filelist

import (
	"context"
	"time"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Row is one entry of `files -o json` (README): a path of the merged
// file system, or one change a layer made (Change set).
type Row struct {
	Path   string    `json:"path"`
	Type   string    `json:"type"`
	Mode   uint32    `json:"mode"`
	UID    int       `json:"uid"`
	GID    int       `json:"gid"`
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	Digest string    `json:"digest"`
	Link   string    `json:"link"`
	Layer  int       `json:"layer"`
	Step   int       `json:"step"`
	Change string    `json:"change,omitempty"`
}

// Of is f as a row, blamed on the step that made its layer.
func Of(im *layerindex.Image, f layerindex.File) Row {
	r := Row{Path: f.Path, Type: f.Type.String(), Mode: f.Mode, UID: f.UID, GID: f.GID, Size: f.Size,
		MTime: f.ModTime, Digest: f.Digest, Link: f.Link, Layer: f.Layer}
	if s, ok := im.Step(f.Layer); ok {
		r.Step = s.Step
	}
	return r
}

// ModeString renders the row's type and mode as ls does.
func (r Row) ModeString() string {
	var t layers.Type
	_ = t.UnmarshalText([]byte(r.Type)) // an unknown name renders as a file
	return layers.ModeString(t, r.Mode)
}

// HasSize says whether Size means something (regular files and hardlinks).
func (r Row) HasSize() bool {
	return r.Type == layers.TypeFile.String() || r.Type == layers.TypeHardlink.String()
}

// FinalFS indexes every layer of im and merges them.
func FinalFS(ctx context.Context, im *layerindex.Image) (*layerindex.FS, error) {
	if err := im.Load(ctx); err != nil {
		return nil, err
	}
	return im.Merge(len(im.Image.Layers))
}

// Merged lists the paths of fsys that pat matches (never nil).
func Merged(im *layerindex.Image, fsys *layerindex.FS, pat layerindex.Pattern) []Row {
	rows := []Row{}
	for _, f := range fsys.Files() {
		if pat.Match(f.Path) {
			rows = append(rows, Of(im, f))
		}
	}
	return rows
}

// Group is one layer's changes, as rows.
type Group struct {
	Layer int
	Rows  []Row
}

// Changes lists what layer only (or every layer, only < 0) changed,
// paths matching pat.
func Changes(ctx context.Context, im *layerindex.Image, only int, pat layerindex.Pattern) ([]Group, error) {
	upTo := len(im.Image.Layers)
	if only >= 0 {
		upTo = only + 1
	}
	which := make([]int, upTo)
	for i := range which {
		which[i] = i
	}
	if err := im.Load(ctx, which...); err != nil {
		return nil, err
	}
	all, err := im.Changes(upTo)
	if err != nil {
		return nil, err
	}
	var out []Group
	for i, cs := range all {
		if only >= 0 && i != only {
			continue
		}
		g := Group{Layer: i, Rows: []Row{}}
		for _, c := range cs {
			if pat.Match(c.Path) {
				g.Rows = append(g.Rows, change(im, c))
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// change: what was written, or for a deletion what was there (type ""
// when the layers below had nothing at the path).
func change(im *layerindex.Image, c layerindex.Change) Row {
	r := Of(im, c.File)
	if c.Kind == layerindex.Deleted || c.Kind == layerindex.Opaque {
		r = Row{Path: c.Path, Layer: c.File.Layer, Step: r.Step}
		if c.Lower.Entry != nil {
			low := Of(im, c.Lower)
			low.Layer, low.Step = r.Layer, r.Step
			r = low
		}
	}
	r.Change = string(c.Kind)
	return r
}

// Rows flattens groups into one list (never nil).
func Rows(groups []Group) []Row {
	rows := []Row{}
	for _, g := range groups {
		rows = append(rows, g.Rows...)
	}
	return rows
}
