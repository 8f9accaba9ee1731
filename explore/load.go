package explore

import (
	"context"
	"fmt"
	"runtime/debug"

	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

// Messages the loader sends while the UI runs.
type (
	// layerMsg: one more layer is indexed and decoded.
	layerMsg struct {
		b       *batch
		how     layerindex.How
		tarSize int64
	}
	// loadedMsg: every layer is in; the waste analysis is ready.
	loadedMsg struct{ report *waste.Report }
	// baseMsg: the lineage says which bottom layers are the base's.
	baseMsg struct {
		base  waste.Base
		notes []string
	}
	// failMsg: loading failed; the UI says so and keeps what it has.
	failMsg struct{ err error }
)

// BaseFunc resolves the image's base (package lineage, through the
// catalog): which bottom layers are the base's, and notes for the user.
type BaseFunc func(ctx context.Context) (waste.Base, []string)

// loadLayers indexes the layers bottom-up, one at a time (layerindex's
// Stream: lean indexes, a few in flight, each from the cache when kept),
// hands each to the UI as a batch of paths and feeds the waste analysis
// from the same pass. Nothing of a layer is kept here once it is sent.
func loadLayers(ctx context.Context, im *layerindex.Image, send func(tea.Msg)) {
	defer recoverTo(send)
	an := waste.NewAnalyzer()
	err := im.Stream(ctx, func(i int, ix *layerindex.Index) error {
		b, err := batchOf(i, ix)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		st, _ := im.Step(i)
		wl := waste.Layer{Index: ix, Step: st.Step, Instruction: st.Instruction, Compressed: im.Image.Layers[i].Size}
		if err := an.Add(wl); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		send(layerMsg{b: b, how: im.How(i), tarSize: ix.TarSize})
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			send(failMsg{err})
		}
		return
	}
	n := len(im.Image.Layers)
	send(loadedMsg{report: an.Report(waste.Options{Base: waste.Base{Layers: min(1, n)}, Top: 50})})
}

// loadBase runs the lineage off the UI goroutine.
func loadBase(ctx context.Context, f BaseFunc, send func(tea.Msg)) {
	defer recoverTo(send)
	if f == nil {
		return
	}
	b, notes := f(ctx)
	send(baseMsg{base: b, notes: notes})
}

// recoverTo turns a panic in a loader goroutine into a failure the UI
// shows, so the terminal is restored by the program's normal exit rather
// than left in raw mode by a crash.
func recoverTo(send func(tea.Msg)) {
	if r := recover(); r != nil {
		send(failMsg{fmt.Errorf("internal error: %v\n%s", r, debug.Stack())})
	}
}
