package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layers"
)

func newCatCmd(a *app) *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "cat IMAGE PATH",
		Short: "Print a file as the image's final file system has it",
		Long: `cat prints the content of PATH in the image's final file system, following
symlinks the way the image's own root would (absolute targets start at the
image root, ".." stops there: resolution never leaves the image). The
content is checked against the sha256 recorded when the layer was indexed.

From a registry only the span holding the file is fetched when the layer's
table of contents (eStargz, zstd:chunked) or a kept index says where it is;
otherwise the layer is read once and indexed for next time.

Piped or redirected, the exact bytes are written. On a terminal control
characters are shown escaped (\x1b) so a file cannot drive the terminal;
--raw writes them as they are.`,
		Example: `  strata cat nginx:1.25 /etc/nginx/nginx.conf
  strata cat ./img.tar etc/os-release
  strata cat --platform linux/arm64 ghcr.io/o/app:v1 /app/config.yaml > config.yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runCat(cmd, args[0], args[1], raw) },
	}
	a.addIndexFlags(cmd)
	cmd.Flags().BoolVar(&raw, "raw", false, "write control characters to a terminal as they are")
	return cmd
}

func (a *app) runCat(cmd *cobra.Command, ref, p string, raw bool) error {
	if a.format == formatJSON {
		return fmt.Errorf("cat prints file content; -o json does not apply")
	}
	ctx := cmd.Context()
	im, done, err := a.openIndex(ctx, ref, false)
	if err != nil {
		return err
	}
	defer done()
	fsys, err := filelist.FinalFS(ctx, im)
	if err != nil {
		return err
	}
	a.indexed()
	name, f, err := fsys.Resolve(p)
	if err != nil {
		return notFound(err, p)
	}
	if f.Entry == nil || f.Type == layers.TypeDir {
		return fmt.Errorf("%s is a directory", p)
	}
	if f.Type != layers.TypeFile && f.Type != layers.TypeHardlink {
		return fmt.Errorf("%s is a %s, not a regular file", name, f.Type)
	}
	rc, err := im.Open(ctx, f)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(safetext.Content(cmd.OutOrStdout(), raw), rc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
