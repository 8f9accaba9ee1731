package waste

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
)

// WriteText renders the report for people: the summary, waste by cause,
// each finding with its fix, the top offenders, and what is visible but
// avoidable. instruction names a step's instruction for the closing list
// (nil: no list). brief (for CI logs) keeps the summary and the findings.
func (r *Report) WriteText(w io.Writer, instruction func(step int) string, brief bool) error {
	b := &strings.Builder{}
	steps := map[int]bool{}
	r.summary(b)
	if brief {
		instruction = nil
	}
	if len(r.ByCause) > 0 && !brief {
		fmt.Fprintln(b, "\nby cause:")
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, c := range r.ByCause {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", c.Cause, humanize.Bytes(c.Bytes), count(c.Files, "file"))
		}
		tw.Flush()
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(b, "\nfindings:")
	}
	for _, f := range r.Findings {
		what := string(f.Cause)
		if f.Cache != "" {
			what += " (" + f.Cache + " cache)"
		}
		fmt.Fprintf(b, "  %s: %s %s in %s shipped by %s, e.g. %s\n    fix: %s\n", Where(f.Step, f.Layer), what,
			humanize.Bytes(f.Bytes), count(f.Files, "file"), StepList(f.ShippedSteps, f.ShippedLayers), safetext.Line(f.Example), safetext.Line(f.Fix))
		mark(steps, f.Step)
		for _, s := range f.ShippedSteps {
			mark(steps, s)
		}
	}
	if brief {
		fmt.Fprintf(b, "\nvisible but avoidable: %s (duplicate content and caches; strata waste without --ci lists them)\n", humanize.Bytes(r.Avoidable.Bytes))
	} else {
		r.topText(b)
		r.avoidableText(b, steps)
	}
	if instruction != nil && len(steps) > 0 {
		keys := make([]int, 0, len(steps))
		for s := range steps {
			keys = append(keys, s)
		}
		slices.Sort(keys)
		fmt.Fprintln(b)
		for _, s := range keys {
			fmt.Fprintf(b, "step %d: %s\n", s, safetext.Line(instruction(s)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) summary(b *strings.Builder) {
	fmt.Fprintf(b, "efficiency %.2f %%: %s of file content shipped in %s, %s in the final file system\n",
		100*r.Efficiency, humanize.Bytes(r.ContentBytes), count(r.Layers, "layer"), humanize.Bytes(r.FinalBytes))
	fmt.Fprintf(b, "wasted %s (%s bytes; about %s as stored)\n", humanize.Bytes(r.WastedBytes), Thousands(r.WastedBytes), humanize.Bytes(r.WastedCompressedBytes))
	fmt.Fprintf(b, "user waste %s = %.2f %% of the %s the image's own steps ship (%s)\n",
		humanize.Bytes(r.UserWastedBytes), r.UserWastedPercent, humanize.Bytes(r.UserContentBytes), r.Base)
	if r.Base.Note != "" {
		fmt.Fprintf(b, "  note: %s\n", r.Base.Note)
	}
}

func (r *Report) topText(b *strings.Builder) {
	if len(r.Top) == 0 {
		return
	}
	fmt.Fprintln(b, "\ntop offenders:")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  WASTED\tFILES\tCAUSE\tBY\tSHIPPED BY\tPATH")
	for _, o := range r.Top {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\n", humanize.Bytes(o.Bytes), o.Files, o.Cause, Where(o.Step, o.Layer),
			StepList(o.ShippedSteps, nil), safetext.Line(o.Path))
	}
	tw.Flush()
}

func (r *Report) avoidableText(b *strings.Builder, steps map[int]bool) {
	av := r.Avoidable
	if av.Bytes == 0 {
		fmt.Fprintln(b, "\nvisible but avoidable: nothing found (no duplicate content, no package-manager caches)")
		return
	}
	fmt.Fprintf(b, "\nvisible but avoidable: %s\n", humanize.Bytes(av.Bytes))
	if d := av.Duplicates; d.Groups > 0 {
		fmt.Fprintf(b, "  duplicate content: %s in %s (%s)\n", humanize.Bytes(d.Bytes), count(d.Groups, "group"), count(d.Files, "file"))
		for _, g := range d.Top {
			var paths []string
			for i, p := range g.Paths {
				mark(steps, p.Step)
				if i == 3 {
					paths = append(paths, fmt.Sprintf("… (%d more)", len(g.Paths)-3))
					break
				}
				paths = append(paths, fmt.Sprintf("%s (%s)", safetext.Line(p.Path), Where(p.Step, p.Layer)))
			}
			fmt.Fprintf(b, "    %s: %s of %s = %s\n      fix: %s\n", humanize.Bytes(g.Bytes), fmt.Sprintf("%d copies", len(g.Paths)),
				humanize.Bytes(g.Size), strings.Join(paths, " = "), safetext.Line(g.Fix))
		}
	}
	for _, c := range av.Caches {
		fmt.Fprintf(b, "  %s cache: %s in %s from %s, e.g. %s\n    fix: %s\n", c.Cache, humanize.Bytes(c.Bytes), count(c.Files, "file"),
			StepList(c.Steps, c.Layers), safetext.Line(c.Example), safetext.Line(c.Fix))
		for _, s := range c.Steps {
			mark(steps, s)
		}
	}
}

// String says which layers are the base's ("base debian:12: 1 layer").
func (b Base) String() string {
	switch {
	case b.Layers > 0 && b.Name != "":
		return fmt.Sprintf("base %s: %s", b.Name, count(b.Layers, "layer"))
	case b.Layers > 0:
		return "base: " + count(b.Layers, "layer")
	case b.Name != "":
		return "base " + b.Name
	}
	return "no base layers"
}

func mark(steps map[int]bool, s int) {
	if s > 0 {
		steps[s] = true
	}
}

// Where names a position: the step, else the layer when no step made it.
func Where(step, layer int) string {
	if step > 0 {
		return fmt.Sprintf("step %d", step)
	}
	return fmt.Sprintf("layer %d", layer)
}

// StepList renders steps ("steps 3, 6"), else layers when no step is known.
func StepList(steps, layers []int) string {
	if len(steps) == 0 {
		var ls []string
		for _, l := range layers {
			ls = append(ls, strconv.Itoa(l))
		}
		if len(ls) == 0 {
			return "-"
		}
		return "layer " + strings.Join(ls, ", ")
	}
	var ss []string
	for _, s := range steps {
		ss = append(ss, strconv.Itoa(s))
	}
	if len(ss) == 1 {
		return "step " + ss[0]
	}
	return "steps " + strings.Join(ss, ", ")
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Thousands(int64(n)) + " " + noun + "s"
}

// Thousands renders n with comma separators (197,151,959).
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
