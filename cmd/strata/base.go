package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/repoinfo"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/provenance"
	"github.com/strata-tool/strata/source"
)

func init() {
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
(an array of them with --all-platforms). A docker-library/repo-info
remote/<tag>.md file is read as the image it describes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := wantJSON()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cat, where, err := openCatalog(ctx, true)
			if err != nil {
				return err
			}
			if cat != nil {
				defer cat.Close()
			}
			targets, closeAll, err := baseTargets(ctx, args[0], allPlatforms)
			if err != nil {
				return err
			}
			defer closeAll()
			var results []*lineage.Result
			for _, t := range targets {
				in := lineage.Input{Image: t.img}
				if t.src != nil {
					prov, err := readProvenance(ctx, t.src, t.img)
					if err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "strata: provenance attestation unreadable, ignored: %v\n", err)
					}
					if prov != nil {
						for _, m := range prov.BaseImages() {
							in.Materials = append(in.Materials, lineage.Material{Ref: m.Ref, Digest: m.Digest, Platform: m.Platform})
						}
					}
				}
				r, err := lineage.Resolve(ctx, cat, in)
				if err != nil {
					return err
				}
				if cat == nil {
					r.Notes = append(r.Notes, fmt.Sprintf("no catalog at %s: layer chains were not matched (strata catalog add IMAGE… builds one)", where))
				}
				results = append(results, r)
			}
			if asJSON {
				if len(results) == 1 && !allPlatforms {
					return writeJSON(cmd.OutOrStdout(), results[0])
				}
				return writeJSON(cmd.OutOrStdout(), results)
			}
			for i, r := range results {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				if err := lineage.WriteText(cmd.OutOrStdout(), r); err != nil {
					return err
				}
			}
			return nil
		},
	}
	addCatalogFlag(cmd)
	cmd.Flags().BoolVar(&allPlatforms, "all-platforms", false, "resolve every platform of a multi-platform image")
	rootCmd.AddCommand(cmd)
}

type baseTarget struct {
	img *image.Image
	src source.Source // nil for a repo-info file
}

// baseTargets opens the image (every platform with all). A docker-library
// repo-info .md file is read as the image it describes.
func baseTargets(ctx context.Context, ref string, all bool) ([]baseTarget, func(), error) {
	if strings.HasSuffix(ref, ".md") {
		if f, err := repoinfo.ParseFile(ref); err == nil {
			var out []baseTarget
			want := image.HostPlatform()
			if flags.platform != "" {
				if want, err = parsePlatform(flags.platform); err != nil {
					return nil, nil, err
				}
			}
			for _, img := range f.Images() {
				if all || img.Platform.Satisfies(want) {
					out = append(out, baseTarget{img: img})
				}
			}
			if len(out) == 0 {
				return nil, nil, fmt.Errorf("%s: no %s section: %w", ref, want, source.ErrPlatformNotFound)
			}
			return out, func() {}, nil
		}
	}
	src, err := openImage(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	out := []baseTarget{{img: src.Image(), src: src}}
	closeAll := func() {
		for _, t := range out {
			t.src.Close()
		}
	}
	if img := src.Image(); all && img.Index != nil {
		opts, err := sourceOptions()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		for _, p := range img.Index.Platforms() {
			if p.OS == "unknown" || p.String() == img.Platform.String() {
				continue
			}
			p := p
			opts.Platform = &p
			s, err := source.Open(ctx, ref, opts)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("%s (%s): %w", ref, p, err)
			}
			out = append(out, baseTarget{img: s.Image(), src: s})
		}
	}
	return out, closeAll, nil
}

// lineageBase is what `strata dockerfile` needs for its FROM line: the
// lineage answer from the catalog (--catalog, else the default file if it
// exists) and the provenance materials already read. When the catalog
// fails the answer is read without it, and the error returned too.
func lineageBase(ctx context.Context, img *image.Image, prov *provenance.Provenance) (*lineage.Base, error) {
	in := lineage.Input{Image: img}
	if prov != nil {
		for _, m := range prov.BaseImages() {
			in.Materials = append(in.Materials, lineage.Material{Ref: m.Ref, Digest: m.Digest, Platform: m.Platform})
		}
	}
	cat, _, err := openCatalog(ctx, true)
	if err == nil && cat != nil {
		defer cat.Close()
		r, rerr := lineage.Resolve(ctx, cat, in)
		if rerr == nil {
			return &r.From, nil
		}
		err = rerr
	}
	r, rerr := lineage.Resolve(ctx, nil, in)
	if rerr != nil {
		return nil, rerr
	}
	return &r.From, err
}
