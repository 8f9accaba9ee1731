package main

import (
	"context"
	"errors"

	"github.com/strata-tool/strata/explore"
)

func (a *app) runCompare(ctx context.Context, args []string, o explore.Options) error {
	return errors.New("compare: not yet")
}
