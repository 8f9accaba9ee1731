package main

import (
	"context"

	"github.com/strata-tool/strata/explore"
)

// runCompare opens both images at once (metadata only) and compares them.
func (a *app) runCompare(ctx context.Context, args []string, o explore.Options) error {
	srcs, err := a.openBoth(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	defer closeAll(srcs[:])
	o.Ref, o.Source = args[0], srcs[0]
	return explore.RunCompare(ctx, explore.CompareOptions{Options: o, RefB: args[1], SourceB: srcs[1]})
}
