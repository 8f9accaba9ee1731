package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/packages"
)

// stepLines maps step numbers to their instructions, for the footer.
func stepLines(im *layerindex.Image) map[int]string {
	out := map[int]string{}
	for _, s := range im.Steps {
		out[s.Step] = s.Instruction
	}
	return out
}

// renderPackages prints one package a line, then what was removed, then
// the instructions of every step named.
func renderPackages(w io.Writer, res *packages.Result, history bool, steps map[int]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tNAME\tVERSION\tARCH\tLICENSE\tSTEP\tCHANGE")
	used := map[int]bool{}
	row := func(p packages.Package, e packages.Event, first bool) {
		// Cells come from the image's package databases: one line each.
		name, lic := safetext.Line(p.Name), safetext.Line(orDash(p.License))
		if !first {
			name, lic = "", ""
		}
		ver := safetext.Line(e.Version)
		if e.From != "" {
			ver = safetext.Line(e.From) + " → " + ver
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Ecosystem, name, ver, safetext.Line(orDash(p.Arch)), lic, stepCell(e.Step), e.Change)
		used[e.Step] = true
	}
	for _, p := range res.Packages {
		if history {
			for i, e := range p.History {
				row(p, e, i == 0)
			}
			continue
		}
		row(p, packages.Event{Change: p.Change, Step: p.Step, Version: p.Version}, true)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, summary(res))
	if len(res.Removed) > 0 {
		fmt.Fprintln(w, "removed:")
		for _, p := range res.Removed {
			fmt.Fprintf(w, "  %s %s %s (step %s)\n", p.Ecosystem, safetext.Line(p.Name), safetext.Line(p.History[len(p.History)-1].Version), stepCell(p.Step))
			used[p.Step] = true
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return stepFooter(w, used, steps)
}

func summary(res *packages.Result) string {
	counts := map[packages.Ecosystem]int{}
	for _, p := range res.Packages {
		counts[p.Ecosystem]++
	}
	var parts []string
	for _, e := range packages.Ecosystems {
		if counts[e] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", e, counts[e]))
		}
	}
	s := count(len(res.Packages), "package")
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if len(res.Removed) > 0 {
		s += fmt.Sprintf("; %d removed", len(res.Removed))
	}
	return s
}

func stepFooter(w io.Writer, used map[int]bool, steps map[int]string) error {
	var ns []int
	for n := range used {
		if n > 0 {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	for _, n := range ns {
		if _, err := fmt.Fprintf(w, "step %d: %s\n", n, safetext.Line(steps[n])); err != nil {
			return err
		}
	}
	return nil
}

// stepCell is a 1-based step number, "-" where there is none.
func stepCell(n int) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
