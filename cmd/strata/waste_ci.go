package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-tool/strata/gate"
	"github.com/strata-tool/strata/internal/filecache"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

// gateConfig is the rules --ci judges by: --ci-config FILE, else .dive-ci
// in the working directory, else dive's defaults; nil without --ci.
func (fl wasteFlags) gateConfig() (*gate.Config, error) {
	switch {
	case fl.ciConfig != "":
		return gate.Load(fl.ciConfig)
	case !fl.ci:
		return nil, nil
	}
	c, err := gate.Load(gate.DefaultFile)
	if errors.Is(err, fs.ErrNotExist) {
		return gate.Default(), nil
	}
	return c, err
}

// ciReport is one --report KIND=FILE.
type ciReport struct{ kind, file string }

func parseReports(specs []string, ci bool) ([]ciReport, error) {
	var out []ciReport
	for _, s := range specs {
		kind, file, ok := strings.Cut(s, "=")
		if !ok || file == "" || (kind != "junit" && kind != "sarif") {
			return nil, fmt.Errorf("--report %q: want junit=FILE or sarif=FILE", s)
		}
		out = append(out, ciReport{kind, file})
	}
	if len(out) > 0 && !ci {
		return nil, fmt.Errorf("--report writes the verdicts of --ci rules: add --ci")
	}
	return out, nil
}

// judge evaluates the rules (loading the layers when a path rule needs
// their entries) and writes the reports.
func (a *app) judge(ctx context.Context, im *layerindex.Image, cfg *gate.Config, r *waste.Report, ref string, reports []ciReport) (*gate.Result, error) {
	var with *layerindex.Image
	if len(cfg.Paths) > 0 {
		if err := im.Load(ctx); err != nil {
			return nil, err
		}
		with = im
	}
	res, err := gate.Evaluate(cfg, r, with)
	if err != nil {
		return nil, err
	}
	for _, rep := range reports {
		err := writeFile(rep.file, func(w io.Writer) error {
			if rep.kind == "junit" {
				return res.WriteJUnit(w, ref)
			}
			return res.WriteSARIF(w, ref, version())
		})
		if err != nil {
			return nil, fmt.Errorf("--report %s=%s: %w", rep.kind, rep.file, err)
		}
	}
	return res, nil
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// wasteReport analyses the image, or takes the report a previous run kept
// for the same layers and history (the user figures are recomputed for
// today's base). The cache sits beside the layer indexes; --no-cache skips
// both. When the entries are needed afterwards anyway (path rules), the
// layers are loaded and kept; otherwise they stream through one at a time.
func (a *app) wasteReport(ctx context.Context, im *layerindex.Image, top int, base waste.Base, keep bool) (*waste.Report, error) {
	cache, name := a.wasteCache(im, top)
	if r := readCachedReport(cache, name); r != nil {
		r.Rebase(base)
		return r, nil
	}
	var r *waste.Report
	var err error
	if keep {
		if err = im.Load(ctx); err == nil {
			if r, err = waste.Analyze(im, waste.Options{Base: base, Top: top}); err == nil {
				err = waste.NameDuplicates(ctx, im, r)
			}
		}
	} else {
		r, err = waste.AnalyzeStream(ctx, im, waste.Options{Base: base, Top: top})
	}
	if err != nil {
		return nil, err
	}
	if name != "" {
		if b, err := json.Marshal(r); err == nil {
			_ = cache.Write(name, b) // failing to keep it costs the next run only
		}
	}
	return r, nil
}

// wasteCacheVersion changes whenever the analysis would answer otherwise.
const wasteCacheVersion = "strata-waste-1"

// wasteCacheBytes bounds the kept reports (tens of kilobytes each).
const wasteCacheBytes = 64 << 20

// wasteCache is where reports are kept (beside the layer indexes, bounded)
// and the name of the report of these layers (blob digests, diff_ids and
// sizes: the compression estimates depend on the blobs) and this history
// (the steps findings name); "" with --no-cache.
func (a *app) wasteCache(im *layerindex.Image, top int) (filecache.Dir, string) {
	dir, err := layerindex.DefaultDir()
	if a.noCache || err != nil {
		return filecache.Dir{}, ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", wasteCacheVersion, top)
	for _, l := range im.Image.Layers {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", l.Digest, l.DiffID, l.Size)
	}
	for _, s := range im.Steps {
		fmt.Fprintf(h, "%d\x00%v\x00%s\x00", s.Step, s.Layer != nil, s.Instruction)
	}
	return filecache.Dir{Path: filepath.Join(filepath.Dir(dir), "waste"), MaxBytes: wasteCacheBytes}, hex.EncodeToString(h.Sum(nil)) + ".json"
}

func readCachedReport(cache filecache.Dir, name string) *waste.Report {
	if name == "" {
		return nil
	}
	b, err := cache.Read(name, wasteCacheBytes)
	if err != nil {
		return nil
	}
	var r waste.Report
	if json.Unmarshal(b, &r) != nil || r.PerLayer == nil {
		return nil
	}
	return &r
}
