package catalog_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/reference"
	"github.com/strata-tool/strata/source"
)

func TestChooseName(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        catalog.NameInput
		repo, tag string
	}{
		{"user name wins", catalog.NameInput{Name: "docker.io/library/debian:12", Ref: "127.0.0.1:5000/x:1", Registry: true}, "debian", "12"},
		{"user name without tag", catalog.NameInput{Name: "mirror/base", RepoTags: []string{"a:1"}}, "mirror/base", ""},
		{"registry reference", catalog.NameInput{Ref: "index.docker.io/library/nginx:1.25", Registry: true}, "nginx", "1.25"},
		{"registry reference, default tag", catalog.NameInput{Ref: "registry-1.docker.io/bitnami/redis", Registry: true}, "bitnami/redis", "latest"},
		{"registry reference by digest", catalog.NameInput{Ref: "ghcr.io/o/app@sha256:" + strings.Repeat("a", 64), Registry: true}, "ghcr.io/o/app", ""},
		{"containerd name before a short RepoTag", catalog.NameInput{Ref: "x.tar",
			Annotations: map[string]string{"io.containerd.image.name": "docker.io/library/busybox:1.36", "org.opencontainers.image.ref.name": "1.36"},
			RepoTags:    []string{"busybox:latest"}}, "busybox", "1.36"},
		{"whole ref.name", catalog.NameInput{Ref: "podman-oci.tar",
			Annotations: map[string]string{"org.opencontainers.image.ref.name": "127.0.0.1:5000/t/single:classic"}}, "127.0.0.1:5000/t/single", "classic"},
		{"tag-only ref.name tags the path", catalog.NameInput{Ref: "oci:/images/layout",
			Annotations: map[string]string{"org.opencontainers.image.ref.name": "v1"}}, "oci:/images/layout", "v1"},
		{"the RepoTag the user asked for", catalog.NameInput{Ref: "docker-daemon:app:2",
			RepoTags: []string{"app:1", "docker.io/library/app:2"}}, "app", "2"},
		{"first RepoTag for an image ID", catalog.NameInput{Ref: "docker-daemon:3f5a9b1c2d4e",
			RepoTags: []string{"app:1", "app:2"}}, "app", "1"},
		{"an untagged daemon image by ID", catalog.NameInput{Ref: "docker-daemon:3f5a9b1c2d4e"}, "docker-daemon:3f5a9b1c2d4e", ""},
		{"an archive path with a tag selector", catalog.NameInput{Ref: "/tmp/save.tar:app:1"}, "/tmp/save.tar:app", "1"},
		{"a relative archive", catalog.NameInput{Ref: "busybox.tar"}, "busybox.tar", ""},
	} {
		repo, tag, err := catalog.ChooseName(tt.in)
		if err != nil || repo != tt.repo || tag != tt.tag {
			t.Errorf("%s: %q %q %v; want %q %q", tt.name, repo, tag, err, tt.repo, tt.tag)
		}
	}
	if _, _, err := catalog.ChooseName(catalog.NameInput{Name: "Not A Name"}); err == nil {
		t.Error("an invalid --name was accepted")
	}
}

