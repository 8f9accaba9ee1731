package main

import (
	"fmt"
	"io"
	"strings"

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
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			warn := func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "strata: "+oneLine(s)) }
			cat, where, err := a.openCatalog(ctx, false)
			if err != nil {
				return err
			}
			if cat != nil {
				defer cat.Close()
			}
			srcs, err := a.openPlatforms(ctx, args[0], allPlatforms)
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
					printLineage(w, r)
				}
				return nil
			})
		},
	}
	a.addCatalogFlag(cmd)
	cmd.Flags().BoolVar(&allPlatforms, "all-platforms", false, "resolve every platform of a multi-platform image")
	return cmd
}

func printLineage(w io.Writer, r *lineage.Result) {
	fmt.Fprintf(w, "%s (%s, %s)\n", r.Image, r.Platform, count(r.Layers, "layer"))
	if len(r.Ancestry) == 0 {
		fmt.Fprintln(w, "base: unknown")
	}
	for i, s := range r.Ancestry {
		label := "base"
		if i > 0 {
			label = "  ←"
		}
		fmt.Fprintf(w, "%s %s  [%s; %s; %s]\n", label, stepName(s), stepLayers(s), s.Confidence, strings.Join(s.Signals, "+"))
		if !s.Unknown && len(s.Names) > 0 {
			if d := s.Names[0].Digest; d != "" {
				fmt.Fprintf(w, "       digest %s\n", d)
			}
			if d := s.Names[0].Index; d != "" {
				fmt.Fprintf(w, "       index  %s\n", d)
			}
		}
		for _, e := range s.Evidence {
			fmt.Fprintf(w, "       %s\n", e)
		}
	}
	if len(r.Identical) > 0 {
		var names []string
		for _, n := range r.Identical {
			names = append(names, n.Ref+" ("+n.Platform+")")
		}
		fmt.Fprintf(w, "identical: %s\n", strings.Join(names, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func stepName(s lineage.Step) string {
	if s.Unknown {
		return "unknown image"
	}
	var names []string
	for _, n := range s.Names {
		names = append(names, n.Ref)
	}
	return strings.Join(names, " = ")
}

func stepLayers(s lineage.Step) string {
	if s.Layers > 0 {
		return count(s.Layers, "layer")
	}
	return "? layers"
}
