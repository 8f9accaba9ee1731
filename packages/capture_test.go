package packages_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/packages"
	"github.com/strata-tool/strata/source"
)

// TestCaptureReadsLayersOnce: on a cold run, the database files and Go
// binaries are taken from the indexing pass itself, so the registry sends
// the layers once and nothing more (bar manifest and config), and the
// result is the one range reads give.
func TestCaptureReadsLayersOnce(t *testing.T) {
	set := testenv.PackageImages(t)
	for _, ref := range []string{set.Debian, set.Go} {
		ctx := context.Background()
		var stats source.HTTPStats
		src, err := source.Open(ctx, ref, source.Options{Stats: &stats})
		if err != nil {
			t.Fatal(err)
		}
		capture := packages.NewCapture(false)
		im := layerindex.New(src, layerindex.Options{Content: capture.Hook})
		got, err := packages.Scan(ctx, im, packages.Options{Capture: capture})
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		var layers int64
		for _, l := range im.Image.Layers {
			layers += l.Size
		}
		if n := stats.BytesReceived.Load(); n > layers+64<<10 {
			t.Errorf("%s: %d bytes received for %d bytes of layers: files were read again", ref, n, layers)
		}
		want, _ := scan(t, ref)
		if !reflect.DeepEqual(got.Packages, want.Packages) || got.FilesRead != want.FilesRead || got.Candidates != want.Candidates {
			t.Errorf("%s: captured scan differs from the range-read one (%d vs %d packages, %d vs %d files)",
				ref, len(got.Packages), len(want.Packages), got.FilesRead, want.FilesRead)
		}
	}
}
