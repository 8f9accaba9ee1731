package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/internal/progress"
	"github.com/strata-tool/strata/source"
)

var diffFlags struct {
	files            bool
	ignoreTimestamps bool
	path             string
	resolveBase      bool
	color            string
}

func init() {
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two images: verdict, shared layers, config, history and (with --files) files",
		Long: `diff compares two images from any sources (registry, daemon, docker save or
oci-archive tarball, OCI layout) and says first whether they are identical
(same manifest), the same content (same config and layers under another name
or encoding) or different, and where they diverge: the shared layer chain and
the first differing history step. Then the config, manifest and history
differences, and with --files the file differences of the layers the two do
not share — shared layers are never read.

Exit status: 0 same (identical or same content), 1 different, 2 error.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return &exitCodeError{code: 2, err: fmt.Errorf("diff wants two image references, got %d", len(args))}
			}
			return nil
		},
		RunE: runDiff,
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitCodeError{code: 2, err: err} })
	f := cmd.Flags()
	f.BoolVar(&diffFlags.files, "files", false, "also diff the files of the layers the two images do not share")
	f.BoolVar(&diffFlags.ignoreTimestamps, "ignore-timestamps", false, "ignore creation times (image, history) and file modification times")
	f.StringVar(&diffFlags.path, "path", "", "limit the file diff to this path prefix (implies --files)")
	f.BoolVar(&diffFlags.resolveBase, "resolve-base", false, "read the shared base layers too, so paths only one side wrote are classed exactly as added or changed")
	f.StringVar(&diffFlags.color, "color", "auto", "colour the text output: auto (only on a terminal), always, never")
	rootCmd.AddCommand(cmd)
}

func runDiff(cmd *cobra.Command, args []string) error {
	fail := func(err error) error { return &exitCodeError{code: 2, err: err} }
	asJSON, err := wantJSON()
	if err != nil {
		return fail(err)
	}
	colour, err := useColour(diffFlags.color, cmd.OutOrStdout())
	if err != nil {
		return fail(err)
	}
	ctx := cmd.Context()
	// Both opens are round trips to (possibly) different places; run them
	// together, since metadata is all a history-level diff needs.
	var srcs [2]source.Source
	var errs [2]error
	var wg sync.WaitGroup
	for i := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srcs[i], errs[i] = openImage(ctx, args[i])
		}()
	}
	wg.Wait()
	for _, s := range srcs {
		if s != nil {
			defer s.Close()
		}
	}
	for i, err := range errs {
		if err != nil {
			return fail(fmt.Errorf("image %s: %w", "AB"[i:i+1], err))
		}
	}
	a, b := srcs[0], srcs[1]

	opts := diff.Options{
		IgnoreTimestamps: diffFlags.ignoreTimestamps,
		PathPrefix:       diffFlags.path,
		ResolveBase:      diffFlags.resolveBase,
	}
	res := diff.Images(a.Image(), b.Image(), opts)
	if diffFlags.files || diffFlags.path != "" || diffFlags.resolveBase {
		meter := progress.ForStderr("strata diff: reading layers", -1)
		res.Files, err = diff.Files(ctx, a.Image(), b.Image(), meteredLayers{a, meter}, meteredLayers{b, meter}, res.SharedLayers, opts)
		meter.Finish()
		if err != nil {
			return fail(fmt.Errorf("file diff: %w", err))
		}
	}
	if asJSON {
		err = writeJSON(cmd.OutOrStdout(), res)
	} else {
		err = res.WriteText(cmd.OutOrStdout(), colour)
	}
	if err != nil {
		return fail(err)
	}
	if !res.Verdict.Same() {
		return &exitCodeError{code: 1}
	}
	return nil
}

// useColour decides on ANSI colours: "auto" means only when w is a
// terminal and NO_COLOR is unset.
func useColour(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto", "":
		if os.Getenv("NO_COLOR") != "" {
			return false, nil
		}
		f, ok := w.(*os.File)
		if !ok {
			return false, nil
		}
		st, err := f.Stat()
		return err == nil && st.Mode()&os.ModeCharDevice != 0, nil
	}
	return false, fmt.Errorf("--color %q: want auto, always or never", mode)
}

// meteredLayers counts the uncompressed bytes of every layer read towards a
// progress meter (drawn only when stderr is a terminal).
type meteredLayers struct {
	src   diff.LayerOpener
	meter *progress.Meter
}

func (m meteredLayers) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	rc, err := m.src.OpenLayer(ctx, i)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{m.meter.Reader(rc), rc}, nil
}
