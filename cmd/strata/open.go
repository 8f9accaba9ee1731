package main

import (
	"context"
	"fmt"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// sourceOptions turns the global flags into source options.
func (a *app) sourceOptions() (source.Options, error) {
	opts := source.Options{Insecure: a.insecure, Daemon: a.daemon}
	a.applyNet(&opts)
	if a.httpStats {
		opts.Stats = &a.stats
	}
	if a.platform != "" {
		p, err := image.ParsePlatform(a.platform)
		if err != nil {
			return opts, fmt.Errorf("--platform: %w", err)
		}
		opts.Platform = &p
	}
	return opts, nil
}

// open opens a reference with the global flags. The caller closes it.
func (a *app) open(ctx context.Context, ref string) (source.Source, error) {
	opts, err := a.sourceOptions()
	if err != nil {
		return nil, err
	}
	return source.Open(ctx, ref, opts)
}

// openPlatforms opens the selected platform, or every platform of a
// multi-platform image with all. The caller closes every source.
func (a *app) openPlatforms(ctx context.Context, ref string, all bool) ([]source.Source, error) {
	opts, err := a.sourceOptions()
	if err != nil {
		return nil, err
	}
	if !all {
		src, err := source.Open(ctx, ref, opts)
		if err != nil {
			return nil, err
		}
		return []source.Source{src}, nil
	}
	return source.OpenPlatforms(ctx, ref, opts)
}

func closeAll(srcs []source.Source) {
	for _, s := range srcs {
		s.Close()
	}
}
