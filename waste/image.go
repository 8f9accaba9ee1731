package waste

import (
	"fmt"

	"github.com/strata-tool/strata/layerindex"
)

// LayersOf describes the loaded layers of im for Add, bottom-up.
func LayersOf(im *layerindex.Image) ([]Layer, error) {
	out := make([]Layer, len(im.Image.Layers))
	for i, l := range im.Image.Layers {
		ix := im.Layer(i)
		if ix == nil {
			return nil, fmt.Errorf("layer %d is not loaded", i)
		}
		out[i] = Layer{Index: ix, Compressed: l.Size}
		if s, ok := im.Step(i); ok {
			out[i].Step, out[i].Instruction = s.Step, s.Instruction
		}
	}
	return out, nil
}

// Analyze is the whole analysis of an image whose layers are loaded.
func Analyze(im *layerindex.Image, opts Options) (*Report, error) {
	ls, err := LayersOf(im)
	if err != nil {
		return nil, err
	}
	a := NewAnalyzer()
	for _, l := range ls {
		a.Add(l)
	}
	return a.Report(opts), nil
}
