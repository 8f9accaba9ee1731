package history

import (
	"time"

	"github.com/strata-tool/strata/image"
)

// Step is one history entry as every verb numbers and words it: the 1-based
// step number `strata layers` shows, the translator's instruction line, and
// the layer the step made. Its JSON shape is part of the CLI contract
// (README, "strata layers -o json").
type Step struct {
	Step        int    `json:"step"`
	Instruction string `json:"instruction"`
	// Text is the instruction with its own spacing kept (Instruction.Text).
	Text      string `json:"-"`
	CreatedBy string `json:"created_by"`
	Empty     bool   `json:"empty"`
	// Layer is the 0-based layer index; nil for a step that made none.
	Layer            *int       `json:"layer,omitempty"`
	Digest           string     `json:"digest,omitempty"`
	DiffID           string     `json:"diffID,omitempty"`
	Size             int64      `json:"size"`             // compressed, -1 unknown
	UncompressedSize int64      `json:"uncompressedSize"` // -1 unknown
	Created          *time.Time `json:"created,omitempty"`
	Comment          string     `json:"comment,omitempty"`
}

// NoHistory is the instruction shown for a layer no history entry made.
const NoHistory = "(no history for this layer)"

// Steps lists every history entry of img as a Step, then a row for each
// layer no entry accounts for: such layers still count and are shown,
// never guessed away.
func Steps(img *image.Image) []Step {
	ins := TranslateAll(img)
	out := make([]Step, 0, len(img.History))
	for i, h := range img.History {
		s := Step{Step: i + 1, Instruction: ins[i].Line(), Text: ins[i].Text(), CreatedBy: h.CreatedBy, Empty: h.EmptyLayer,
			Created: h.Created, Comment: h.Comment, Size: -1, UncompressedSize: -1}
		if h.Layer >= 0 && h.Layer < len(img.Layers) {
			s.setLayer(img, h.Layer)
		}
		out = append(out, s)
	}
	for _, li := range img.UnpairedLayers() {
		s := Step{Step: len(out) + 1, Instruction: NoHistory, Text: NoHistory}
		s.setLayer(img, li)
		out = append(out, s)
	}
	return out
}

func (s *Step) setLayer(img *image.Image, i int) {
	l := img.Layers[i]
	idx := i
	s.Layer = &idx
	s.Digest, s.DiffID, s.Size, s.UncompressedSize = l.Digest, l.DiffID, l.Size, l.UncompressedSize
}

// TotalSizes sums the layers' compressed and uncompressed sizes; each is
// -1 when any layer's is unknown.
func TotalSizes(ls []image.Layer) (compressed, uncompressed int64) {
	for _, l := range ls {
		if l.Size < 0 || compressed < 0 {
			compressed = -1
		} else {
			compressed += l.Size
		}
		if l.UncompressedSize < 0 || uncompressed < 0 {
			uncompressed = -1
		} else {
			uncompressed += l.UncompressedSize
		}
	}
	return
}
