package waste

import (
	"cmp"
	"slices"

	"github.com/strata-tool/strata/layers"
)

// Report is the analysis of one image. Byte counts are of regular-file
// content (tar headers and padding are not counted, nor are hardlinks,
// which share their target's bytes); compressed figures are estimates:
// each wasted byte weighted by the compression ratio of the layer that
// shipped it (1 for layers stored uncompressed).
type Report struct {
	Layers int `json:"layers"`
	// ContentBytes is every regular-file byte the layers ship, FinalBytes
	// what the final file system shows; WastedBytes the difference.
	ContentBytes int64 `json:"content_bytes"`
	FinalBytes   int64 `json:"final_bytes"`
	WastedBytes  int64 `json:"wasted_bytes"`
	// Efficiency is FinalBytes / ContentBytes (1 for an empty image), a
	// ratio as dive's lowestEfficiency rule takes it.
	Efficiency float64 `json:"efficiency"`
	// WastedCompressedBytes estimates WastedBytes as stored.
	WastedCompressedBytes int64 `json:"wasted_compressed_bytes"`
	// UserWastedBytes is the waste the image's own steps caused: copies a
	// step above the base hid (whatever layer shipped them). The base's
	// own waste is left out. UserWastedPercent relates it to the bytes the
	// own layers ship (0–100, and past 100 when own steps hide more base
	// bytes than they add).
	UserWastedBytes   int64   `json:"user_wasted_bytes"`
	UserContentBytes  int64   `json:"user_content_bytes"`
	UserWastedPercent float64 `json:"user_wasted_percent"`
	Base              Base    `json:"base"`

	ByCause   []CauseTotal `json:"by_cause"`
	Findings  []Finding    `json:"findings"`
	Top       []Offender   `json:"top"`
	Avoidable Avoidable    `json:"avoidable"`
	PerLayer  []LayerWaste `json:"per_layer"`
}

// Base says which bottom layers are the base image's.
type Base struct {
	Layers int  `json:"layers"`
	Known  bool `json:"known"`
	// Name is the base image's name when it is known ("scratch" for none).
	Name string `json:"name,omitempty"`
	Note string `json:"note,omitempty"`
}

// CauseTotal is the waste of one cause.
type CauseTotal struct {
	Cause           Cause `json:"cause"`
	Bytes           int64 `json:"bytes"`
	CompressedBytes int64 `json:"compressed_bytes"`
	Files           int   `json:"files"`
}

// Finding is the waste one step caused for one reason, with its fix.
type Finding struct {
	Cause Cause `json:"cause"`
	// Step hid the copies (0 when the layer has no history step; Layer is
	// always set); ShippedSteps / ShippedLayers wrote them.
	Step            int    `json:"step"`
	Layer           int    `json:"layer"`
	Instruction     string `json:"instruction"`
	ShippedSteps    []int  `json:"shipped_steps"`
	ShippedLayers   []int  `json:"shipped_layers"`
	Cache           string `json:"cache,omitempty"`
	Bytes           int64  `json:"bytes"`
	CompressedBytes int64  `json:"compressed_bytes"`
	Files           int    `json:"files"`
	// Example is the path of the largest copy (or the directory whose
	// removal hid it).
	Example string `json:"example"`
	Fix     string `json:"fix"`
}

// Offender is one path whose change wasted bytes: a file overwritten or
// re-shipped (every hidden copy of it), or a file or directory deleted (the
// copies of everything below it).
type Offender struct {
	Path            string `json:"path"`
	Cause           Cause  `json:"cause"`
	Step            int    `json:"step"`
	Layer           int    `json:"layer"`
	ShippedSteps    []int  `json:"shipped_steps"`
	Bytes           int64  `json:"bytes"`
	CompressedBytes int64  `json:"compressed_bytes"`
	Files           int    `json:"files"`
}

// LayerWaste is one layer's share: what it ships, how much of that is
// hidden above, and how much of the layers below it hides.
type LayerWaste struct {
	Layer        int   `json:"layer"`
	Step         int   `json:"step"`
	ContentBytes int64 `json:"content_bytes"`
	Files        int   `json:"files"`
	WastedBytes  int64 `json:"wasted_bytes"`
	CausedBytes  int64 `json:"caused_bytes"`
}

// Options shape a report.
type Options struct {
	// Base is the base image's share of the layers (see Report.Rebase).
	Base Base
	// Top bounds Top and the duplicate groups listed (0: 10).
	Top int
}

