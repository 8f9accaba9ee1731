package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/provenance"
)

// dockerfileReport is `strata dockerfile -o json` (README).
type dockerfileReport struct {
	Reference  string                 `json:"reference"`
	Platform   string                 `json:"platform"`
	Provenance *provenance.Provenance `json:"provenance,omitempty"`
	*dockerfile.Result
}

// jsonFields streams the report: its history is most of it.
func (r dockerfileReport) jsonFields() []jsonField {
	res := r.Result
	history := jsonField{name: "history", value: res.Records, list: listOf(res.Records)}
	if len(res.Records) == 0 {
		history.list = nil
	}
	return []jsonField{
		{name: "reference", value: r.Reference},
		{name: "platform", value: r.Platform},
		{name: "provenance", value: r.Provenance, omit: r.Provenance == nil},
		{name: "dockerfile", value: res.Text},
		{name: "from", value: res.From},
		history,
		{name: "notes", value: res.Notes, omit: len(res.Notes) == 0},
	}
}

const dockerfileLong = `Reconstruct the Dockerfile that built an image from its history and config.

When the image carries a BuildKit provenance attestation made with mode=max,
the Dockerfile recorded there is printed exactly (use --from-history to
reconstruct from the history anyway). Otherwise the history gives the order
of steps and the config the final values; # comments mark what was guessed
or lost. FROM names the base the lineage finds (see strata base), with the
catalog given by --catalog. -o json prints one record per history entry.

--deep reads the layers of the COPY/ADD steps too (writing nothing): sources
the history lost become build-context paths, --chown/--chmod the history
dropped come back from the tar headers, COPY heredoc bodies are filled in,
and RUN steps a rebuild cannot reproduce (network, clock) are marked.
--context DIR writes that Dockerfile to DIR/Dockerfile with the build
context it needs, safely (as strata extract writes: nothing outside DIR, no
symlink followed, no device nodes, setuid/setgid dropped unless
--preserve-special; DIR must be empty unless --force), so that
docker build DIR, buildctl or buildah rebuilds the image.`

func newDockerfileCmd(a *app) *cobra.Command {
	var fl deepFlags
	cmd := &cobra.Command{
		Use:   "dockerfile IMAGE",
		Short: "Reconstruct the Dockerfile that built an image",
		Long:  dockerfileLong,
		Example: `  strata dockerfile nginx:1.25
  strata dockerfile --layers ./img.tar
  strata dockerfile --deep ./img.tar
  strata dockerfile --context ./rebuild ghcr.io/o/app:v2 && docker build ./rebuild
  strata dockerfile --catalog postgres://strata@db/strata ghcr.io/o/app:v2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			warn := func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "strata: "+oneLine(s)) }
			if fl.deep || fl.dir != "" {
				return a.runDeep(cmd, args[0], fl, warn)
			}
			return a.runDockerfile(cmd, args[0], fl, warn)
		},
	}
	cmd.Flags().BoolVar(&fl.layers, "layers", false, "annotate each instruction with the layer it made (index, size, digest)")
	cmd.Flags().BoolVar(&fl.fromHistory, "from-history", false, "ignore a provenance attestation and reconstruct from the history")
	fl.register(cmd)
	a.addCatalogFlag(cmd)
	a.addIndexFlags(cmd)
	return cmd
}

// runDockerfile is the metadata-only reconstruction: no layer is read.
func (a *app) runDockerfile(cmd *cobra.Command, ref string, fl deepFlags, warn func(string)) error {
	ctx := cmd.Context()
	src, err := a.open(ctx, ref)
	if err != nil {
		return err
	}
	defer src.Close()
	img := src.Image()
	var prov *provenance.Provenance
	if !fl.fromHistory {
		prov = readProvenance(ctx, src, warn)
	}
	var res *dockerfile.Result
	if prov != nil {
		if text, name, ok := prov.Dockerfile(); ok {
			// Exact notes a recorded Dockerfile that does not parse.
			res = dockerfile.Exact(img, text, fmt.Sprintf("%s exactly as recorded in the image's BuildKit provenance attestation (%s)", name, prov.PredicateType))
		}
	}
	if res == nil {
		// Render checks its own output (a note says if it fails).
		res = dockerfile.Render(img, dockerfile.Options{Layers: fl.layers, Base: a.fromBase(ctx, img, prov, warn)})
	}
	rep := dockerfileReport{img.Reference, img.Platform.String(), prov, res}
	return a.emit(cmd.OutOrStdout(), rep, func(w io.Writer) error {
		_, err := io.WriteString(w, res.Text)
		for _, n := range res.Notes {
			warn("note: " + n)
		}
		return err
	})
}