// TestNameForBuiltImages: images from every builder, opened from the
// registry, archives and daemons, are catalogued under the name they were
// built and pushed as — including a daemon image with two tags, asked for
// by its second (issue 8: catalog add used the first RepoTag).
func TestNameForBuiltImages(t *testing.T) {
	built := testenv.BuiltImages(t)
	ctx := context.Background()
	hosts := map[string]string{
		"docker-daemon":   os.Getenv("STRATA_TEST_DOCKER_HOST"),
		"docker29-daemon": os.Getenv("STRATA_TEST_DOCKER29_HOST"),
		"podman-daemon":   os.Getenv("STRATA_TEST_PODMAN_HOST"),
	}
	checked, secondTag := 0, 0
	for _, b := range built {
		want := b.Refs["registry"]
		if want == "" {
			continue
		}
		reg := os.Getenv("STRATA_TEST_REGISTRY") + "/"
		wantRepo, wantTag, _ := strings.Cut(strings.TrimPrefix(want, reg), ":")
		wantRepo = reg + wantRepo
		for kind, ref := range b.Refs {
			var opts source.Options
			switch {
			case kind == "registry", strings.Contains(kind, "docker-archive"), kind == "docker29-archive":
			case hosts[kind] != "":
				opts.DockerHost = hosts[kind]
			default:
				continue // OCI layouts and archives: see TestChooseNameOCIAnnotations
			}
			src, err := source.Open(ctx, ref, opts)
			if err != nil {
				t.Errorf("%s %s %s: %v", b.Name, b.Builder, kind, err)
				continue
			}
			img := src.Image()
			src.Close()
			if img.Transport != "registry" && img.Transport != "daemon" && len(img.RepoTags) == 0 &&
				(img.Index == nil || img.Index.Chosen == nil || len(img.Index.Chosen.Annotations) == 0) {
				// Every archive names its image somewhere (manifest.json's
				// RepoTags, or index.json's descriptor, which the model
				// keeps as RepoTags): the model must hold it.
				t.Errorf("%s %s %s: the model holds no name for %s", b.Name, b.Builder, kind, ref)
				continue
			}
			repo, tag, err := catalog.NameFor(img, ref, "")
			if err != nil || repo != wantRepo || tag != wantTag {
				t.Errorf("%s %s %s (%s, RepoTags %v): named %s:%s, %v; want %s:%s", b.Name, b.Builder, kind, ref, img.RepoTags, repo, tag, err, wantRepo, wantTag)
			}
			checked++
			if len(img.RepoTags) > 1 && img.RepoTags[0] != strings.TrimPrefix(ref, "docker-daemon:") {
				secondTag++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no built image was checked")
	}
	if secondTag == 0 {
		t.Error("no daemon image was asked for by a tag other than its first RepoTag")
	}
	t.Logf("%d images named, %d by a later RepoTag", checked, secondTag)
}

// TestChooseNameOCIAnnotations: the index descriptors that BuildKit's OCI
// exporter, podman's oci-archive and skopeo's layouts really write name the
// image as ChooseName expects. (The descriptor's annotations reach
// NameFor only where package source keeps them in Image.Index.Chosen.)
func TestChooseNameOCIAnnotations(t *testing.T) {
	checked := 0
	for _, b := range testenv.BuiltImages(t) {
		want := b.Refs["registry"]
		if want == "" {
			continue
		}
		wn, err := reference.ParseName(want)
		if err != nil {
			t.Fatal(err)
		}
		wantRepo, wantTag := wn.FamiliarRepository(), wn.ExplicitTag()
		for kind, ref := range b.Refs {
			var index []byte
			switch kind {
			case "oci-archive", "buildkit-oci-archive", "buildkit-docker-archive":
				index = tarMember(t, ref, "index.json")
			case "oci-layout":
				dir, _, _ := strings.Cut(strings.TrimPrefix(ref, "oci:"), ":")
				index, _ = os.ReadFile(filepath.Join(dir, "index.json"))
			default:
				continue
			}
			var ix struct {
				Manifests []struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"manifests"`
			}
			if index == nil && kind == "buildkit-docker-archive" {
				continue // with manifest.json: TestNameForBuiltImages
			}
			if err := json.Unmarshal(index, &ix); err != nil || len(ix.Manifests) != 1 {
				t.Errorf("%s: index.json: %v", ref, err)
				continue
			}
			in := catalog.NameInput{Ref: ref, Annotations: ix.Manifests[0].Annotations}
			repo, tag, err := catalog.ChooseName(in)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "oci-layout" {
				// skopeo writes the tag alone: the name stays the layout's.
				dir, _, _ := strings.Cut(ref, ":"+wantTag)
				wantRepo, wantTag := dir, wantTag
				if repo != wantRepo || tag != wantTag {
					t.Errorf("%s (%v): %s:%s, want %s:%s", ref, in.Annotations, repo, tag, wantRepo, wantTag)
				}
			} else if repo != wantRepo || tag != wantTag {
				t.Errorf("%s (%v): %s:%s, want %s:%s", ref, in.Annotations, repo, tag, wantRepo, wantTag)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no OCI index was checked")
	}
}

// tarMember returns a file of a tar archive, or nil if it has none.
func tarMember(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
