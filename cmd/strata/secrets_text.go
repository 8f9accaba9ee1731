package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/secrets"
)

// secretsOutput is `strata secrets -o json` (README).
type secretsOutput struct {
	Reference string `json:"reference"`
	Platform  string `json:"platform"`
	*secrets.Report
}

// text prints one finding a row, then what was scanned.
func (o secretsOutput) text(w io.Writer) error {
	rep := o.Report
	if len(rep.Findings) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tSURFACE\tSTEP\tLAYER\tWHERE\tVALUE\tFINGERPRINT")
		for _, f := range rep.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Rule, f.Surface, stepCell(f.Step), layerCell(f.Layer),
				whereCell(f), safetext.Line(f.Value), f.Fingerprint)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fs := rep.Files
	_, err := fmt.Fprintf(w, "%s found (%d ignored); files: %d of %d scanned (%s), %d binary skipped, %d read while indexing, %d read from the cached index\n",
		count(len(rep.Findings), "secret"), rep.Ignored, fs.Candidates, fs.Entries, humanize.Bytes(fs.CandidateBytes), fs.Binary, fs.InPass, fs.Read)
	return err
}

func layerCell(l *int) string {
	if l == nil {
		return "-"
	}
	return fmt.Sprint(*l)
}

// whereCell is the path (and line) or key, and a file's fate.
func whereCell(f secrets.Finding) string {
	s := f.Key
	if f.Path != "" {
		s = f.Path
		if f.Line > 0 {
			s += fmt.Sprintf(":%d", f.Line)
		}
	}
	s = safetext.Line(s)
	if f.DeletedLater {
		s += fmt.Sprintf(" (%s at step %d, still in layer %s)", f.RemovedBy, f.RemovedStep, layerCell(f.Layer))
	}
	if s == "" {
		return "-"
	}
	return s
}
