package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/unpack"
)

type extractFlags struct {
	dir     string
	force   bool
	special bool
	maxSize string
}

func newExtractCmd(a *app) *cobra.Command {
	var fl extractFlags
	cmd := &cobra.Command{
		Use:   "extract IMAGE [PATH…] -C DIR",
		Short: "Write the image's final file system (or subtrees of it) into a directory, safely",
		Long: `extract writes the image's final file system, or the subtrees PATH… name, into
DIR. Images are hostile input, so: paths are cleaned and stay below DIR; no
symlink is ever followed while writing (not one from the image, not one
written a moment ago, not one already in DIR): every directory is opened
relative to its parent with O_NOFOLLOW; hardlinks only link to files
written below DIR; device nodes are not created; setuid/setgid bits are
dropped unless --preserve-special; owners are set when run as root. What is
refused or skipped is listed on stderr (exit 1 when something was refused).

DIR must be empty (or not exist) unless --force. Before writing anything,
the content to write is compared with --max-size and with the free space
in DIR. Regular files are checked against their sha256 as they are written.`,
		Example: `  strata extract nginx:1.25 -C ./rootfs
  strata extract ./img.tar etc/nginx usr/share/nginx -C ./out
  strata extract --max-size 2GB ghcr.io/o/app:v1 /app -C ./app`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runExtract(cmd, args[0], args[1:], fl) },
	}
	f := cmd.Flags()
	f.StringVarP(&fl.dir, "directory", "C", "", "directory to write into (required)")
	f.BoolVar(&fl.force, "force", false, "write into a directory that already holds files, replacing what is in the way")
	f.BoolVar(&fl.special, "preserve-special", false, "keep setuid and setgid bits")
	f.StringVar(&fl.maxSize, "max-size", "", "refuse to write more file content than this (e.g. 500MB, 2GiB)")
	_ = cmd.MarkFlagRequired("directory")
	a.addIndexFlags(cmd)
	return cmd
}

func (a *app) runExtract(cmd *cobra.Command, ref string, paths []string, fl extractFlags) error {
	limit, err := parseSize(fl.maxSize)
	if err != nil {
		return err
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
	sel, err := fsys.Select(paths...)
	if err != nil {
		return err
	}
	if err := checkRoom(fl.dir, sel.Bytes, limit); err != nil {
		return err
	}
	w, err := unpack.Create(fl.dir, unpack.Options{Force: fl.force, PreserveSpecial: fl.special,
		Owners: os.Geteuid() == 0, MaxBytes: limit})
	if err != nil {
		return err
	}
	rep, err := im.Extract(ctx, fsys, sel, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := a.emit(cmd.OutOrStdout(), rep, func(out io.Writer) error { return extractText(out, rep, fl.dir) }); err != nil {
		return err
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s: %s\n", safetext.Line(s.Path), s.Reason)
	}
	for _, r := range rep.Refused {
		fmt.Fprintf(cmd.ErrOrStderr(), "refused %s: %s\n", safetext.Line(r.Path), r.Reason)
	}
	if len(rep.Refused) > 0 {
		return &exitCodeError{code: 1, err: fmt.Errorf("%d %s refused as unsafe (listed above)", len(rep.Refused), map[bool]string{true: "entry", false: "entries"}[len(rep.Refused) == 1])}
	}
	return nil
}

func extractText(w io.Writer, rep *layerindex.ExtractReport, dir string) error {
	_, err := fmt.Fprintf(w, "wrote %s (%s), %d directories and %s into %s\n", count(rep.Files, "file"),
		humanize.Bytes(rep.Bytes), rep.Dirs, count(rep.Links, "link"), dir)
	return err
}

// parseSize reads 500MB (decimal), 2GiB (binary) or plain bytes; "" is no
// limit.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	parse := units.FromHumanSize
	if strings.HasSuffix(strings.ToLower(s), "ib") {
		parse = units.RAMInBytes
	}
	n, err := parse(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--max-size %q: want a size such as 500MB or 2GiB", s)
	}
	return n, nil
}

// checkRoom refuses, before anything is written, content over the limit
// or over the free space where it would go: a layer that inflates to more
// than the disk holds (a gzip bomb) stops here.
func checkRoom(dir string, need, limit int64) error {
	if limit > 0 && need > limit {
		return fmt.Errorf("the selection holds %s of file content, over --max-size %s; nothing written",
			humanize.Bytes(need), humanize.Bytes(limit))
	}
	if free, err := unpack.Free(dir); err == nil && need > free {
		return fmt.Errorf("the selection holds %s of file content and %s has %s free; nothing written",
			humanize.Bytes(need), dir, humanize.Bytes(free))
	}
	return nil
}
