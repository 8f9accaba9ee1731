package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/explore"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

type exploreFlags struct {
	keys  string
	mouse bool
}

func newExploreCmd(a *app) *cobra.Command {
	var fl exploreFlags
	cmd := &cobra.Command{
		Use:   "explore IMAGE [IMAGE_B]",
		Short: "Explore an image's layers and files interactively (dive's keys), or compare two images",
		Long: `explore opens a terminal UI on any image — registry, daemon, archive, layout:
the layers (step, instruction, size), the file tree as of the selected layer
with what that layer added (A), modified (M) and removed (R), and the
details (digest, full instruction, sizes, efficiency and wasted bytes, the
base image). The layer list shows at once from the manifest and config; the
tree fills as layers are indexed (from the index cache when kept).

Keys are dive's — Tab, Ctrl+F, Space, Ctrl+Space, Ctrl+A/R/M/U, Ctrl+B,
PgUp/PgDn, q, Ctrl+C — plus / filter, v view a file (text or hex, / to
search), x extract (safely, as strata extract), s sort by size, b hide the
base's layers, w waste overlay (Enter jumps to the step that caused it) and
? help. Bindings can be changed in $XDG_CONFIG_HOME/strata/explore.yaml
(else ~/.config/strata/explore.yaml) or --keys FILE:

  keys:
    quit: [q, ctrl+c]
    filter: [ctrl+f, /]

With two images, explore compares them: both layer stacks side by side
with the shared chain folded, and the file differences of the layers they
do not share (as strata diff --files); v views and x extracts a difference
as image B has it (Tab: as A has it).`,
		Example: `  strata explore nginx:1.25
  strata explore ./app.tar
  strata explore --keys ./keys.yaml ghcr.io/o/app:v1
  strata explore registry.example/app:v1 registry.example/app:v2`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runExplore(cmd, args, fl) },
	}
	cmd.Flags().StringVar(&fl.keys, "keys", "", "key bindings file (default $XDG_CONFIG_HOME/strata/explore.yaml)")
	cmd.Flags().BoolVar(&fl.mouse, "mouse", false, "turn on the mouse: click to select, wheel to scroll")
	a.addIndexFlags(cmd)
	a.addCatalogFlag(cmd)
	return cmd
}

func (a *app) runExplore(cmd *cobra.Command, args []string, fl exploreFlags) error {
	if a.format == formatJSON {
		return errors.New("explore is interactive; -o json does not apply (see strata files, waste, diff)")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(exploreMemoryLimit))
	}
	out := safetext.Unwrap(cmd.OutOrStdout())
	if !safetext.IsTerminal(out) {
		return errors.New("explore needs a terminal (for scripts: strata files, waste, diff --files)")
	}
	keysFile, named := fl.keys, fl.keys != ""
	if !named {
		keysFile = explore.DefaultKeysFile()
	}
	ctx := cmd.Context()
	o := explore.Options{KeysFile: keysFile, KeysNamed: named, Mouse: fl.mouse, In: a.stdin, Out: out}
	if s := a.indexStore(); s != nil {
		o.Store = s
	}
	if len(args) == 2 {
		return a.runCompare(ctx, args, o)
	}
	src, err := a.open(ctx, args[0])
	if err != nil {
		return err
	}
	defer src.Close()
	o.Ref, o.Source = args[0], src
	o.Base = func(ctx context.Context) (waste.Base, []string) {
		var notes []string
		warn := func(s string) { notes = append(notes, s) }
		im := layerindex.New(src, layerindex.Options{})
		b := a.wasteBase(ctx, src, im, warn)
		if b.Note != "" {
			notes = append(notes, b.Note)
		}
		return b, notes
	}
	if err := explore.Run(ctx, o); err != nil {
		return fmt.Errorf("explore: %w", err)
	}
	return nil
}

// exploreMemoryLimit is the soft heap limit of an explore run: what stays
// is the path table and the waste report (about 20 MiB for BIG's 101,101
// paths), with a layer or two being decoded on top while loading; the
// heap is kept near that instead of doubling between collections
// (GOMEMLIMIT, when set, wins).
const exploreMemoryLimit = 64 << 20