// Report finishes the analysis: the final file system is what is live,
// less paths below a non-directory (no file system can reach them).
func (a *Analyzer) Report(opts Options) *Report {
	if opts.Top <= 0 {
		opts.Top = 10
	}
	if a.orphanRisk {
		a.hideOrphans()
	}
	a.keepLinked()
	r := &Report{Layers: len(a.info), ByCause: []CauseTotal{}, Findings: []Finding{}, Top: []Offender{}}
	for i, li := range a.info {
		lw := LayerWaste{Layer: i, Step: li.step, ContentBytes: li.shipped, Files: li.files}
		if i < len(a.agg.shippedWaste) {
			lw.WastedBytes, lw.CausedBytes = a.agg.shippedWaste[i], a.agg.causedWaste[i]
		}
		r.PerLayer = append(r.PerLayer, lw)
		r.ContentBytes += li.shipped
	}
	r.WastedBytes = a.agg.wasted
	r.FinalBytes = r.ContentBytes - r.WastedBytes
	r.WastedCompressedBytes = int64(a.agg.comp + 0.5)
	r.Efficiency = 1
	if r.ContentBytes > 0 {
		r.Efficiency = float64(r.FinalBytes) / float64(r.ContentBytes)
	}
	for c, s := range a.agg.byCause {
		if s.files > 0 {
			r.ByCause = append(r.ByCause, CauseTotal{Cause: c, Bytes: s.bytes, CompressedBytes: int64(s.comp + 0.5), Files: s.files})
		}
	}
	slices.SortFunc(r.ByCause, func(x, y CauseTotal) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Cause, y.Cause))
	})
	r.Findings = a.findings()
	r.Top = a.top(opts.Top)
	r.Avoidable = a.avoidable(opts.Top)
	r.Rebase(opts.Base)
	return r
}

// Rebase sets which bottom layers are the base's and recomputes the user
// figures from the per-layer shares (a cached report can be rebased
// when the lineage answer changes).
func (r *Report) Rebase(b Base) {
	b.Layers = max(0, min(b.Layers, len(r.PerLayer)))
	r.Base = b
	r.UserWastedBytes, r.UserContentBytes = 0, 0
	for _, l := range r.PerLayer[b.Layers:] {
		r.UserWastedBytes += l.CausedBytes
		r.UserContentBytes += l.ContentBytes
	}
	r.UserWastedPercent = 0
	if r.UserContentBytes > 0 {
		r.UserWastedPercent = 100 * float64(r.UserWastedBytes) / float64(r.UserContentBytes)
	}
}

// hideOrphans hides files below a live non-directory: a hostile or odd
// layer wrote them under a symlink or file, where no file system holds
// them.
func (a *Analyzer) hideOrphans() {
	for p, id := range a.live {
		for q := layers.Parent(p); q != ""; q = layers.Parent(q) {
			if pid, ok := a.live[q]; ok && a.nodes.at(pid).typ != layers.TypeDir {
				a.hide(id, p, q, Replaced, a.nodes.at(pid).layer)
				a.drop(p, id)
				break
			}
		}
	}
}

// keepLinked counts back the copies a live hardlink of their own layer
// still shows: they share the link's inode, so their bytes are visible.
func (a *Analyzer) keepLinked() {
	for id, target := range a.links {
		k := copyKey{a.nodes.at(id).layer, target}
		if h, ok := a.linkable[k]; ok {
			a.agg.add(a, h, -1)
			delete(a.linkable, k)
		}
	}
}

func (a *Analyzer) stepOf(layer int32) int { return a.info[layer].step }

func (a *Analyzer) steps(ls []int32) (steps, idx []int) {
	steps, idx = []int{}, []int{}
	for _, l := range ls {
		idx = append(idx, int(l))
		if s := a.stepOf(l); s > 0 && !slices.Contains(steps, s) {
			steps = append(steps, s)
		}
	}
	return steps, idx
}

func (a *Analyzer) findings() []Finding {
	out := []Finding{}
	for k, f := range a.agg.findings {
		if f.files <= 0 {
			continue
		}
		steps, idx := a.steps(f.shipped)
		fd := Finding{Cause: k.cause, Step: a.stepOf(k.by), Layer: int(k.by), Instruction: a.info[k.by].instruction,
			ShippedSteps: steps, ShippedLayers: idx, Cache: k.cache, Bytes: f.bytes, CompressedBytes: int64(f.comp + 0.5),
			Files: f.files, Example: f.example}
		fd.Fix = a.fix(fd, f.shipped)
		out = append(out, fd)
	}
	slices.SortFunc(out, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Layer, y.Layer), cmp.Compare(x.Cause, y.Cause), cmp.Compare(x.Cache, y.Cache))
	})
	return out
}

func (a *Analyzer) top(n int) []Offender {
	out := []Offender{}
	for p, it := range a.agg.items {
		if it.files <= 0 {
			continue
		}
		steps, _ := a.steps(it.shipped)
		out = append(out, Offender{Path: p, Cause: it.cause, Step: a.stepOf(it.by), Layer: int(it.by), ShippedSteps: steps,
			Bytes: it.bytes, CompressedBytes: int64(it.comp + 0.5), Files: it.files})
	}
	slices.SortFunc(out, func(x, y Offender) int { return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Path, y.Path)) })
	return out[:min(n, len(out))]
}
