package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/strata-tool/strata/internal/safetext"
)

func writeSignatures(b *textOut, d *SignatureDiff) {
	if d == nil || len(d.OnlyA)+len(d.OnlyB) == 0 {
		return
	}
	b.WriteString("\nsignatures and attestations:\n")
	for _, s := range d.OnlyA {
		b.op("-", "  - "+safetext.Line(s)+"  (only A)")
	}
	for _, s := range d.OnlyB {
		b.op("+", "  + "+safetext.Line(s)+"  (only B)")
	}
}

// writePackages prints per ecosystem what was added, removed, upgraded
// and downgraded, with the step on each side.
func writePackages(b *textOut, r *PackageResult) {
	if r == nil {
		return
	}
	var ecos []string
	for e := range r.Counts {
		ecos = append(ecos, e)
	}
	sort.Strings(ecos)
	var sum []string
	for _, e := range ecos {
		c := r.Counts[e]
		sum = append(sum, fmt.Sprintf("%s: %d added, %d removed, %d upgraded, %d downgraded", e,
			c[PkgAdded], c[PkgRemoved], c[PkgUpgraded], c[PkgDowngraded]+c[PkgChanged]))
	}
	fmt.Fprintf(b, "\npackages: %d unchanged", r.Same)
	if len(sum) > 0 {
		fmt.Fprintf(b, "; %s", strings.Join(sum, "; "))
	}
	b.WriteString("\n")
	for _, c := range r.Changes {
		op := map[string]string{PkgAdded: "+", PkgRemoved: "-"}[c.Kind]
		if op == "" {
			op = "~"
		}
		// Package names and versions come from the image's databases:
		// kept on one line each.
		name := safetext.Line(c.Name)
		if c.Arch != "" {
			name += ":" + safetext.Line(c.Arch)
		}
		c.A, c.B = safetext.Line(c.A), safetext.Line(c.B)
		var line string
		switch c.Kind {
		case PkgAdded:
			line = fmt.Sprintf("  + %s %s %s  (B step %d)", c.Ecosystem, name, c.B, c.StepB)
		case PkgRemoved:
			line = fmt.Sprintf("  - %s %s %s  (A step %d)", c.Ecosystem, name, c.A, c.StepA)
		default:
			line = fmt.Sprintf("  ~ %s %s %s → %s  %s (A step %d, B step %d)", c.Ecosystem, name, c.A, c.B, c.Kind, c.StepA, c.StepB)
		}
		b.op(op, line)
	}
}
