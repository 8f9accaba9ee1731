package dockerfile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestPodmanUnsetEntrypoint reads every built image through podman's
// Docker-compatible API, which reports an unset entrypoint as
// `"Entrypoint": []` (as it reports unset volumes as `{}`). That is not an
// instruction: where the original Dockerfile sets no ENTRYPOINT, the printed
// one has none either, and where it does, the ENTRYPOINT comes back.
func TestPodmanUnsetEntrypoint(t *testing.T) {
	host := testenv.Service(t, "STRATA_TEST_PODMAN_HOST")
	emptyForm, checked := 0, 0
	for _, b := range testenv.BuiltImages(t) {
		ref, ok := b.Refs["podman-daemon"]
		if !ok {
			continue
		}
		t.Run(b.Builder+"/"+b.Name, func(t *testing.T) {
			src, err := source.Open(context.Background(), ref, source.Options{DockerHost: host})
			if err != nil {
				t.Fatalf("open %s: %v", ref, err)
			}
			defer src.Close()
			img := src.Image()
			if ep := img.Config.Config.Entrypoint; ep != nil && len(ep) == 0 {
				emptyForm++
			}
			res := dockerfile.Render(img, dockerfile.Options{})
			_, want := originalRuns(t, b)
			var got []string
			for _, l := range strings.Split(res.Text, "\n") {
				if strings.HasPrefix(l, "ENTRYPOINT") {
					got = append(got, l)
				}
			}
			switch {
			case !want.HasEntry && len(got) > 0:
				t.Errorf("the original sets no ENTRYPOINT, strata printed %q:\n%s", got, res.Text)
			case want.HasEntry && len(got) == 0:
				t.Errorf("the original's ENTRYPOINT %q is missing:\n%s", want.Entrypoint, res.Text)
			}
		})
		checked++
	}
	if checked == 0 {
		t.Fatal("images.json has no image with a podman-daemon ref")
	}
	if emptyForm == 0 {
		t.Fatal(`no image read through podman's API has "Entrypoint": []: the test exercises nothing`)
	}
}
