package waste

import (
	"context"
	"fmt"

	"github.com/strata-tool/strata/layerindex"
)

// layerOf describes layer i of im, indexed as ix.
func layerOf(im *layerindex.Image, i int, ix *layerindex.Index) Layer {
	l := Layer{Index: ix, Compressed: im.Image.Layers[i].Size}
	if s, ok := im.Step(i); ok {
		l.Step, l.Instruction = s.Step, s.Instruction
	}
	return l
}

// Analyze is the whole analysis of an image whose layers are loaded.
func Analyze(im *layerindex.Image, opts Options) (*Report, error) {
	a := NewAnalyzer()
	for i := range im.Image.Layers {
		ix := im.Layer(i)
		if ix == nil {
			return nil, fmt.Errorf("layer %d is not loaded", i)
		}
		if err := a.Add(layerOf(im, i, ix)); err != nil {
			return nil, err
		}
	}
	return a.Report(opts), nil
}

// AnalyzeStream indexes im's layers (or takes their kept indexes) and
// analyses them one at a time, without keeping them (layerindex's
// Stream): memory holds the merged paths and a few layers in flight,
// never every layer's entries.
func AnalyzeStream(ctx context.Context, im *layerindex.Image, opts Options) (*Report, error) {
	a := NewAnalyzer()
	err := im.Stream(ctx, func(i int, ix *layerindex.Index) error { return a.Add(layerOf(im, i, ix)) })
	if err != nil {
		return nil, err
	}
	r := a.Report(opts)
	return r, NameDuplicates(ctx, im, r)
}

// NameDuplicates fills in the sha256 of the duplicate groups listed whose
// layers were indexed with fingerprints only (layerindex.FingerprintOnly):
// one file read per group, grouped by layer.
func NameDuplicates(ctx context.Context, im *layerindex.Image, r *Report) error {
	byLayer := map[int][]string{}
	for _, g := range r.Avoidable.Duplicates.Top {
		if g.Digest == "" {
			p := g.Paths[0]
			byLayer[p.Layer] = append(byLayer[p.Layer], p.Path)
		}
	}
	named := map[int]map[string]string{}
	for l, paths := range byLayer {
		ds, err := im.FileDigests(ctx, l, paths)
		if err != nil {
			return fmt.Errorf("name duplicate content: %w", err)
		}
		named[l] = ds
	}
	for i := range r.Avoidable.Duplicates.Top {
		g := &r.Avoidable.Duplicates.Top[i]
		if g.Digest == "" {
			g.Digest = named[g.Paths[0].Layer][g.Paths[0].Path]
		}
	}
	return nil
}
