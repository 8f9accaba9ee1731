package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/referrers"
	"github.com/strata-tool/strata/source"
)

// inspectOut is the image model plus what refers to it (registry
// images only).
type inspectOut struct {
	*image.Image
	Referrers *referrers.Result `json:"referrers,omitempty"`
}

func newInspectCmd(a *app) *cobra.Command {
	var noReferrers bool
	cmd := &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Print the whole image model (manifest, config, layers, history) as JSON",
		Long: `Print the whole image model as JSON: reference, transport, manifest digest and
media type, annotations, image ID, platform, the full config, layers, history
paired with layers, the index the image was chosen from (platforms and
attestation manifests) and notes on what the transport could not say.
For a registry image, "referrers" lists what signs and attests it (as strata
referrers does; --no-referrers skips the lookup).
The model is JSON whatever -o says.`,
		Example: `  strata inspect nginx:1.25
  strata inspect oci:./layout:v1 | jq .config.config.Env
  strata inspect 127.0.0.1:5000/app:v2 | jq .referrers`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := a.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			out := inspectOut{Image: src.Image()}
			if _, ok := src.(source.ReferrerLister); ok && !noReferrers {
				out.Referrers, err = referrers.List(cmd.Context(), src, referrers.Options{})
				if err != nil {
					out.Referrers = &referrers.Result{Items: []referrers.Item{}, Notes: []string{"referrers not listed: " + err.Error()}}
				}
			}
			return a.emit(cmd.OutOrStdout(), out, func(w io.Writer) error { return writeJSON(w, out) })
		},
	}
	cmd.Flags().BoolVar(&noReferrers, "no-referrers", false, "do not ask the registry what refers to the image")
	return cmd
}
