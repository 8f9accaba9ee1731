package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
	"github.com/strata-tool/strata/waste"
)

// Reading inside layers is the costly part of the server, and anyone can
// ask for it: a layer job runs only for an image the guard lets the
// server reach, only when the image's layers fit MaxLayerBytes, at most
// LayerJobs at a time, within UpstreamTimeout. Its result is kept in a
// small cache; the indexes themselves in IndexStore, so a second job for
// the same layers reads no layer byte.

// layerView is what the files and waste views of a version show.
type layerView struct {
	// files is the merged file system, every path, as `strata files`
	// lists it.
	files   []filelist.Row
	orphans int
	waste   *waste.Report
	// changes: files are what each layer changed, layer by layer (no
	// waste report then).
	changes bool
}

// layerViewCache is how many layer views are kept: BIG's 101,101 rows
// take about 30 MB, so few.
const layerViewCache = 4

// wasteTop is how many offenders and duplicate groups the waste view
// lists (strata waste's --top default).
const wasteTop = 10

type layerJobs struct {
	store  layerindex.Store
	guard  *source.Guard
	slots  chan struct{}
	views  *expirable.LRU[string, *layerView]
	flight singleflight.Group
}

func newLayerJobs(cfg Config) *layerJobs {
	return &layerJobs{
		store: cfg.IndexStore,
		// The same allow list and dial checks as every other fetch, with
		// responses capped at the layer bound instead of the metadata one.
		guard: &source.Guard{Allow: cfg.AllowRegistries, MaxResponse: cfg.MaxLayerBytes},
		slots: make(chan struct{}, cfg.LayerJobs),
		views: expirable.NewLRU[string, *layerView](layerViewCache, nil, cfg.DigestTTL),
	}
}

// layers returns ver's layer view: cached, or made by one job shared by
// every request for the same image. changes asks for what each layer
// changed instead of the merged file system and waste (a view of its own:
// most requests never want it).
func (s *Server) layers(ctx context.Context, ver *version, changes bool) (*layerView, error) {
	key := ver.name.Repository() + "@" + ver.img.ManifestDigest + "|" + ver.platform
	job := s.mergedJob
	if changes {
		key, job = key+"|changes", s.changesJob
	}
	if lv, ok := s.jobs.views.Get(key); ok {
		return lv, nil
	}
	if err := s.fitsLayerBound(ver); err != nil {
		return nil, err
	}
	if err := s.allowCold(ctx); err != nil {
		return nil, err
	}
	res, err, _ := s.jobs.flight.Do(key, func() (any, error) {
		// Detached from the first caller, as fetch is, and bounded.
		jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.UpstreamTimeout)
		defer cancel()
		if err := s.jobs.acquire(jctx); err != nil {
			return nil, err
		}
		defer s.jobs.release()
		lv, err := s.layerJob(jctx, ver, job)
		s.metrics.upstream.WithLabelValues("layers", outcome(err)).Inc()
		if err != nil {
			return nil, err
		}
		s.jobs.views.Add(key, lv)
		return lv, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*layerView), nil
}

// fitsLayerBound refuses an image whose layers, as its manifest sizes
// them, exceed MaxLayerBytes, before anything is read.
func (s *Server) fitsLayerBound(ver *version) error {
	var total int64
	for _, l := range ver.img.Layers {
		if l.Size < 0 {
			return &httpError{http.StatusRequestEntityTooLarge, "the image's manifest does not size its layers; this server reads only layers it can bound"}
		}
		total += l.Size
	}
	if total > s.cfg.MaxLayerBytes {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the image's layers are %s (%d bytes), over this server's limit of %s for reading inside layers (files and waste views); strata files and strata waste read it locally",
			humanize.Bytes(total), total, humanize.Bytes(s.cfg.MaxLayerBytes))}
	}
	return nil
}

// errBusy is the answer when every layer job slot stays taken.
var errBusy = &httpError{http.StatusServiceUnavailable, "the server is busy reading other images' layers; try again shortly"}

func (j *layerJobs) acquire(ctx context.Context) error {
	select {
	case j.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errBusy
	}
}

func (j *layerJobs) release() { <-j.slots }

// layerJob opens the version's layers for indexing (through the store)
// and makes a view of them with job.
func (s *Server) layerJob(ctx context.Context, ver *version, job func(context.Context, *version, *layerindex.Image) (*layerView, error)) (*layerView, error) {
	opts := s.opts
	opts.Guard = s.jobs.guard
	p := ver.img.Platform
	opts.Platform = &p
	// Pinned to the manifest the version page showed: the views describe
	// that image even if its tag moves meanwhile.
	src, err := source.Open(ctx, "docker://"+ver.name.WithTag("").WithDigest(ver.img.ManifestDigest).String(), opts)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return job(ctx, ver, layerindex.New(src, layerindex.Options{Store: s.jobs.store, Parallel: 2}))
}

// mergedJob derives both default views from one load: the merged file
// system and the waste report.
func (s *Server) mergedJob(ctx context.Context, ver *version, im *layerindex.Image) (*layerView, error) {
	fsys, err := filelist.FinalFS(ctx, im)
	if err != nil {
		return nil, err
	}
	lv := &layerView{files: filelist.Merged(im, fsys, everyPath), orphans: len(fsys.Orphans)}
	lv.waste, err = waste.Analyze(im, waste.Options{Base: waste.BaseOf(ver.lin, len(ver.img.Layers)), Top: wasteTop})
	if err != nil {
		return nil, err
	}
	return lv, nil
}

// changesJob lists what every layer changed, layer by layer, as `strata
// files --changes` does.
func (s *Server) changesJob(ctx context.Context, _ *version, im *layerindex.Image) (*layerView, error) {
	groups, err := filelist.Changes(ctx, im, -1, everyPath)
	if err != nil {
		return nil, err
	}
	return &layerView{files: filelist.Rows(groups), changes: true}, nil
}

// everyPath is the pattern that matches every path.
var everyPath, _ = layerindex.ParsePattern("")
