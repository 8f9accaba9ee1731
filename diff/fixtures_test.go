package diff_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/internal/testenv"
)

// The regclient test repository (an OCI layout) holds bases and images
// built from Dockerfiles we have beside it; the expectations below are
// read from those Dockerfiles (fixtures/dockerfiles/regclient-testrepo).
func TestFixtureRegclientBases(t *testing.T) {
	repo := filepath.Join(testenv.Fixtures(t), "images", "regclient", "testrepo")
	ref := func(tag string) string { return "oci:" + repo + ":" + tag }
	tests := []struct {
		a, b       string
		shared     int
		firstStep  int
		readLayers int
		changes    []string
	}{
		// Steps are numbered as `strata layers` numbers them, from 1.
		// b1 and b2 COPY the same file, then set different labels.
		{"b1", "b2", 1, 2, 0, nil},
		// b3 copies another file: nothing shared.
		{"b1", "b3", 0, 1, 2, []string{"changed /base.txt content"}},
		// v1 and v2 share b1's layer and COPY layer1; v2 adds a COPY at step 5.
		{"v1", "v2", 2, 5, 1, []string{"written /layer2"}},
		// v1 is FROM b1: b1's whole chain is shared, v1's steps start at 3.
		{"b1", "v1", 1, 3, 1, []string{"written /layer1"}},
	}
	for _, tc := range tests {
		t.Run(tc.a+"-"+tc.b, func(t *testing.T) {
			a, b := open(t, ref(tc.a)), open(t, ref(tc.b))
			r := diff.Images(a.Image(), b.Image(), diff.Options{})
			if r.Verdict != diff.Different || r.SharedLayers != tc.shared ||
				r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != tc.firstStep {
				t.Fatalf("verdict %s, shared %d, first step %+v; want different, %d, %d", r.Verdict, r.SharedLayers, r.FirstDifferingStep, tc.shared, tc.firstStep)
			}
			fr, err := diff.Files(context.Background(), a.Image(), b.Image(), a, b, r.SharedLayers, diff.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range fr.Changes {
				got = append(got, strings.TrimSpace(c.Kind+" "+c.Path+" "+strings.Join(c.Fields, ",")))
			}
			if !reflect.DeepEqual(got, tc.changes) || fr.Read.Layers != tc.readLayers {
				t.Errorf("changes %q reading %d layers; want %q reading %d", got, fr.Read.Layers, tc.changes, tc.readLayers)
			}
		})
	}
}

// The two alpine releases share nothing; their file diff must equal the
// difference of the two layers as GNU tar extracts them.
func TestFixtureAlpineReleases(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("GNU tar not on PATH")
	}
	dir := filepath.Join(testenv.Fixtures(t), "images", "fanal")
	pa, pb := filepath.Join(dir, "alpine-310.tar.gz"), filepath.Join(dir, "alpine-311.tar.gz")
	a, b := open(t, pa), open(t, pb)
	opts := diff.Options{IgnoreTimestamps: true}
	r := diff.Images(a.Image(), b.Image(), opts)
	if r.Verdict != diff.Different || r.SharedLayers != 0 || r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != 1 {
		t.Fatalf("verdict %s, shared %d, first step %+v", r.Verdict, r.SharedLayers, r.FirstDifferingStep)
	}
	fr, err := diff.Files(context.Background(), a.Image(), b.Image(), a, b, 0, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range fr.Changes {
		got = append(got, strings.TrimSpace(c.Kind+" "+c.Path+" "+strings.Join(c.Fields, ",")))
	}
	want := fsDiff(extractArchiveLayer(t, pa), extractArchiveLayer(t, pb))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file diff:\n%s\nGNU tar extractions differ by:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) < 20 {
		t.Errorf("only %d differences between two alpine releases? the oracle is broken", len(want))
	}
	// Path prefix: the same answer, restricted.
	fr, err = diff.Files(context.Background(), a.Image(), b.Image(), a, b, 0, diff.Options{IgnoreTimestamps: true, PathPrefix: "/etc/"})
	if err != nil {
		t.Fatal(err)
	}
	var etc, wantEtc []string
	for _, c := range fr.Changes {
		etc = append(etc, strings.TrimSpace(c.Kind+" "+c.Path+" "+strings.Join(c.Fields, ",")))
	}
	for _, w := range want {
		if strings.Contains(w, " /etc/") {
			wantEtc = append(wantEtc, w)
		}
	}
	if !reflect.DeepEqual(etc, wantEtc) {
		t.Errorf("--path /etc/:\n%s\nwant:\n%s", strings.Join(etc, "\n"), strings.Join(wantEtc, "\n"))
	}
}

// extractArchiveLayer unpacks a one-layer docker save archive with GNU tar
// and lists the layer's file system.
func extractArchiveLayer(t *testing.T, archive string) map[string]node {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", archive, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf %s: %v\n%s", archive, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m []struct{ Layers []string }
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 || len(m[0].Layers) != 1 {
		t.Fatalf("manifest.json of %s: %v (want one image of one layer)", archive, err)
	}
	root := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xpf", filepath.Join(dir, m[0].Layers[0]), "--numeric-owner", "-C", root).CombinedOutput(); err != nil {
		t.Fatalf("tar -xpf layer: %v\n%s", err, out)
	}
	return listFS(t, root)
}

// dive's fixtures hold one image stored four ways. Re-compression keeps
// the diff_ids (same content); eStargz rewrites the tar (new diff_id), but
// its TOC and landmark entries are not files, so no file differs.
func TestFixtureDiveCompressions(t *testing.T) {
	dir := filepath.Join(testenv.Fixtures(t), "images", "dive")
	gz := open(t, filepath.Join(dir, "test-oci-gzip-image.tar"))
	for _, tc := range []struct {
		name string
		want diff.Verdict
	}{{"zstd", diff.SameContent}, {"uncompressed", diff.SameContent}, {"estargz", diff.Different}} {
		t.Run(tc.name, func(t *testing.T) {
			o := open(t, filepath.Join(dir, "test-oci-"+tc.name+"-image.tar"))
			opts := diff.Options{IgnoreTimestamps: true}
			r := diff.Images(gz.Image(), o.Image(), opts)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s", r.Verdict, tc.want)
			}
			fr, err := diff.Files(context.Background(), gz.Image(), o.Image(), gz, o, r.SharedLayers, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(fr.Changes) != 0 {
				t.Errorf("file changes %+v, want none", fr.Changes)
			}
			if wantRead := len(gz.Image().Layers) - r.SharedLayers; fr.Read.Layers != 2*wantRead {
				t.Errorf("read %d layers, want %d", fr.Read.Layers, 2*wantRead)
			}
		})
	}
}
