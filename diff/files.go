package diff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layers"
)

// LayerOpener streams layer i of an image (application order) as an
// uncompressed tar. source.Source satisfies it.
type LayerOpener interface {
	OpenLayer(ctx context.Context, i int) (io.ReadCloser, error)
}

// File change kinds.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
	// Written: one side wrote the path in its own layers and the other
	// side has whatever the shared base holds there, which was not read
	// (reading it would cost the whole base). It differs unless the write
	// happened to reproduce the base entry exactly.
	Written = "written"
)

// FileChange is one path whose final state differs.
type FileChange struct {
	Path string `json:"path"` // absolute, "/etc/passwd"
	Kind string `json:"kind"`
	// A and B are the final entries; nil where the path is absent (or,
	// for Written, where it is the unread base's).
	A *layers.Entry `json:"a,omitempty"`
	B *layers.Entry `json:"b,omitempty"`
	// Fields lists what differs for Changed: type, mode, uid, gid, size,
	// link, content, mtime.
	Fields []string `json:"fields,omitempty"`
	// Side is "A" or "B" for Written: who wrote it over the base.
	Side string `json:"side,omitempty"`
}

// ByteCount totals some layers.
type ByteCount struct {
	Layers int `json:"layers"`
	// Blob is the stored (usually compressed) size from the manifests:
	// what a registry serves for these layers. Unknown sizes count as 0.
	Blob int64 `json:"blobBytes"`
	// Tar is the uncompressed tar size: counted while streaming for read
	// layers, the known sizes for skipped ones.
	Tar int64 `json:"tarBytes"`
}

// FileResult is the file diff of the divergent layers.
type FileResult struct {
	Changes []FileChange `json:"changes"`
	Added   int          `json:"added"`
	Removed int          `json:"removed"`
	Changed int          `json:"changed"`
	Written int          `json:"written"`
	// Read counts the layers streamed; Skipped the layers of both images
	// that were never opened (a tool that reads everything reads both).
	Read    ByteCount `json:"read"`
	Skipped ByteCount `json:"skipped"`
	// BaseRead says whether the shared base layers had to be streamed, and
	// BaseReason why.
	BaseRead   bool   `json:"baseRead"`
	BaseReason string `json:"baseReason,omitempty"`
	// LayersReadA and LayersReadB are the layer indexes opened per side.
	LayersReadA []int `json:"layersReadA"`
	LayersReadB []int `json:"layersReadB"`
}

// Files diffs the final file systems of a and b, streaming only the layers
// above their shared chain of length shared. Those shared layers leave the
// same state below both stacks, so the diff is stack A over base vs stack B
// over base, and the base matters only where one stack hides something the
// other does not (a whiteout, an opaque directory). Only then, or with
// opts.ResolveBase, are the base layers streamed — from A, once — keeping
// just the paths the stacks touch.
func Files(ctx context.Context, a, b *image.Image, la, lb LayerOpener, shared int, opts Options) (*FileResult, error) {
	shared = min(shared, len(a.Layers), len(b.Layers))
	sc := newScope(opts.PathPrefix)
	res := &FileResult{LayersReadA: []int{}, LayersReadB: []int{}}
	stackA, stackB, err := readStacks(ctx, res, sc, a, b, la, lb, shared)
	if err != nil {
		return nil, err
	}
	var base *layers.Merged
	if shared > 0 {
		res.BaseReason = baseReason(stackA, stackB, opts.ResolveBase)
	}
	if res.BaseReason != "" {
		if base, err = readBase(ctx, res, sc, stackA, stackB, a, la, shared); err != nil {
			return nil, err
		}
	} else if shared == 0 {
		base = layers.NewMerged(nil) // nothing below: the empty file system is known
	}
	res.Skipped = skipped(a, res.LayersReadA, b, res.LayersReadB)
	res.collect(sc, stackA, stackB, base, opts.IgnoreTimestamps)
	return res, nil
}

// scope is the part of the file system a file diff looks at.
type scope struct{ prefix string }

func newScope(prefix string) scope { return scope{layers.CleanPath(prefix)} }

// in reports whether p is inside the prefix.
func (s scope) in(p string) bool {
	return s.prefix == "" || p == s.prefix || strings.HasPrefix(p, s.prefix+"/")
}

// keep adds the prefix's ancestors to what is in scope: a file written
// over one of them hides the whole prefix.
func (s scope) keep(p string) bool { return s.in(p) || strings.HasPrefix(s.prefix, p+"/") }

