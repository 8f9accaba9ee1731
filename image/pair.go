package image

import "fmt"

// PairHistory pairs config history with n layers, honouring empty_layer:
// each non-empty entry consumes the next layer in order. When the counts do
// not agree the pairing is kept as far as it goes and the problem is
// returned, so callers can show it instead of silently guessing.
func PairHistory(hist []History, n int) ([]HistoryEntry, string) {
	out := make([]HistoryEntry, len(hist))
	next := 0
	for i, h := range hist {
		e := HistoryEntry{Created: h.Created, CreatedBy: h.CreatedBy, Author: h.Author, Comment: h.Comment, EmptyLayer: h.EmptyLayer, Layer: -1}
		if !h.EmptyLayer && next < n {
			e.Layer = next
			next++
		}
		out[i] = e
	}
	nonEmpty := 0
	for _, h := range hist {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	switch {
	case len(hist) == 0 && n > 0:
		return out, fmt.Sprintf("image has %d layers but no history", n)
	case nonEmpty > n:
		return out, fmt.Sprintf("history has %d non-empty entries but the image has %d layers; the last %d entries are unpaired", nonEmpty, n, nonEmpty-n)
	case nonEmpty < n:
		return out, fmt.Sprintf("history has %d non-empty entries but the image has %d layers; the top %d layers have no history", nonEmpty, n, n-nonEmpty)
	}
	return out, ""
}

// Pair fills img.History and img.PairingProblem from img.Config.History.
func (img *Image) Pair() {
	img.History, img.PairingProblem = PairHistory(img.Config.History, len(img.Layers))
}

// UnpairedLayers lists the layer indexes no history entry accounts for.
func (img *Image) UnpairedLayers() []int {
	seen := make([]bool, len(img.Layers))
	for _, h := range img.History {
		if h.Layer >= 0 && h.Layer < len(seen) {
			seen[h.Layer] = true
		}
	}
	var out []int
	for i, s := range seen {
		if !s {
			out = append(out, i)
		}
	}
	return out
}
