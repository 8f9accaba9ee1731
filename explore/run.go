// Package explore is `strata explore`: dive's interactive face on strata's
// layer index. A layers pane (step, instruction, size), the file tree as of
// the selected layer with what that layer added, modified and removed
// (coloured and lettered), and a details pane (digest, instruction, sizes,
// efficiency and waste, the base image); dive's keys, plus a file viewer,
// safe extraction, sort by size, hiding the base's layers and a waste
// overlay that jumps to the step that caused it.
//
// It is registry-first: the layer list is drawn from the manifest and
// config at once, and the tree fills as layers are indexed (each from the
// index cache when it is kept). What the explorer holds is one path table
// (tree.go): memory grows with the number of paths, never with layer
// bytes, and a layer switch, a filter or a scroll is one walk over it.
//
// Compare mode (`strata explore A B`) shows two images side by side, the
// shared layer chain folded, and the file differences of the divergent
// layers.
package explore

import (
	"context"
	"errors"
	"fmt"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// Options set up one explorer.
type Options struct {
	// Ref is the reference as the user gave it (shown in the title).
	Ref    string
	Source source.Source
	// Store is the layer index cache (nil: none).
	Store layerindex.Store
	// Base resolves the base image (nil: unknown).
	Base BaseFunc
	// KeysFile is the key binding file; KeysNamed says the user named it
	// (then a missing file is an error).
	KeysFile  string
	KeysNamed bool
	// Mouse turns on mouse reporting (click to select, wheel to scroll).
	Mouse bool
	// In and Out are the terminal (Out unescaped: the program draws with
	// escape sequences of its own; image text is escaped before it).
	In  io.Reader
	Out io.Writer
}

// panicKey, when set (the strata_explore_panic build tag, for the tests
// of terminal restoration), makes that key panic inside Update.
var panicKey string

// Run explores one image until the user quits. The terminal is restored on
// every way out: quit, Ctrl+C, a signal, an error, a panic (Bubble Tea
// recovers panics in Update, View and commands and restores the terminal;
// the loaders recover their own and report them to the UI).
func Run(ctx context.Context, o Options) error {
	keys, err := LoadKeys(o.KeysFile, o.KeysNamed)
	if err != nil {
		return err
	}
	// The UI never shows a file's sha256: fingerprints answer "same
	// content?" at a fraction of the CPU of a first read.
	opts := layerindex.Options{Store: o.Store, FingerprintOnly: true}
	im := layerindex.New(o.Source, opts)
	m := newModel(ctx, o.Ref, im, keys)
	m.mouse = o.Mouse
	m.newImage = func() *layerindex.Image { return layerindex.New(o.Source, opts) }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.ctx = ctx
	p := tea.NewProgram(m, programOptions(ctx, o)...)
	go loadLayers(ctx, im, p.Send)
	go loadBase(ctx, o.Base, p.Send)
	_, err = p.Run()
	cancel()
	if err := programError(err); err != nil {
		return err
	}
	if m.failed != nil {
		return fmt.Errorf("reading the layers: %w", m.failed)
	}
	return nil
}

func programOptions(ctx context.Context, o Options) []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if o.In != nil {
		opts = append(opts, tea.WithInput(o.In))
	}
	if o.Out != nil {
		opts = append(opts, tea.WithOutput(o.Out))
	}
	return opts
}

// programError words how the program ended (nil: the user quit).
func programError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("internal error in explore (the terminal was restored): %w", err)
	case errors.Is(err, tea.ErrInterrupted), errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	}
	return fmt.Errorf("terminal: %w", err)
}
