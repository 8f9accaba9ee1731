package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/buildcontext"
	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/provenance"
	"github.com/strata-tool/strata/unpack"
)

// deepFlags are strata dockerfile's --deep and --context flags.
type deepFlags struct {
	deep, force, special bool
	dir                  string
	layers, fromHistory  bool
}

func (d *deepFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&d.deep, "deep", false, "read the COPY/ADD layers to fill in what the history lost (writes nothing)")
	f.StringVar(&d.dir, "context", "", "write the Dockerfile and the build context it needs into `DIR`")
	f.BoolVar(&d.force, "force", false, "with --context: write into a directory that already holds files")
	f.BoolVar(&d.special, "preserve-special", false, "with --context: keep setuid and setgid bits in the build context")
}

// deepReport is `strata dockerfile --deep/--context -o json`.
type deepReport struct {
	dockerfileReport
	Context *buildcontext.Plan   `json:"context"`
	Written *buildcontext.Report `json:"written,omitempty"`
}

// jsonFields streams the report as its struct encodes: the embedded
// dockerfile report's fields, then the context's (without this method
// the embedded one's would be promoted and drop them).
func (r deepReport) jsonFields() []jsonField {
	return append(r.dockerfileReport.jsonFields(),
		jsonField{name: "context", value: r.Context},
		jsonField{name: "written", value: r.Written, omit: r.Written == nil})
}

// runDeep renders the Dockerfile with what the layers tell, and with
// --context writes it and its build context.
func (a *app) runDeep(cmd *cobra.Command, ref string, fl deepFlags, warn func(string)) error {
	ctx := cmd.Context()
	src, err := a.open(ctx, ref)
	if err != nil {
		return err
	}
	defer src.Close()
	img := src.Image()
	im := layerindex.New(src, a.indexOptions())
	var prov *provenance.Provenance
	var recorded string
	if !fl.fromHistory {
		prov = readProvenance(ctx, src, warn)
	}
	if prov != nil {
		if text, _, ok := prov.Dockerfile(); ok {
			recorded = string(text)
			warn("note: the provenance attestation records the original Dockerfile (strata dockerfile prints it); --deep and --context reconstruct from the history and the layers, whose files a rebuild needs")
		}
	}
	opts := dockerfile.Options{Layers: fl.layers, Base: a.fromBase(ctx, img, prov, warn)}
	plan, err := buildcontext.Recover(ctx, im, dockerfile.Outline(img, opts), buildcontext.Options{PreserveSpecial: fl.special, Provenance: recorded})
	if err != nil {
		return err
	}
	opts.Recovered = plan.Recovered
	res := dockerfile.Render(img, opts)
	rep := deepReport{dockerfileReport: dockerfileReport{img.Reference, img.Platform.String(), prov, res}, Context: plan}
	for _, n := range res.Notes {
		warn("note: " + n)
	}
	if fl.dir == "" {
		return a.emit(cmd.OutOrStdout(), rep, func(w io.Writer) error { _, err := io.WriteString(w, res.Text); return err })
	}
	return a.writeContext(cmd, im, plan, rep, fl)
}

// writeContext writes DIR/Dockerfile and the context, then says what it
// wrote; anything refused as unsafe makes the exit status 1.
func (a *app) writeContext(cmd *cobra.Command, im *layerindex.Image, plan *buildcontext.Plan, rep deepReport, fl deepFlags) error {
	if err := checkRoom(fl.dir, plan.Bytes, 0); err != nil {
		return err
	}
	w, err := buildcontext.Write(cmd.Context(), im, plan, rep.Result.Text, fl.dir, unpack.Options{Force: fl.force, PreserveSpecial: fl.special})
	if err != nil {
		return err
	}
	rep.Written = w
	err = a.emit(cmd.OutOrStdout(), rep, func(out io.Writer) error {
		_, err := fmt.Fprintf(out, "wrote %s and a build context of %s (%s) for %s into %s\n",
			filepath.Join(fl.dir, "Dockerfile"), count(w.Files, "file"), humanize.Bytes(w.Bytes), count(len(plan.Steps), "COPY/ADD step"), fl.dir)
		return err
	})
	if err != nil {
		return err
	}
	for _, s := range w.Skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s: %s\n", safetext.Line(s.Path), s.Reason)
	}
	for _, r := range w.Refused {
		fmt.Fprintf(cmd.ErrOrStderr(), "refused %s: %s\n", safetext.Line(r.Path), r.Reason)
	}
	if len(w.Refused) > 0 {
		return &exitCodeError{code: 1, err: fmt.Errorf("%s of the build context refused as unsafe (listed above)", count(len(w.Refused), "context entr")+map[bool]string{true: "y", false: "ies"}[len(w.Refused) == 1])}
	}
	return nil
}
