package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newInspectCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Print the whole image model (manifest, config, layers, history) as JSON",
		Long: `Print the whole image model as JSON: reference, transport, manifest digest and
media type, annotations, image ID, platform, the full config, layers, history
paired with layers, the index the image was chosen from (platforms and
attestation manifests) and notes on what the transport could not say.
The model is JSON whatever -o says.`,
		Example: `  strata inspect nginx:1.25
  strata inspect oci:./layout:v1 | jq .config.config.Env`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := a.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			img := src.Image()
			return a.emit(cmd.OutOrStdout(), img, func(w io.Writer) error { return writeJSON(w, img) })
		},
	}
}
