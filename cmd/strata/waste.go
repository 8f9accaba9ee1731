package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/gate"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
	"github.com/strata-tool/strata/waste"
)

type wasteFlags struct {
	ci       bool
	ciConfig string
	reports  []string
	top      int
}

func newWasteCmd(a *app) *cobra.Command {
	var fl wasteFlags
	cmd := &cobra.Command{
		Use:   "waste IMAGE",
		Short: "Measure the bytes an image's layers ship that its final file system does not show, and say why and how to fix it",
		Long: `waste measures efficiency and wasted bytes: per path, every regular-file byte
shipped in any layer minus what stays visible in the final file system. A file
deleted later, overwritten, or re-shipped by a metadata-only change (chmod,
chown) wastes its hidden copies — once, never counting the kept copy too.
Each finding names the step that shipped the bytes, the step that hid them
and a concrete fix; the same content at several paths and package-manager
caches left in the image are listed as visible but avoidable. "User" waste
leaves out the base image's own waste: the base's layers come from the lineage
(strata base), and when the base is unknown the first layer only is the base's.

--ci judges the result by dive's .dive-ci rules (lowestEfficiency,
highestWastedBytes, highestUserWastedPercent; or --ci-config FILE; dive's
defaults without a file) plus strata's pathRules (fail when a glob such as
'**/.cache/**' ships), prints each rule's verdict, and writes --report
junit=FILE / sarif=FILE for CI systems. Works on every source, a registry
included; layers are read once and indexed (see --no-cache).

Exit status: 0 success (with --ci: every rule passed), 1 a --ci rule failed,
2 error.`,
		Example: `  strata waste nginx:1.25
  strata waste -o json ./app.tar
  strata waste --ci --report junit=waste.xml --report sarif=waste.sarif registry.example/app:v2`,
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{errorExitAnnotation: "2"},
		RunE:        func(cmd *cobra.Command, args []string) error { return a.runWaste(cmd, args[0], fl) },
	}
	f := cmd.Flags()
	f.BoolVar(&fl.ci, "ci", false, "judge the image by the rules in .dive-ci (or --ci-config); exit 1 when one fails")
	f.StringVar(&fl.ciConfig, "ci-config", "", "rules file in dive's .dive-ci format (implies --ci)")
	f.StringArrayVar(&fl.reports, "report", nil, "with --ci, also write the verdicts: junit=FILE or sarif=FILE (repeatable)")
	f.IntVar(&fl.top, "top", 10, "how many offenders and duplicate groups to list")
	a.addIndexFlags(cmd)
	a.addCatalogFlag(cmd)
	return cmd
}

// wasteOutput is `waste -o json`: the report, the image, the CI verdicts.
type wasteOutput struct {
	Image string `json:"image"`
	*waste.Report
	CI *gate.Result `json:"ci,omitempty"`
}

// wasteMemoryLimit is the soft heap limit of a waste run: the analysis
// keeps one small record per path and a layer or two in flight, so the
// heap is kept near that instead of growing to twice it between
// collections (GOMEMLIMIT, when set, wins).
const wasteMemoryLimit = 32 << 20

func (a *app) runWaste(cmd *cobra.Command, ref string, fl wasteFlags) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(wasteMemoryLimit))
	}
	ctx := cmd.Context()
	cfg, err := fl.gateConfig()
	if err != nil {
		return err
	}
	reports, err := parseReports(fl.reports, cfg != nil)
	if err != nil {
		return err
	}
	src, err := a.open(ctx, ref)
	if err != nil {
		return err
	}
	defer src.Close()
	o := a.indexOptions()
	// Waste compares content but names only the duplicate groups it lists
	// by digest: those few files are read again, by range, from the kept
	// index. Without a store or range reads (a daemon) that would mean
	// reading layers twice, so every file is hashed in the one pass.
	_, ranged := src.(source.BlobRanger)
	o.FingerprintOnly = o.Store != nil && ranged
	im := layerindex.New(src, o)
	warn := func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "strata: "+oneLine(s)) }
	base := a.wasteBase(ctx, src, im, warn)
	r, err := a.wasteReport(ctx, im, fl.top, base, cfg != nil && len(cfg.Paths) > 0)
	if err != nil {
		return err
	}
	out := wasteOutput{Image: ref, Report: r}
	if cfg != nil {
		if out.CI, err = a.judge(ctx, im, cfg, r, ref, reports); err != nil {
			return err
		}
	}
	err = a.emit(cmd.OutOrStdout(), out, func(w io.Writer) error { return writeWasteText(w, im, out) })
	if err == nil && out.CI != nil && !out.CI.Pass {
		return &exitCodeError{code: 1}
	}
	return err
}

func writeWasteText(w io.Writer, im *layerindex.Image, out wasteOutput) error {
	fmt.Fprintf(w, "%s (%s)\n", out.Image, im.Image.Platform)
	err := out.Report.WriteText(w, func(step int) string {
		if step < 1 || step > len(im.Steps) {
			return "?"
		}
		return im.Steps[step-1].Instruction
	}, out.CI != nil)
	if err == nil && out.CI != nil {
		fmt.Fprintln(w)
		err = out.CI.WriteText(w)
	}
	return err
}

// wasteBase is the base's share of the layers, from the lineage
// (waste.BaseOf).
func (a *app) wasteBase(ctx context.Context, src source.Source, im *layerindex.Image, warn func(string)) waste.Base {
	return waste.BaseOf(a.lineageOf(ctx, im.Image, readProvenance(ctx, src, warn), warn), len(im.Image.Layers))
}