// readStacks streams the layers above the shared chain of both images.
// The two stacks are independent streams (often two hosts or files): they
// are read at once, and a failure on one side stops both.
func readStacks(ctx context.Context, res *FileResult, sc scope, a, b *image.Image, la, lb LayerOpener, shared int) (stackA, stackB *layers.Merged, err error) {
	stackA, stackB = layers.NewMerged(sc.keep), layers.NewMerged(sc.keep)
	hashAll := layers.WalkOptions{Hash: sc.in}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var errA, errB error
	var readA, readB ByteCount
	wg.Add(2)
	go func() {
		defer wg.Done()
		readA, res.LayersReadA, errA = applyLayers(sctx, stackA, a, la, shared, len(a.Layers), hashAll)
		if errA != nil {
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		readB, res.LayersReadB, errB = applyLayers(sctx, stackB, b, lb, shared, len(b.Layers), hashAll)
		if errB != nil {
			cancel()
		}
	}()
	wg.Wait()
	// Report the failure that cancelled the other side, not the echo.
	if errA != nil && (errB == nil || !errors.Is(errA, context.Canceled) || errors.Is(errB, context.Canceled)) {
		return nil, nil, fmt.Errorf("image A: %w", errA)
	}
	if errB != nil {
		return nil, nil, fmt.Errorf("image B: %w", errB)
	}
	res.Read = add(readA, readB)
	return stackA, stackB, nil
}

// readBase streams the shared base layers (from A), keeping what makes
// every answer exact: paths one side wrote and the other shows from the
// base, and paths one side hides and the other does not. Paths both sides
// wrote need no base.
func readBase(ctx context.Context, res *FileResult, sc scope, stackA, stackB *layers.Merged, a *image.Image, la LayerOpener, shared int) (*layers.Merged, error) {
	interesting := func(p string) bool {
		if !sc.keep(p) {
			return false
		}
		_, wa := stackA.Lookup(p)
		_, wb := stackB.Lookup(p)
		switch {
		case wa && wb:
			return false
		case wa || wb:
			return true
		}
		return stackA.Hidden(p) != stackB.Hidden(p)
	}
	base := layers.NewMerged(interesting)
	n, opened, err := applyLayers(ctx, base, a, la, 0, shared, layers.WalkOptions{Hash: interesting})
	if err != nil {
		return nil, fmt.Errorf("shared base (layers 0..%d of A): %w", shared-1, err)
	}
	res.BaseRead = true
	res.Read = add(res.Read, n)
	res.LayersReadA = append(opened, res.LayersReadA...)
	return base, nil
}

// collect compares every in-scope path either side (or the base) has and
// records the differences, sorted by path.
func (res *FileResult) collect(sc scope, stackA, stackB, base *layers.Merged, ignoreTimes bool) {
	paths := map[string]bool{}
	for _, m := range []*layers.Merged{stackA, stackB, base} {
		if m == nil {
			continue
		}
		for _, e := range m.Entries() {
			if sc.in(e.Path) {
				paths[e.Path] = true
			}
		}
	}
	for p := range paths {
		c, ok := compare(p, stackA, stackB, base, ignoreTimes)
		if !ok {
			continue
		}
		res.Changes = append(res.Changes, c)
		switch c.Kind {
		case Added:
			res.Added++
		case Removed:
			res.Removed++
		case Changed:
			res.Changed++
		case Written:
			res.Written++
		}
	}
	sort.Slice(res.Changes, func(i, j int) bool { return res.Changes[i].Path < res.Changes[j].Path })
}

// applyLayers streams layers [from, to) of img into m.
func applyLayers(ctx context.Context, m *layers.Merged, img *image.Image, lo LayerOpener, from, to int, opts layers.WalkOptions) (ByteCount, []int, error) {
	var n ByteCount
	opened := []int{}
	for i := from; i < to; i++ {
		if err := ctx.Err(); err != nil {
			return n, opened, err
		}
		rc, err := lo.OpenLayer(ctx, i)
		if err != nil {
			return n, opened, fmt.Errorf("open layer %d (%s): %w", i, img.Layers[i].DiffID, err)
		}
		opened = append(opened, i)
		st, err := m.ApplyTar(rc, opts)
		rc.Close()
		if err != nil {
			return n, opened, fmt.Errorf("layer %d (%s): %w", i, img.Layers[i].DiffID, err)
		}
		n.Layers++
		n.Tar += st.Bytes
		if s := img.Layers[i].Size; s > 0 {
			n.Blob += s
		}
	}
	return n, opened, nil
}

// baseReason explains why the base must be read, or returns "".
func baseReason(a, b *layers.Merged, resolve bool) string {
	wa, oa := a.Deletions()
	wb, ob := b.Deletions()
	var why []string
	if d := onlyIn(wa, wb); len(d) > 0 {
		why = append(why, "A deletes "+sample(d))
	}
	if d := onlyIn(wb, wa); len(d) > 0 {
		why = append(why, "B deletes "+sample(d))
	}
	if d := onlyIn(oa, ob); len(d) > 0 {
		why = append(why, "A hides the base below "+sample(d))
	}
	if d := onlyIn(ob, oa); len(d) > 0 {
		why = append(why, "B hides the base below "+sample(d))
	}
	if len(why) == 0 && resolve {
		why = append(why, "asked to resolve the base")
	}
	return strings.Join(why, "; ")
}

func onlyIn(x, y []string) []string {
	in := make(map[string]bool, len(y))
	for _, s := range y {
		in[s] = true
	}
	var out []string
	for _, s := range x {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

func sample(paths []string) string {
	const show = 3
	var b strings.Builder
	for i, p := range paths {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(paths)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("/" + p)
	}
	return b.String()
}

// state resolves a path's final entry on one side: written by the stack,
// hidden by it, or the base's (nil base = base not read → unknown).
func state(p string, stack, base *layers.Merged) (e *layers.Entry, unknown bool) {
	if e, ok := stack.Lookup(p); ok {
		return e, false
	}
	if stack.Hidden(p) {
		return nil, false
	}
	if base == nil {
		return nil, true
	}
	e, _ = base.Lookup(p)
	return e, false
}

func compare(p string, sa, sb, base *layers.Merged, ignoreTimes bool) (FileChange, bool) {
	c := FileChange{Path: "/" + p}
	_, wa := sa.Lookup(p)
	_, wb := sb.Lookup(p)
	if !wa && !wb && !sa.Hidden(p) && !sb.Hidden(p) {
		return c, false // the base's entry on both sides
	}
	ea, ua := state(p, sa, base)
	eb, ub := state(p, sb, base)
	c.A, c.B = absolute(ea), absolute(eb)
	switch {
	case ua && ub:
		return c, false
	case ua || ub:
		if ea == nil && eb == nil {
			return c, false
		}
		c.Kind, c.Side = Written, "A"
		if ua {
			c.Side = "B"
		}
		return c, true
	case ea == nil && eb == nil:
		return c, false
	case ea == nil:
		c.Kind = Added
	case eb == nil:
		c.Kind = Removed
	default:
		c.Fields = entryDiff(ea, eb, ignoreTimes)
		if len(c.Fields) == 0 {
			return c, false
		}
		c.Kind = Changed
	}
	return c, true
}

// entryDiff names the attributes that differ. Content is compared by
// digest only when both sides hashed it and the sizes agree.
func entryDiff(x, y *layers.Entry, ignoreTimes bool) []string {
	var f []string
	// A hardlink is a regular file that shares its inode; which name of
	// the pair the tar stored as the file is an accident of order, so only
	// a differing target (under "link") is reported.
	if fileLike(x.Type) != fileLike(y.Type) || !fileLike(x.Type) && x.Type != y.Type {
		f = append(f, "type")
	}
	if x.Mode != y.Mode {
		f = append(f, "mode")
	}
	if x.UID != y.UID {
		f = append(f, "uid")
	}
	if x.GID != y.GID {
		f = append(f, "gid")
	}
	if x.Link != y.Link {
		f = append(f, "link")
	}
	if fileLike(x.Type) && fileLike(y.Type) {
		if x.Size != y.Size {
			f = append(f, "size")
		} else if x.Digest != "" && y.Digest != "" && x.Digest != y.Digest {
			f = append(f, "content")
		}
	}
	if !ignoreTimes && !x.ModTime.Equal(y.ModTime) {
		f = append(f, "mtime")
	}
	return f
}

func add(x, y ByteCount) ByteCount {
	return ByteCount{Layers: x.Layers + y.Layers, Blob: x.Blob + y.Blob, Tar: x.Tar + y.Tar}
}

func skipped(a *image.Image, readA []int, b *image.Image, readB []int) ByteCount {
	var n ByteCount
	for _, s := range []struct {
		img  *image.Image
		read []int
	}{{a, readA}, {b, readB}} {
		was := map[int]bool{}
		for _, i := range s.read {
			was[i] = true
		}
		for i, l := range s.img.Layers {
			if was[i] {
				continue
			}
			n.Layers++
			if l.Size > 0 {
				n.Blob += l.Size
			}
			if l.UncompressedSize > 0 {
				n.Tar += l.UncompressedSize
			}
		}
	}
	return n
}

func fileLike(t layers.Type) bool { return t == layers.TypeFile || t == layers.TypeHardlink }

// absolute copies e with the path rooted ("/etc/passwd"), as the report
// shows paths; the merged trees keep them relative.
func absolute(e *layers.Entry) *layers.Entry {
	if e == nil {
		return nil
	}
	c := *e
	c.Path = "/" + c.Path
	return &c
}
