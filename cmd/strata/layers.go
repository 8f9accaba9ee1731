package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/humanize"
)

// layerRow is one history step in `strata layers`; the JSON shape is part
// of the CLI contract (README, "strata layers -o json").
type layerRow struct {
	Step             int        `json:"step"`
	Instruction      string     `json:"instruction"`
	CreatedBy        string     `json:"created_by"`
	Empty            bool       `json:"empty"`
	Layer            *int       `json:"layer,omitempty"`
	Digest           string     `json:"digest,omitempty"`
	DiffID           string     `json:"diffID,omitempty"`
	Size             int64      `json:"size"`             // compressed, -1 unknown
	UncompressedSize int64      `json:"uncompressedSize"` // -1 unknown
	Created          *time.Time `json:"created,omitempty"`
	Comment          string     `json:"comment,omitempty"`
}

type layersReport struct {
	Reference        string     `json:"reference"`
	Platform         string     `json:"platform"`
	Steps            []layerRow `json:"steps"`
	Layers           int        `json:"layers"`
	Size             int64      `json:"size"`
	UncompressedSize int64      `json:"uncompressedSize"`
	Problem          string     `json:"pairingProblem,omitempty"`
}

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "layers IMAGE",
		Short: "List every history step with its instruction, layer, size and diff_id (docker history --no-trunc, without pulling)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := wantJSON()
			if err != nil {
				return err
			}
			src, err := openImage(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			rep := buildLayersReport(src.Image())
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return renderLayers(cmd.OutOrStdout(), rep)
		},
	})
}

func buildLayersReport(img *image.Image) layersReport {
	rep := layersReport{Reference: img.Reference, Platform: img.Platform.String(), Layers: len(img.Layers), Problem: img.PairingProblem}
	steps := history.TranslateAll(img)
	for i, h := range img.History {
		row := layerRow{Step: i + 1, Instruction: steps[i].Line(), CreatedBy: h.CreatedBy, Empty: h.EmptyLayer, Created: h.Created, Comment: h.Comment, Size: -1, UncompressedSize: -1}
		if h.Layer >= 0 {
			l := img.Layers[h.Layer]
			idx := h.Layer
			row.Layer = &idx
			row.Digest, row.DiffID, row.Size, row.UncompressedSize = l.Digest, l.DiffID, l.Size, l.UncompressedSize
		}
		rep.Steps = append(rep.Steps, row)
	}
	// Layers no history entry accounts for still count and are listed.
	for _, li := range img.UnpairedLayers() {
		l := img.Layers[li]
		idx := li
		rep.Steps = append(rep.Steps, layerRow{Step: len(rep.Steps) + 1, Instruction: "(no history for this layer)", Layer: &idx, Digest: l.Digest, DiffID: l.DiffID, Size: l.Size, UncompressedSize: l.UncompressedSize})
	}
	rep.Size, rep.UncompressedSize = sumSizes(img.Layers)
	return rep
}

// sumSizes totals known sizes; -1 when any layer's size is unknown.
func sumSizes(ls []image.Layer) (compressed, uncompressed int64) {
	for _, l := range ls {
		if l.Size < 0 || compressed < 0 {
			compressed = -1
		} else {
			compressed += l.Size
		}
		if l.UncompressedSize < 0 || uncompressed < 0 {
			uncompressed = -1
		} else {
			uncompressed += l.UncompressedSize
		}
	}
	return
}

func renderLayers(w io.Writer, rep layersReport) error {
	fmt.Fprintf(w, "%s (%s)\n", rep.Reference, rep.Platform)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSIZE\tCOMPRESSED\tDIFF_ID\tCREATED\tINSTRUCTION")
	for _, r := range rep.Steps {
		size, comp, diff := "-", "-", "(empty)"
		if r.Layer != nil {
			size, comp, diff = humanize.Bytes(r.UncompressedSize), humanize.Bytes(r.Size), shortDigest(r.DiffID)
		}
		created := ""
		if r.Created != nil {
			created = r.Created.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Step, size, comp, diff, created, oneLineTrunc(r.Instruction, 160))
	}
	fmt.Fprintf(tw, "\t%s\t%s\t%d layers\t\t\n", humanize.Bytes(rep.UncompressedSize), humanize.Bytes(rep.Size), rep.Layers)
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Problem != "" {
		fmt.Fprintf(w, "note: %s\n", rep.Problem)
	}
	return nil
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

func oneLineTrunc(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
