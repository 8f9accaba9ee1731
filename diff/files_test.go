package diff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
)

// base is the shared bottom of the file-diff images.
func baseSteps() []step {
	return []step{
		{"COPY etc /etc # buildkit", []member{dir("etc/"), file("etc/a", "a"), file("etc/b", "b")}},
		{"COPY usr /usr # buildkit", []member{dir("usr/"), dir("usr/lib/"), file("usr/lib/x", "x"), file("usr/lib/y", "y"), dir("opt/"), file("opt/keep", "k")}},
	}
}

func withTop(t *testing.T, ref string, top ...[]member) *memImage {
	steps := baseSteps()
	for i, l := range top {
		steps = append(steps, step{fmt.Sprintf("RUN /bin/sh -c step %d of %s # buildkit", i, ref), l})
	}
	return build(t, ref, image.ContainerConfig{}, steps...)
}

// changes renders a file diff as "kind path [fields]" lines, the shape the
// expectations are written in by hand from the layer contents.
func changes(r *FileResult) string {
	var out []string
	for _, c := range r.Changes {
		s := c.Kind + " " + c.Path
		if len(c.Fields) > 0 {
			s += " " + strings.Join(c.Fields, ",")
		}
		if c.Side != "" {
			s += " by " + c.Side
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestFilesNeverOpensSharedLayers(t *testing.T) {
	a := withTop(t, "a", []member{file("etc/a", "rewritten by A")})
	b := withTop(t, "b", []member{file("new.txt", "only in B")}, []member{file("etc/b", "b")})
	r, err := Files(context.Background(), a.img, b.img, a, b, 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sorted(a.opened), []int{2}) || !reflect.DeepEqual(sorted(b.opened), []int{2, 3}) {
		t.Errorf("opened A %v, B %v; want only the layers above the shared chain of 2 ([2] and [2 3])", a.opened, b.opened)
	}
	if r.BaseRead {
		t.Errorf("base read (%s), but no whiteout needed it", r.BaseReason)
	}
	// Without the base, a path one side wrote is only known to be written.
	want := "written /etc/a by A\nwritten /etc/b by B\nwritten /new.txt by B"
	if got := changes(r); got != want {
		t.Errorf("changes:\n%s\nwant:\n%s", got, want)
	}
	if r.Read.Layers != 3 || r.Skipped.Layers != 4 {
		t.Errorf("read %d layers, skipped %d; want 3 and 4 (2 shared per side)", r.Read.Layers, r.Skipped.Layers)
	}
	wantTar := int64(len(a.tars[2]) + len(b.tars[2]) + len(b.tars[3]))
	if r.Read.Tar != wantTar || r.Read.Blob != wantTar {
		t.Errorf("read %d tar / %d blob bytes, want %d", r.Read.Tar, r.Read.Blob, wantTar)
	}

	// Asked to resolve the base, the same diff is exact; the shared layers
	// are read once, from A.
	a.opened, b.opened = nil, nil
	r, err = Files(context.Background(), a.img, b.img, a, b, 2, Options{ResolveBase: true})
	if err != nil {
		t.Fatal(err)
	}
	want = "changed /etc/a size\nadded /new.txt"
	if got := changes(r); got != want {
		t.Errorf("resolved changes:\n%s\nwant:\n%s", got, want)
	}
	if !reflect.DeepEqual(sorted(a.opened), []int{0, 1, 2}) || !reflect.DeepEqual(sorted(b.opened), []int{2, 3}) {
		t.Errorf("opened A %v, B %v", a.opened, b.opened)
	}
}

func TestFilesWhiteoutsAndOpaque(t *testing.T) {
	chmod := file("opt/keep", "k")
	chmod.mode = 0o600
	a := withTop(t, "a", []member{wh("etc/.wh.b"), file("etc/a", "A!")})
	b := withTop(t, "b",
		[]member{dir("usr/lib/"), file("usr/lib/z", "z"), wh("usr/lib/.wh..wh..opq"), chmod, file("new.txt", "n")},
		// Removed, then recreated as a directory: nothing of the old
		// one's lower content may come back.
		[]member{wh(".wh.opt")},
		[]member{dir("opt/"), file("opt/fresh", "f")},
	)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"everything", Options{}, strings.Join([]string{
			"changed /etc/a size",
			"added /etc/b",
			"added /new.txt",
			"added /opt/fresh",
			"removed /opt/keep",
			"removed /usr/lib/x",
			"removed /usr/lib/y",
			"added /usr/lib/z",
		}, "\n")},
		{"path prefix", Options{PathPrefix: "/usr/lib"}, "removed /usr/lib/x\nremoved /usr/lib/y\nadded /usr/lib/z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.opened, b.opened = nil, nil
			r, err := Files(context.Background(), a.img, b.img, a, b, 2, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := changes(r); got != tc.want {
				t.Errorf("changes:\n%s\nwant:\n%s", got, tc.want)
			}
			if !r.BaseRead || r.BaseReason == "" {
				t.Errorf("whiteouts on one side only must make the base be read")
			}
			if !reflect.DeepEqual(sorted(a.opened), []int{0, 1, 2}) || !reflect.DeepEqual(sorted(b.opened), []int{2, 3, 4}) {
				t.Errorf("opened A %v, B %v: the base once, from A", a.opened, b.opened)
			}
			if tc.opts.PathPrefix == "" {
				res := Images(a.img, b.img, tc.opts)
				res.Files = r
				golden(t, "whiteouts.txt", res)
			}
		})
	}
}

func sorted(xs []int) []int {
	out := append([]int(nil), xs...)
	sort.Ints(out)
	return out
}

func TestFilesAttributes(t *testing.T) {
	mode := file("f", "same")
	mode.mode = 0o755
	owner := file("g", "same")
	owner.uid = 1000
	a := build(t, "a", image.ContainerConfig{}, step{"COPY . /", []member{file("f", "same"), file("g", "same"), file("h", "aaaa"), {name: "l", typ: '2', link: "/f"}}})
	b := build(t, "b", image.ContainerConfig{}, step{"COPY . /", []member{mode, owner, file("h", "bbbb"), {name: "l", typ: '2', link: "/g"}}})
	// No shared layers: the lower is empty and known, so everything is exact.
	r, err := Files(context.Background(), a.img, b.img, a, b, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "changed /f mode\nchanged /g uid\nchanged /h content\nchanged /l link"
	if got := changes(r); got != want {
		t.Errorf("changes:\n%s\nwant:\n%s", got, want)
	}
	golden(t, "attributes.txt", &Result{A: Side{Reference: "a"}, B: Side{Reference: "b"}, Verdict: Different, Files: r,
		History: HistoryDiff{}})
}

// brokenOpener fails to open one layer, as a truncated archive would.
type brokenOpener struct {
	*memImage
	bad int
}

func (b brokenOpener) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i == b.bad {
		return nil, fmt.Errorf("blob for layer %d: %w", i, io.ErrUnexpectedEOF)
	}
	return b.memImage.OpenLayer(ctx, i)
}

func TestFilesReportsTheBrokenSide(t *testing.T) {
	a := withTop(t, "a", []member{file("x", "x")})
	b := withTop(t, "b", []member{file("y", "y")}, []member{file("z", "z")})
	_, err := Files(context.Background(), a.img, b.img, a, brokenOpener{b, 3}, 2, Options{})
	if err == nil || !strings.Contains(err.Error(), "image B") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error = %v, want image B's unexpected EOF", err)
	}
	// Garbage where a tar should be is an error too, not a panic.
	a.tars[2] = []byte("this is not a tar stream at all, but it is long enough to be read as one block of it" + strings.Repeat(".", 600))
	if _, err := Files(context.Background(), a.img, b.img, a, b, 2, Options{}); err == nil || !strings.Contains(err.Error(), "image A") {
		t.Errorf("error = %v, want image A's bad tar", err)
	}
}
