package main

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/packages"
	"github.com/strata-tool/strata/referrers"
	"github.com/strata-tool/strata/source"
)

// diffPackages scans both images' package databases (through the layer
// index, in parallel) and diffs the packages.
func (a *app) diffPackages(ctx context.Context, srcs [2]source.Source) (*diff.PackageResult, error) {
	var res [2]*packages.Result
	g, gctx := errgroup.WithContext(ctx)
	for i, src := range srcs {
		g.Go(func() error {
			capture := packages.NewCapture(false)
			im := layerindex.New(src, a.contentOptions(capture.Hook))
			r, err := packages.Scan(gctx, im, packages.Options{Cache: a.packagesCache(), Capture: capture})
			if err != nil {
				return fmt.Errorf("packages of %s: %w", "AB"[i:i+1], err)
			}
			res[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return diff.Packages(res[0].Packages, res[1].Packages), nil
}

// diffSignatures compares what signs and attests two registry images; a
// side that is not in a registry has nothing to compare.
func (a *app) diffSignatures(ctx context.Context, srcs [2]source.Source, res *diff.Result) {
	var fps [2][]string
	for i, src := range srcs {
		if _, ok := src.(source.ReferrerLister); !ok {
			return
		}
		r, err := referrers.List(ctx, src, referrers.Options{})
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: signatures and attestations not compared: %v", "AB"[i:i+1], err))
			return
		}
		fps[i] = r.Fingerprint()
	}
	res.CompareSignatures(fps[0], fps[1])
}
