package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
)

type filesFlags struct {
	layer   int
	step    int
	changes bool
	path    string
	tree    bool
}

func newFilesCmd(a *app) *cobra.Command {
	fl := filesFlags{layer: -1}
	cmd := &cobra.Command{
		Use:   "files IMAGE",
		Short: "List the files of an image (final file system or per-layer changes), with the step that wrote each",
		Long: `files lists the file system the image's layers leave (overlay rules: whiteouts
delete, opaque directories hide, later layers win), one path a line with its
mode, owner, size and blame: the history step (as strata layers numbers them)
whose layer last wrote it; the steps' instructions follow the list.

--layer N (0-based layer index) or --step N (the step that made the layer)
shows what that layer did instead: each path it added, modified or deleted
(whiteouts) and each directory it made opaque; --changes shows that for every
layer. --path selects with a glob ("etc", "**/*.so", "usr/lib/**"): a path
matches when it or a parent directory does. --tree draws the final file
system as an indented tree with directory sizes. Sizes are exact bytes when
piped, human units on a terminal.

Every layer is indexed once and the index kept by layer digest (see
--no-cache): eStargz and zstd:chunked layers in a registry are listed from
their table of contents alone, other layers are read once.`,
		Example: `  strata files nginx:1.25
  strata files --path 'etc/nginx/**' --tree ./nginx.tar
  strata files --changes -o json ghcr.io/o/app:v2
  strata files --step 7 oci:./layout`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runFiles(cmd, args[0], fl) },
	}
	f := cmd.Flags()
	f.IntVar(&fl.layer, "layer", -1, "show what layer N (0-based, as in JSON \"layer\") added, modified and deleted")
	f.IntVar(&fl.step, "step", 0, "show what the layer of history step N (as strata layers numbers them) changed")
	f.BoolVar(&fl.changes, "changes", false, "show every layer's changes, step by step")
	f.StringVar(&fl.path, "path", "", "only paths matching this glob (or below a matching directory)")
	f.BoolVar(&fl.tree, "tree", false, "draw the final file system as a tree with directory sizes")
	a.addIndexFlags(cmd)
	return cmd
}

func (a *app) runFiles(cmd *cobra.Command, ref string, fl filesFlags) error {
	pat, err := layerindex.ParsePattern(fl.path)
	if err != nil {
		return fmt.Errorf("--path: %w", err)
	}
	if fl.tree && (fl.changes || fl.layer >= 0 || fl.step > 0) {
		return fmt.Errorf("--tree draws the final file system; it does not combine with --layer, --step or --changes")
	}
	ctx := cmd.Context()
	im, done, err := a.openIndex(ctx, ref, true)
	if err != nil {
		return err
	}
	defer done()
	only, err := fl.pickLayer(im)
	if err != nil {
		return err
	}
	w, human := cmd.OutOrStdout(), terminalWidth(cmd.OutOrStdout()) > 0
	if only < 0 && !fl.changes {
		fsys, err := filelist.FinalFS(ctx, im)
		if err != nil {
			return err
		}
		noteOrphans(cmd.ErrOrStderr(), fsys)
		rows := filelist.Merged(im, fsys, pat)
		return a.emit(w, rows, func(w io.Writer) error {
			if fl.tree {
				return renderTree(w, im, fsys, pat, human)
			}
			return renderList(w, im, rows, human)
		})
	}
	groups, err := filelist.Changes(ctx, im, only, pat)
	if err != nil {
		return err
	}
	return a.emit(w, filelist.Rows(groups), func(w io.Writer) error { return renderChanges(w, im, groups, human) })
}

// pickLayer turns --layer/--step into a layer index (-1: none asked).
func (fl filesFlags) pickLayer(im *layerindex.Image) (int, error) {
	n := len(im.Image.Layers)
	switch {
	case fl.layer >= 0 && fl.step > 0:
		return 0, fmt.Errorf("--layer and --step both name a layer; give one")
	case fl.layer >= n:
		return 0, fmt.Errorf("--layer %d: the image has %d layers (0–%d)", fl.layer, n, n-1)
	case fl.layer >= 0:
		return fl.layer, nil
	case fl.step > 0:
		if fl.step > len(im.Steps) {
			return 0, fmt.Errorf("--step %d: the image has %d steps", fl.step, len(im.Steps))
		}
		s := im.Steps[fl.step-1]
		if s.Layer == nil {
			return 0, fmt.Errorf("--step %d (%s) made no layer", fl.step, s.Instruction)
		}
		return *s.Layer, nil
	}
	return -1, nil
}

func noteOrphans(w io.Writer, fsys *layerindex.FS) {
	if n := len(fsys.Orphans); n > 0 {
		fmt.Fprintf(w, "note: %s below a symlink or file left out (first: %s): no file system can hold them\n", count(n, "path"), safetext.Line(fsys.Orphans[0]))
	}
}
