package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/lineage"
)

func newBaseCmd(a *app) *cobra.Command {
	var allPlatforms bool
	cmd := &cobra.Command{
		Use:   "base IMAGE",
		Short: "Name the image's base and its whole ancestry, with the evidence for each step",
		Long: `Name the image's base and ancestry, nearest first. Signals, strongest first:
the build's provenance attestation, org.opencontainers.image.base.* annotations,
buildah's FROM history comment, BuildKit buildinfo, then layer-chain matches
against the catalog (strata catalog add …), then history fingerprints, which
are labelled guesses. An ancestor nothing names is reported as unknown.
Each platform of a multi-platform image is resolved on its own
(--all-platforms resolves every one). -o json prints the lineage object
(an array of them with --all-platforms).`,
		Example: `  strata base python:3.12-slim
  strata base --all-platforms -o json ghcr.io/o/app:v2
  strata base --catalog ./bases.db ./app.tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runBase(cmd, args[0], allPlatforms) },
	}
	a.addCatalogFlag(cmd)
	cmd.Flags().BoolVar(&allPlatforms, "all-platforms", false, "resolve every platform of a multi-platform image")
	return cmd
}

// runBase resolves the lineage of each selected platform.
func (a *app) runBase(cmd *cobra.Command, ref string, allPlatforms bool) error {
	ctx := cmd.Context()
	warn := func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "strata: "+oneLine(s)) }
	cat, where, err := a.openCatalog(ctx, false)
	if err != nil {
		return err
	}
	if cat != nil {
		defer cat.Close()
	}
	srcs, err := a.openPlatforms(ctx, ref, allPlatforms)
	if err != nil {
		return err
	}
	defer closeAll(srcs)
	var results []*lineage.Result
	for _, src := range srcs {
		r, err := resolveLineage(ctx, cat, where, src.Image(), readProvenance(ctx, src, warn))
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	var v any = results
	if !allPlatforms {
		v = results[0]
	}
	return a.emit(cmd.OutOrStdout(), v, func(w io.Writer) error {
		for i, r := range results {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if err := lineage.WriteText(w, r); err != nil {
				return err
			}
		}
		return nil
	})
}
