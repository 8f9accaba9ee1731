package diff

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layers"
)

// historyContext is how many agreeing steps are shown around a change.
const historyContext = 3

// textOut collects diff's text. Every piece is escaped on the way in
// (package safetext: image text cannot drive the terminal); strata's own
// colour codes are added around escaped pieces, so the only escape
// sequences in the output are those.
type textOut struct {
	b      strings.Builder
	colour bool
}

func (o *textOut) WriteString(s string) (int, error) {
	o.b.WriteString(safetext.Escape(s))
	return len(s), nil
}

func (o *textOut) Write(p []byte) (int, error) { return o.WriteString(string(p)) }

// paint writes s in the SGR colour code, when colour is on.
func (o *textOut) paint(code, s string) {
	if !o.colour {
		o.WriteString(s)
		return
	}
	o.b.WriteString("\x1b[" + code + "m")
	o.WriteString(s)
	o.b.WriteString("\x1b[0m")
}

// op writes one line coloured for its diff operation.
func (o *textOut) op(op, s string) {
	switch op {
	case "+":
		o.paint("32", s)
	case "-":
		o.paint("31", s)
	case "~", "*":
		o.paint("33", s)
	default:
		o.WriteString(s)
	}
	o.b.WriteString("\n")
}

// WriteText renders the result for people; colour adds ANSI colours (the
// caller decides, from whether the output is a terminal). Image-derived
// text is escaped (safetext): fields that must stay on one line (paths,
// keys, instructions) with safetext.Line.
func (r *Result) WriteText(w io.Writer, colour bool) error {
	b := &textOut{colour: colour}
	for _, s := range []struct {
		tag  string
		side Side
	}{{"A", r.A}, {"B", r.B}} {
		b.paint("1", s.tag)
		fmt.Fprintf(b, "  %s", safetext.Line(s.side.Reference))
		if s.side.Transport != "" {
			fmt.Fprintf(b, " (%s)", s.side.Transport)
		}
		if s.side.ManifestDigest != "" {
			fmt.Fprintf(b, "  manifest %s", short(s.side.ManifestDigest))
		}
		if s.side.ID != "" {
			fmt.Fprintf(b, "  config %s", short(s.side.ID))
		}
		fmt.Fprintf(b, "  %s, %s\n", plural(s.side.Layers, "layer"), plural(s.side.HistorySteps, "step"))
	}
	b.WriteString("\nverdict: ")
	b.paint("1", verdictText(r.Verdict))
	b.WriteString("\n")
	by := ""
	if r.SharedBy != "" {
		by = ", by " + r.SharedBy
	}
	fmt.Fprintf(b, "  shared layer chain: %d (A has %d, B has %d%s)\n", r.SharedLayers, r.A.Layers, r.B.Layers, by)
	if s := r.FirstDifferingStep; s != nil {
		fmt.Fprintf(b, "  first differing history step: %d\n    A: %s\n    B: %s\n", s.Step, safetext.Line(orNone(s.A)), safetext.Line(orNone(s.B)))
		switch {
		case s.SameInstruction && s.A == s.B:
			b.WriteString("    (the same instruction, but it made a different layer)\n")
		case s.SameInstruction && contentHashed(s.A) && contentHashed(s.B):
			b.WriteString("    (the same instruction with other sources: the builder's content hash differs, and so does the layer)\n")
		case s.SameInstruction:
			b.WriteString("    (the same instruction, recorded differently by each builder, but it made a different layer)\n")
		}
	} else {
		b.WriteString("  histories agree step for step\n")
	}

	section(b, "config", r.Config)
	section(b, "manifest", r.Manifest)
	writeHistory(b, r.History)
	if r.Files != nil {
		writeFiles(b, r.Files)
	}
	writeSignatures(b, r.Signatures)
	writePackages(b, r.Packages)
	if len(r.Notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(b, "  %s\n", safetext.Line(n))
		}
	}
	_, err := io.WriteString(w, b.b.String())
	return err
}

func verdictText(v Verdict) string {
	switch v {
	case Identical:
		return "identical (same manifest digest)"
	case SameContent:
		return "same content (same config and layers; name or manifest encoding differ)"
	case OtherSignatures:
		return "same content, different signatures / attestations"
	}
	return "different"
}

func section(b *textOut, title string, cs []Change) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, c := range cs {
		op := "~"
		switch {
		case c.A == nil:
			op = "+"
		case c.B == nil:
			op = "-"
		}
		name := c.Field
		if c.Key != "" {
			name += " " + safetext.Line(c.Key)
		}
		line := fmt.Sprintf("  %s %s: %s → %s", op, name, value(c.A), value(c.B))
		if c.Note != "" {
			line += "  (" + safetext.Line(c.Note) + ")"
		}
		b.op(op, line)
	}
}

func writeHistory(b *textOut, h HistoryDiff) {
	if h.FirstDiffering == nil {
		return
	}
	b.WriteString("\nhistory (--- A, +++ B):\n")
	// Show agreeing lines only near a change, like diff -u.
	near := make([]bool, len(h.Lines))
	for i, l := range h.Lines {
		if l.Op != " " || l.LayerDiffers {
			for j := max(0, i-historyContext); j <= min(len(h.Lines)-1, i+historyContext); j++ {
				near[j] = true
			}
		}
	}
	hidden := 0
	flush := func() {
		if hidden > 0 {
			fmt.Fprintf(b, "  @@ %d matching steps @@\n", hidden)
			hidden = 0
		}
	}
	for i, l := range h.Lines {
		if !near[i] {
			hidden++
			continue
		}
		flush()
		size := ""
		switch {
		case l.Op == "-" && l.SizeA != nil:
			size = sizeText(l.SizeA, l.SizeKindA, true)
		case l.Op == "+" && l.SizeB != nil:
			size = sizeText(l.SizeB, l.SizeKindB, true)
		case l.Op == " " && l.LayerDiffers:
			size = sizesText(l) + ", layer differs"
		case l.Op == " " && l.SizeA != nil:
			size = sizeText(l.SizeA, l.SizeKindA, true)
		}
		line := "  " + l.Op + " " + safetext.Line(l.Text)
		if l.TextB != "" {
			line += "   (B: " + safetext.Line(l.TextB) + ")"
		}
		if size != "" {
			line += "   [" + size + "]"
		}
		op := l.Op
		if op == " " && l.LayerDiffers {
			op = "~"
		}
		b.op(op, line)
	}
	flush()
}

