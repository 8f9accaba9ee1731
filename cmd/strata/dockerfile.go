package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/provenance"
	"github.com/strata-tool/strata/source"
)

// Attestation blobs are small JSON; a mode=max statement of a large build
// is a few MB (python's is 2.2 MB).
const (
	maxAttestationManifest = 1 << 20
	maxStatement           = 64 << 20
)

func init() {
	var withLayers, fromHistory bool
	cmd := &cobra.Command{
		Use:   "dockerfile IMAGE",
		Short: "Reconstruct the Dockerfile that built an image",
		Long: `Reconstruct the Dockerfile that built an image from its history and config.

When the image carries a BuildKit provenance attestation made with mode=max,
the Dockerfile recorded there is printed exactly (use --from-history to
reconstruct from the history anyway). Otherwise the history gives the order
of steps and the config the final values; # comments mark what was guessed
or lost. -o json prints one record per history entry.`,
		Args: cobra.ExactArgs(1),
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
			img := src.Image()

			var res *dockerfile.Result
			var prov *provenance.Provenance
			if !fromHistory {
				prov, err = readProvenance(cmd.Context(), src, img)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "strata: provenance attestation unreadable, reconstructing from history: %v\n", err)
				}
			}
			if prov != nil {
				if text, name, ok := prov.Dockerfile(); ok {
					res = dockerfile.Exact(img, text, fmt.Sprintf("%s exactly as recorded in the image's BuildKit provenance attestation (%s)", name, prov.PredicateType))
				}
			}
			if res == nil {
				base, err := lineageBase(cmd.Context(), img, prov)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "strata: base image lookup failed, reconstructing without the catalog: %v\n", err)
				}
				res = dockerfile.Render(img, dockerfile.Options{Layers: withLayers, Base: base})
			}
			if err := dockerfile.Validate(res.Text); err != nil {
				res.Notes = append(res.Notes, "the output does not parse (a strata bug, please report): "+err.Error())
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					Reference  string                 `json:"reference"`
					Platform   string                 `json:"platform"`
					Provenance *provenance.Provenance `json:"provenance,omitempty"`
					*dockerfile.Result
				}{img.Reference, img.Platform.String(), prov, res})
			}
			_, err = io.WriteString(cmd.OutOrStdout(), res.Text)
			for _, n := range res.Notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "strata: note: "+n)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&withLayers, "layers", false, "annotate each instruction with the layer it made (index, size, digest)")
	cmd.Flags().BoolVar(&fromHistory, "from-history", false, "ignore a provenance attestation and reconstruct from the history")
	cmd.Flags().StringVar(&catalogSpec, "catalog", "", "catalog to name the base image from (default: the embedded one, if it exists; or postgres://…)")
	rootCmd.AddCommand(cmd)
}

// readProvenance fetches the image's SLSA provenance statement, if its
// index has an attestation manifest for it. Only this verb reads it.
func readProvenance(ctx context.Context, src source.Source, img *image.Image) (*provenance.Provenance, error) {
	att, ok := img.Index.AttestationFor(img.ManifestDigest)
	if !ok || img.ManifestDigest == "" {
		return nil, nil
	}
	mb, err := src.ReadBlob(ctx, att, maxAttestationManifest)
	if err != nil {
		return nil, fmt.Errorf("read attestation manifest %s: %w", att.Digest, err)
	}
	layers, err := provenance.StatementLayers(mb)
	if err != nil {
		return nil, err
	}
	var first *provenance.Provenance
	for _, l := range layers {
		b, err := src.ReadBlob(ctx, l, maxStatement)
		if err != nil {
			return nil, fmt.Errorf("read provenance statement %s: %w", l.Digest, err)
		}
		p, err := provenance.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("provenance statement %s: %w", l.Digest, err)
		}
		if _, _, ok := p.Dockerfile(); ok {
			return p, nil
		}
		if first == nil {
			first = p
		}
	}
	return first, nil
}
