package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
)

// layersReport is `strata layers -o json` (README).
type layersReport struct {
	Reference        string         `json:"reference"`
	Platform         string         `json:"platform"`
	Steps            []history.Step `json:"steps"`
	Layers           int            `json:"layers"`
	Size             int64          `json:"size"`
	UncompressedSize int64          `json:"uncompressedSize"`
	Problem          string         `json:"pairingProblem,omitempty"`
}

func newLayersCmd(a *app) *cobra.Command {
	var noTrunc bool
	cmd := &cobra.Command{
		Use:   "layers IMAGE",
		Short: "List every history step with its instruction, layer, size and diff_id (docker history --no-trunc, without pulling)",
		Long: `List every history step: its number (the step number every strata verb uses),
the layer it made (uncompressed and compressed size, short diff_id) or
(empty), when it was created, and its instruction as the history translator
reads it. Layers no history entry accounts for are listed too.

On a terminal long instructions are cut to the width; --no-trunc prints them
whole with their spacing (newlines shown as \n). Piped output is never cut.`,
		Example: `  strata layers nginx:1.25
  strata layers --no-trunc ./img.tar
  strata layers -o json --platform linux/arm64 ghcr.io/o/r:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := a.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			rep := newLayersReport(src.Image())
			return a.emit(cmd.OutOrStdout(), rep, func(w io.Writer) error {
				width := 0
				if !noTrunc {
					width = terminalWidth(w)
				}
				return renderLayers(w, rep, width, noTrunc)
			})
		},
	}
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "never cut instructions; keep their spacing")
	return cmd
}

func newLayersReport(img *image.Image) layersReport {
	rep := layersReport{Reference: img.Reference, Platform: img.Platform.String(), Layers: len(img.Layers),
		Problem: img.PairingProblem, Steps: history.Steps(img)}
	rep.Size, rep.UncompressedSize = history.TotalSizes(img.Layers)
	return rep
}

// renderLayers prints the table; width > 0 cuts each row to that many
// columns (a terminal's width); asRecorded keeps each instruction's own
// spacing.
func renderLayers(w io.Writer, rep layersReport, width int, asRecorded bool) error {
	fmt.Fprintf(w, "%s (%s)\n", safetext.Line(rep.Reference), safetext.Line(rep.Platform))
	var rows []string
	rows = append(rows, "STEP\tSIZE\tCOMPRESSED\tDIFF_ID\tCREATED\t")
	for _, r := range rep.Steps {
		size, comp, diff := "-", "-", "(empty)"
		if r.Layer != nil {
			size, comp, diff = humanize.Bytes(r.UncompressedSize), humanize.Bytes(r.Size), shortDigest(r.DiffID)
		}
		created := ""
		if r.Created != nil {
			created = r.Created.UTC().Format("2006-01-02 15:04")
		}
		rows = append(rows, fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t", r.Step, size, comp, diff, created))
	}
	rows = append(rows, fmt.Sprintf("\t%s\t%s\t%s\t\t", humanize.Bytes(rep.UncompressedSize), humanize.Bytes(rep.Size), count(rep.Layers, "layer")))
	// The fixed columns are aligned first, so the instruction can be cut to
	// what the terminal has left after them.
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, line := range lines {
		text := ""
		switch {
		case i == 0:
			text = "INSTRUCTION"
		case i <= len(rep.Steps) && asRecorded:
			text = rep.Steps[i-1].Text
		case i <= len(rep.Steps):
			text = rep.Steps[i-1].Instruction
		}
		room := 0
		if width > 0 {
			// A narrow terminal still shows the start of each instruction.
			room = max(width-len([]rune(line))-1, 20)
		}
		fmt.Fprintln(w, strings.TrimRight(line+instructionCell(text, room), " "))
	}
	if rep.Problem != "" {
		fmt.Fprintf(w, "note: %s\n", safetext.Line(rep.Problem))
	}
	return nil
}

// instructionCell renders an instruction on one row, escaped (safetext):
// newlines as \n; with room > 0 (a terminal) whitespace runs collapse and
// the text is cut to room columns, measured after escaping.
func instructionCell(s string, room int) string {
	if room <= 0 {
		return strings.NewReplacer("\r\n", `\n`, "\n", `\n`).Replace(safetext.Escape(s))
	}
	s = safetext.Line(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > room {
		return string(r[:max(room-1, 1)]) + "…"
	}
	return s
}

// terminalWidth is the width of w when it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	f, ok := safetext.Unwrap(w).(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		return 0
	}
	return width
}

func shortDigest(d string) string {
	if d == "" {
		return "?"
	}
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}
