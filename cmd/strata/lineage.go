package main

import (
	"context"
	"fmt"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/provenance"
	"github.com/strata-tool/strata/source"
)

// readProvenance reads the image's provenance attestation; a failure is
// reported on stderr and the verb goes on without it.
func readProvenance(ctx context.Context, src source.Source, warn func(string)) *provenance.Provenance {
	p, err := provenance.Read(ctx, src, src.Image())
	if err != nil {
		warn(fmt.Sprintf("provenance attestation unreadable, ignored: %v", err))
	}
	return p
}

// lineageInput gathers what lineage.Resolve works from.
func lineageInput(img *image.Image, prov *provenance.Provenance) lineage.Input {
	in := lineage.Input{Image: img}
	if prov != nil {
		for _, m := range prov.BaseImages() {
			in.Materials = append(in.Materials, lineage.Material{Ref: m.Ref, Digest: m.Digest, Platform: m.Platform})
		}
	}
	return in
}

// resolveLineage resolves one image against cat (nil: no catalog), noting
// when no catalog was there to match layer chains against.
func resolveLineage(ctx context.Context, cat catalog.Catalog, where string, img *image.Image, prov *provenance.Provenance) (*lineage.Result, error) {
	r, err := lineage.Resolve(ctx, cat, lineageInput(img, prov))
	if err != nil {
		return nil, err
	}
	if cat == nil && where != "" {
		r.Notes = append(r.Notes, fmt.Sprintf("no catalog at %s: layer chains were not matched (strata catalog add IMAGE… builds one)", where))
	}
	return r, nil
}

// fromBase is what `strata dockerfile` prints FROM: the lineage's one FROM
// answer (the same `strata base` gives).
func (a *app) fromBase(ctx context.Context, img *image.Image, prov *provenance.Provenance, warn func(string)) *lineage.Base {
	r := a.lineageOf(ctx, img, prov, warn)
	if r == nil {
		return nil
	}
	return &r.From
}

// lineageOf resolves the image's lineage against the catalog. A catalog
// that cannot be read costs only the chain matches: the builder's own
// records still count. nil when even that fails (said through warn).
func (a *app) lineageOf(ctx context.Context, img *image.Image, prov *provenance.Provenance, warn func(string)) *lineage.Result {
	cat, where, err := a.openCatalog(ctx, false)
	if err != nil {
		warn(fmt.Sprintf("catalog unreadable, naming the base without it: %v", err))
		cat, where = nil, ""
	}
	if cat != nil {
		defer cat.Close()
	}
	r, err := resolveLineage(ctx, cat, where, img, prov)
	if err != nil && cat != nil {
		warn(fmt.Sprintf("catalog lookup failed, naming the base without it: %v", err))
		r, err = resolveLineage(ctx, nil, "", img, prov)
	}
	if err != nil {
		warn(fmt.Sprintf("base image not resolved: %v", err))
		return nil
	}
	return r
}
