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
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/source"
)

// diffFlags are diff's own flags.
type diffFlags struct {
	files            bool
	ignoreTimestamps bool
	path             string
	resolveBase      bool
	color            string
	packages         bool
	noSignatures     bool
}

func newDiffCmd(a *app) *cobra.Command {
	var fl diffFlags
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two images: verdict, shared layers, config, history and (with --files) files",
		Long: `diff compares two images from any sources (registry, daemon, docker save or
oci-archive tarball, OCI layout) and says first whether they are identical
(same manifest), the same content (same config and layers under another name
or encoding) or different, and where they diverge: the shared layer chain and
the first differing history step. Then the config, manifest and history
differences, and with --files the file differences of the layers the two do
not share — shared layers are never read. --packages adds the packages
added, removed, upgraded and downgraded per ecosystem, with the step on each
side (see strata packages). For two registry images, what signs and attests
each (see strata referrers) is compared too: the same content with other
signatures or attestations is its own verdict.

Exit status: 0 same (identical or same content), 1 different (also: same
content, different signatures), 2 error.`,
		Example: `  strata diff nginx:1.25 nginx:1.26
  strata diff --files ./before.tar ./after.tar
  strata diff --packages debian:12.5 debian:12.6
  strata diff -o json registry.example/app:v1 docker-daemon:app:dev`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("diff wants two image references, got %d", len(args))
			}
			return nil
		},
		Annotations: map[string]string{errorExitAnnotation: "2"},
		RunE:        func(cmd *cobra.Command, args []string) error { return a.runDiff(cmd, args, fl) },
	}
	f := cmd.Flags()
	f.BoolVar(&fl.files, "files", false, "also diff the files of the layers the two images do not share")
	f.BoolVar(&fl.ignoreTimestamps, "ignore-timestamps", false, "ignore creation times (image, history) and file modification times")
	f.StringVar(&fl.path, "path", "", "limit the file diff to this path prefix (implies --files)")
	f.BoolVar(&fl.resolveBase, "resolve-base", false, "read the shared base layers too, so paths only one side wrote are classed exactly as added or changed")
	f.StringVar(&fl.color, "color", "auto", "colour the text output: auto (only on a terminal), always, never")
	f.BoolVar(&fl.packages, "packages", false, "also diff the packages the images install (see strata packages)")
	f.BoolVar(&fl.noSignatures, "no-signatures", false, "do not compare what signs and attests two registry images")
	a.addIndexFlags(cmd)
	return cmd
}

func (a *app) runDiff(cmd *cobra.Command, args []string, fl diffFlags) error {
	colour, err := useColour(fl.color, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	srcs, err := a.openBoth(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	defer closeAll(srcs[:])
	a0, b0 := srcs[0], srcs[1]
	opts := diff.Options{
		IgnoreTimestamps: fl.ignoreTimestamps,
		PathPrefix:       fl.path,
		ResolveBase:      fl.resolveBase,
	}
	res := diff.Images(a0.Image(), b0.Image(), opts)
	if fl.files || fl.path != "" || fl.resolveBase {
		meter := progress.ForStderr("strata diff: reading layers", -1)
		res.Files, err = diff.Files(ctx, a0.Image(), b0.Image(), meteredLayers{a0, meter}, meteredLayers{b0, meter}, res.SharedLayers, opts)
		meter.Finish()
		if err != nil {
			return fmt.Errorf("file diff: %w", err)
		}
	}
	if fl.packages {
		if res.Packages, err = a.diffPackages(ctx, srcs); err != nil {
			return fmt.Errorf("package diff: %w", err)
		}
	}
	if !fl.noSignatures {
		a.diffSignatures(ctx, srcs, res)
	}
	out := cmd.OutOrStdout()
	if colour {
		// diff escapes every piece of image text itself and adds its SGR
		// colours around it; only those pass.
		out = safetext.WithSGR(out)
	}
	if err := a.emit(out, res, func(w io.Writer) error { return res.WriteText(w, colour) }); err != nil {
		return err
	}
	if !res.Verdict.Same() {
		return &exitCodeError{code: 1}
	}
	return nil
}

// openBoth opens two images at once: both opens are round trips to
// (possibly) different places, and metadata is all a history diff needs.
func (a *app) openBoth(ctx context.Context, refA, refB string) ([2]source.Source, error) {
	var srcs [2]source.Source
	var errs [2]error
	var wg sync.WaitGroup
	for i, ref := range []string{refA, refB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic here would end the process with a goroutine dump:
			// make it this side's error instead.
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("internal error (a strata bug, please report): %v", r)
				}
			}()
			srcs[i], errs[i] = a.open(ctx, ref)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, s := range srcs {
				if s != nil {
					s.Close()
				}
			}
			return srcs, fmt.Errorf("image %s: %w", "AB"[i:i+1], err)
		}
	}
	return srcs, nil
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
		f, ok := safetext.Unwrap(w).(*os.File)
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
