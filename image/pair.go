package image

import (
	"fmt"
	"strings"
)

// SetHistory makes hist the image's history, paired with the layers
// already in img.Layers.
func (img *Image) SetHistory(hist []History) {
	img.History = make([]HistoryEntry, len(hist))
	for i, h := range hist {
		img.History[i] = HistoryEntry{History: h, Layer: -1}
	}
	img.Pair()
}

// StoredHistory returns the history as the config stores it, without the
// pairing: what a config blob rebuilt from the model would hold.
func (img *Image) StoredHistory() []History {
	out := make([]History, len(img.History))
	for i, h := range img.History {
		out[i] = h.History
	}
	return out
}

// Pair pairs img.History with img.Layers, honouring empty_layer: each
// non-empty entry consumes the next layer in order. When the counts do not
// agree the pairing is kept as far as it goes and PairingProblem says so,
// so callers can show it instead of silently guessing. Transports call it
// once the layers are known; nothing else pairs.
func (img *Image) Pair() {
	n := len(img.Layers)
	next, nonEmpty := 0, 0
	for i := range img.History {
		h := &img.History[i]
		h.Layer = -1
		if h.EmptyLayer {
			continue
		}
		nonEmpty++
		if next < n {
			h.Layer = next
			next++
		}
	}
	img.PairingProblem = ""
	switch {
	case len(img.History) == 0 && n > 0:
		img.PairingProblem = fmt.Sprintf("image has %s but no history", Count(n, "layer"))
	case nonEmpty > n:
		img.PairingProblem = fmt.Sprintf("history has %s but the image has %s; the last %s unpaired", Count(nonEmpty, "non-empty entry"), Count(n, "layer"), isAre(nonEmpty-n, "entry"))
	case nonEmpty < n:
		img.PairingProblem = fmt.Sprintf("history has %s but the image has %s; the top %s no history", Count(nonEmpty, "non-empty entry"), Count(n, "layer"), hasHave(n-nonEmpty, "layer"))
	}
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

// Count renders "1 layer", "2 layers", "1 entry", "3 entries": messages
// about images say how many of something there are, often exactly one.
func Count(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	if strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey") {
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func isAre(n int, noun string) string {
	if n == 1 {
		return Count(n, noun) + " is"
	}
	return Count(n, noun) + " are"
}

func hasHave(n int, noun string) string {
	if n == 1 {
		return Count(n, noun) + " has"
	}
	return Count(n, noun) + " have"
}
