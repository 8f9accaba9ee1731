package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
)

// renderList prints one path a line, then the instruction of every step
// the list blames.
func renderList(w io.Writer, im *layerindex.Image, rows []filelist.Row, human bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODE\tUID:GID\tSIZE\tSTEP\t PATH")
	steps := map[int]bool{}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d:%d\t%s\t%d\t %s\n", r.ModeString(), r.UID, r.GID,
			sizeCell(r, human), r.Step, pathCell(r))
		steps[r.Step] = true
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", count(len(rows), "path"))
	return stepLegend(w, im, steps)
}

// pathCell is a path (and its link) on one row: image text escaped onto
// one line, so a newline in a name cannot forge a row.
func pathCell(r filelist.Row) string {
	p, l := safetext.Line(r.Path), safetext.Line(r.Link)
	switch r.Type {
	case "symlink":
		return p + " -> " + l
	case "hardlink":
		return p + " => " + l
	case "dir":
		return p + "/"
	}
	return p
}

// stepLegend prints "STEP n  instruction" for each step number in use.
func stepLegend(w io.Writer, im *layerindex.Image, used map[int]bool) error {
	var nums []int
	for n := range used {
		if n > 0 {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		fmt.Fprintf(w, "step %d: %s\n", n, oneLineInstruction(im.Steps[n-1].Instruction))
	}
	return nil
}

func oneLineInstruction(s string) string { return safetext.Line(strings.Join(strings.Fields(s), " ")) }

// renderTree draws the final file system, directories with the size of
// what lies below them.
func renderTree(w io.Writer, im *layerindex.Image, fsys *layerindex.FS, pat layerindex.Pattern, human bool) error {
	sizes := fsys.DirSizes()
	if pat.String() == "**" {
		fmt.Fprintf(w, "%10s  /\n", bytesCell(sizes[""], human))
	}
	steps := map[int]bool{}
	for _, f := range fsys.Files() {
		if !pat.Match(f.Path) {
			continue
		}
		r := filelist.Of(im, f)
		depth := strings.Count(f.Path, "/") + 1
		name := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
		size := sizeCell(r, human)
		if r.Type == "dir" {
			size = bytesCell(sizes[f.Path], human)
		}
		r.Path = name
		fmt.Fprintf(w, "%10s  %s%s  (step %d)\n", size, strings.Repeat("  ", depth), pathCell(r), r.Step)
		steps[r.Step] = true
	}
	return stepLegend(w, im, steps)
}

func bytesCell(n int64, human bool) string {
	if human {
		return humanize.Bytes(n)
	}
	return fmt.Sprint(n)
}

var changeMark = map[string]string{"added": "A", "modified": "M", "deleted": "D", "opaque": "O"}

func renderChanges(w io.Writer, im *layerindex.Image, groups []filelist.Group, human bool) error {
	for _, g := range groups {
		step := "?"
		instr := ""
		if s, ok := im.Step(g.Layer); ok {
			step, instr = fmt.Sprint(s.Step), oneLineInstruction(s.Instruction)
		}
		fmt.Fprintf(w, "step %s (layer %d): %s\n", step, g.Layer, instr)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, r := range g.Rows {
			mode, size := "", ""
			if r.Type != "" && r.Change != "deleted" {
				mode, size = r.ModeString(), sizeCell(r, human)
			}
			note := ""
			if r.Change == "opaque" {
				note = "  (opaque: hides what lower layers had below)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t %s%s\n", changeMark[r.Change], mode, size, pathCell(r), note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