func writeFiles(b *textOut, f *FileResult) {
	fmt.Fprintf(b, "\nfiles: %d added, %d removed, %d changed", f.Added, f.Removed, f.Changed)
	if f.Written > 0 {
		fmt.Fprintf(b, ", %d written over the shared base\n", f.Written)
		b.WriteString("  (* = one side wrote it over the shared base, which was not read: it differs\n" +
			"   unless it repeats the base exactly; --resolve-base reads the base to tell)")
	}
	b.WriteString("\n")
	for _, c := range f.Changes {
		var line, op string
		switch c.Kind {
		case Added:
			op, line = "+", safetext.Line(c.Path)+"  "+entryText(c.B)
		case Removed:
			op, line = "-", safetext.Line(c.Path)+"  "+entryText(c.A)
		case Changed:
			op, line = "~", safetext.Line(c.Path)+"  "+fieldsText(c)
		case Written:
			e := c.A
			if c.Side == "B" {
				e = c.B
			}
			op, line = "*", safetext.Line(c.Path)+"  "+entryText(e)+"  (by "+c.Side+")"
		}
		b.op(op, "  "+op+" "+line)
	}
	fmt.Fprintf(b, "  read %s: %s stored, %s tar; skipped %s: %s stored",
		plural(f.Read.Layers, "layer"), humanize.Bytes(f.Read.Blob), humanize.Bytes(f.Read.Tar), plural(f.Skipped.Layers, "layer"), humanize.Bytes(f.Skipped.Blob))
	if f.Skipped.Tar > 0 {
		fmt.Fprintf(b, ", %s tar", humanize.Bytes(f.Skipped.Tar))
	}
	if f.BaseRead {
		fmt.Fprintf(b, "\n  shared base read because %s", f.BaseReason)
	}
	b.WriteString("\n")
}

func entryText(e *layers.Entry) string {
	if e == nil {
		return ""
	}
	s := fmt.Sprintf("%s %04o %d:%d", e.Type, e.Mode, e.UID, e.GID)
	if e.Type == layers.TypeFile || e.Type == layers.TypeHardlink {
		s += " " + humanize.Bytes(e.Size)
	}
	if e.Link != "" {
		s += " → " + safetext.Line(e.Link)
	}
	if e.Digest != "" {
		s += " " + short(e.Digest)
	}
	return s
}

func fieldsText(c FileChange) string {
	x, y := c.A, c.B
	var parts []string
	for _, f := range c.Fields {
		var from, to string
		switch f {
		case "type":
			from, to = x.Type.String(), y.Type.String()
		case "mode":
			from, to = fmt.Sprintf("%04o", x.Mode), fmt.Sprintf("%04o", y.Mode)
		case "uid":
			from, to = strconv.Itoa(x.UID), strconv.Itoa(y.UID)
		case "gid":
			from, to = strconv.Itoa(x.GID), strconv.Itoa(y.GID)
		case "size":
			from, to = humanize.Bytes(x.Size), humanize.Bytes(y.Size)
			if from == to {
				from, to = strconv.FormatInt(x.Size, 10)+" B", strconv.FormatInt(y.Size, 10)+" B"
			}
		case "link":
			from, to = safetext.Line(x.Link), safetext.Line(y.Link)
		case "content":
			from, to = short(x.Digest), short(y.Digest)
		case "mtime":
			from, to = x.ModTime.Format("2006-01-02T15:04:05Z"), y.ModTime.Format("2006-01-02T15:04:05Z")
		}
		parts = append(parts, f+" "+from+" → "+to)
	}
	return strings.Join(parts, "; ")
}

func value(s *string) string {
	if s == nil {
		return "(unset)"
	}
	return strconv.Quote(*s)
}

func orNone(s string) string {
	if s == "" {
		return "(no step: history ended)"
	}
	return s
}

// sizeText shows one layer size with its kind ("?" when the step made a
// layer of unknown size).
func sizeText(n *int64, kind string, layer bool) string {
	switch {
	case n != nil:
		return humanize.Bytes(*n) + " " + kind
	case layer:
		return "?"
	}
	return "no layer"
}

// sizesText shows A's and B's layer sizes, naming the kind once when both
// are of one kind.
func sizesText(l HistoryLine) string {
	if l.SizeA != nil && l.SizeB != nil && l.SizeKindA == l.SizeKindB {
		return humanize.Bytes(*l.SizeA) + " → " + humanize.Bytes(*l.SizeB) + " " + l.SizeKindA
	}
	return sizeText(l.SizeA, l.SizeKindA, l.layerA) + " → " + sizeText(l.SizeB, l.SizeKindB, l.layerB)
}

// short abbreviates a digest to algorithm plus 12 hex digits.
func short(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// contentHashRe matches a COPY/ADD whose sources survive only as the
// builder's content hash (classic builder, buildah).
var contentHashRe = regexp.MustCompile(`^(COPY|ADD) (\S+ )*(file|dir|multi):[0-9a-f]{16,}`)

func contentHashed(line string) bool { return contentHashRe.MatchString(line) }
