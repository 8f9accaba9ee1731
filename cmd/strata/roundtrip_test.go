package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// roundTripNames are the test Dockerfiles whose images are deterministic:
// no network, no clock in file contents (all of testdata/builders).
var roundTripNames = map[string]bool{"single": true, "multistage": true, "chmod": true, "heredoc": true,
	"parent": true, "child": true, "crosschild": true}

// roundTripGaps are rebuilds known not to give the same file system, and
// why. The test fails if one of them starts to match (drop it here) or if
// any other image does not.
var roundTripGaps = map[string]string{}

// family is the builder a rebuild uses for an image built by builder.
func family(builder string) string {
	switch {
	case builder == "classic":
		return "classic"
	case builder == "buildkit-dockerd":
		// dockerd's own BuildKit (0.8): the same builder. The standalone
		// 0.34 differs in one place: 0.8's RUN leaves an empty /etc (its
		// mount point for hosts/resolv.conf), 0.34's does not.
		return "buildkit-dockerd"
	case strings.Contains(builder, "buildkit"):
		return "buildkit"
	case strings.HasPrefix(builder, "buildah"), strings.HasPrefix(builder, "podman"):
		return "buildah"
	}
	return ""
}

type roundTrip struct {
	name, builder, from string
	strata, oracle      string // "identical" or what differs
}

// TestRoundTripRebuild: for every deterministic test image, from its
// docker save archive and from the registry, strata dockerfile --context
// recovers a build context; the same builder family rebuilds it (the
// classic builder in dockerd, BuildKit through buildctl, buildah), and
// the rebuilt image's final file system must equal the original's, by
// strata diff --files --ignore-timestamps and by GNU tar extraction of
// both (mtimes aside). The per-builder table is printed (go test -v).
func TestRoundTripRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds every test image: not in -short")
	}
	images := testenv.BuiltImages(t)
	rb := newRebuilder(t)
	var rows []roundTrip
	for _, im := range images {
		fam := family(im.Builder)
		if !roundTripNames[im.Name] || fam == "" {
			continue
		}
		orig := im.Refs["docker-archive"]
		if orig == "" {
			t.Fatalf("%s/%s has no docker-archive ref", im.Name, im.Builder)
		}
		want := oracleFS(t, orig)
		format := manifestFormat(t, im.Refs["registry"])
		for _, from := range []string{"docker-archive", "registry"} {
			ref := im.Refs[from]
			row := roundTrip{name: im.Name, builder: im.Builder, from: from}
			t.Run(im.Name+"/"+im.Builder+"/"+from, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "ctx")
				code, out, errs := runCLI(t, "dockerfile", "--no-cache", "--context", dir, ref)
				if code != 0 {
					t.Fatalf("dockerfile --context: exit %d\n%s%s", code, out, errs)
				}
				row.strata, row.oracle = rb.judge(t, fam, format, dir, im.Name+"-"+im.Builder, orig, want,
					im.Name+"/"+im.Builder, roundTripGaps, "roundTripGaps")
			})
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		t.Fatal("no deterministic test image found in images.json")
	}
	t.Log("\n" + roundTripTable(rows))
}

// manifestFormat is "docker" or "oci", as the registry serves the image.
func manifestFormat(t *testing.T, ref string) string {
	t.Helper()
	code, out, errs := runCLI(t, "inspect", "-o", "json", ref)
	var doc struct {
		MediaType string `json:"manifestMediaType"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("inspect %s: exit %d %s", ref, code, errs)
	}
	if strings.Contains(doc.MediaType, "docker") {
		return "docker"
	}
	return "oci"
}

// shapesGaps are shapes a rebuild is known not to give back, by builder.
var shapesGaps = map[string]string{}

// TestRoundTripShapes: the same round trip for the shapes image (a
// directory to a relative destination, several sources, --chown, a local
// archive ADD extracted, symlinks, a hardlink, an empty directory, a
// setuid file, one file copied twice), built in test setup by the classic
// builder, BuildKit and buildah, from archives and from the registry.
func TestRoundTripShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds images: not in -short")
	}
	refs := testenv.ShapesImages(t)
	rb := newRebuilder(t)
	var rows []roundTrip
	for _, b := range []string{"classic", "buildkit", "buildah"} {
		want := oracleFS(t, refs[b]["archive"])
		format := manifestFormat(t, refs[b]["registry"])
		for _, from := range []string{"archive", "registry"} {
			row := roundTrip{name: "shapes", builder: b, from: from}
			t.Run(b+"/"+from, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "ctx")
				if code, out, errs := runCLI(t, "dockerfile", "--no-cache", "--context", dir, refs[b][from]); code != 0 {
					t.Fatalf("dockerfile --context: exit %d\n%s%s", code, out, errs)
				}
				row.strata, row.oracle = rb.judge(t, b, format, dir, "shapes-"+b, refs[b]["archive"], want,
					b, shapesGaps, "shapesGaps")
			})
			rows = append(rows, row)
		}
	}
	t.Log("\n" + roundTripTable(rows))
}

// strataSame runs strata diff --files --ignore-timestamps and says
// "identical" when no file differs.
// judge rebuilds the context in dir with family fam, compares the result
// with the original image (strata diff) and with want (the oracle), and
// holds the verdict to gaps[key], the round trips known not to match
// (named gapsName in messages).
func (rb *rebuilder) judge(t *testing.T, fam, format, dir, name, orig string, want map[string]string, key string, gaps map[string]string, gapsName string) (strata, oracle string) {
	t.Helper()
	rebuilt := rb.rebuild(t, fam, format, dir, name)
	strata = strataSame(t, orig, rebuilt)
	oracle = sameTree(want, oracleFS(t, rebuilt))
	same := strata == "identical" && oracle == "identical"
	switch why, gap := gaps[key]; {
	case gap && same:
		t.Errorf("%s now rebuilds identically: drop it from %s (%s)", key, gapsName, why)
	case !gap && !same:
		df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		t.Errorf("rebuild differs\nstrata diff: %s\noracle: %s\n%s", strata, oracle, df)
	}
	return strata, oracle
}

func strataSame(t *testing.T, a, b string) string {
	t.Helper()
	code, out, errs := runCLI(t, "diff", "--files", "--ignore-timestamps", "-o", "json", a, b)
	if code == 2 {
		t.Fatalf("strata diff: %s", errs)
	}
	var rep struct {
		Files struct {
			Changes []struct {
				Path   string   `json:"path"`
				Kind   string   `json:"kind"`
				Fields []string `json:"fields"`
			} `json:"changes"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("strata diff -o json: %v", err)
	}
	if len(rep.Files.Changes) == 0 {
		return "identical"
	}
	var d []string
	for _, c := range rep.Files.Changes {
		d = append(d, fmt.Sprintf("%s %s %v", c.Kind, c.Path, c.Fields))
	}
	return strings.Join(d, "; ")
}

// roundTripTable counts identical rebuilds per builder and source.
func roundTripTable(rows []roundTrip) string {
	type cell struct{ n, strata, oracle int }
	cells := map[string]*cell{}
	var keys []string
	var diffs []string
	for _, r := range rows {
		k := r.builder + "\t" + r.from
		if cells[k] == nil {
			cells[k] = &cell{}
			keys = append(keys, k)
		}
		c := cells[k]
		c.n++
		if r.strata == "identical" {
			c.strata++
		}
		if r.oracle == "identical" {
			c.oracle++
		}
		if r.strata != "identical" || r.oracle != "identical" {
			diffs = append(diffs, fmt.Sprintf("  %s/%s from %s: strata: %s; oracle: %s", r.name, r.builder, r.from, cut(r.strata), cut(r.oracle)))
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %-15s %-17s %-7s %-16s %s\n", "BUILDER", "FROM", "REBUILD", "IMAGES", "IDENTICAL(diff)", "IDENTICAL(tar)")
	for _, k := range keys {
		builder, from, _ := strings.Cut(k, "\t")
		c := cells[k]
		fmt.Fprintf(&b, "%-20s %-15s %-17s %-7d %-16d %d\n", builder, from, family(builder), c.n, c.strata, c.oracle)
	}
	for _, d := range diffs {
		b.WriteString(d + "\n")
	}
	return b.String()
}

// rebuilder drives the real builders the test images came from.
type rebuilder struct {
	dockerHost, bkAddr, buildctl, docker, dockerBK string
}

func newRebuilder(t *testing.T) *rebuilder {
	rb := &rebuilder{
		dockerHost: testenv.Service(t, "STRATA_TEST_DOCKER_HOST"),
		bkAddr:     testenv.Service(t, "STRATA_TEST_BUILDKIT_ADDR"),
		buildctl:   testenv.Service(t, "STRATA_TEST_BUILDCTL"),
		docker:     os.Getenv("STRATA_DOCKER_CLASSIC"),
	}
	testenv.Service(t, "CONTAINERS_STORAGE_CONF")
	if rb.docker == "" {
		rb.docker = "/usr/local/bin/docker"
	}
	if rb.dockerBK = os.Getenv("STRATA_DOCKER_BUILDKIT"); rb.dockerBK == "" {
		rb.dockerBK = "/usr/bin/docker" // Debian's 20.10 client drives dockerd's BuildKit
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("buildah: %v", err)
	}
	return rb
}

// rebuild builds dir with the family's builder, without any cache, and
// returns a docker-archive tarball of the result.
func (rb *rebuilder) rebuild(t *testing.T, fam, format, dir, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rebuilt.tar")
	tag := "strata-roundtrip/" + strings.ToLower(name) + ":latest"
	switch fam {
	case "classic":
		env := []string{"DOCKER_HOST=" + rb.dockerHost, "DOCKER_BUILDKIT=0"}
		sh(t, env, rb.docker, "build", "-q", "--no-cache", "-t", tag, dir)
		sh(t, env, rb.docker, "save", "-o", out, tag)
		sh(t, env, rb.docker, "rmi", "-f", tag)
	case "buildkit-dockerd":
		env := []string{"DOCKER_HOST=" + rb.dockerHost, "DOCKER_BUILDKIT=1"}
		sh(t, env, rb.dockerBK, "build", "-q", "--no-cache", "--network=none", "-t", tag, dir)
		sh(t, env, rb.docker, "save", "-o", out, tag)
		sh(t, env, rb.docker, "rmi", "-f", tag)
	case "buildkit":
		sh(t, nil, rb.buildctl, "--addr", rb.bkAddr, "build", "--progress=quiet", "--no-cache", "--frontend", "dockerfile.v0",
			"--local", "context="+dir, "--local", "dockerfile="+dir, "--output", "type=docker,name="+tag+",dest="+out)
	case "buildah":
		tag = "localhost/" + tag
		// The image's own format: in OCI format buildah drops SHELL,
		// HEALTHCHECK and ONBUILD, so a RUN after SHELL runs elsewhere.
		sh(t, nil, "buildah", "bud", "-q", "--no-cache", "--network=none", "--format", format, "-t", tag, dir)
		sh(t, nil, "buildah", "push", "-q", tag, "docker-archive:"+out)
		sh(t, nil, "buildah", "rmi", "-f", tag)
	default:
		t.Fatalf("no builder for family %q", fam)
	}
	return out
}

func sh(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
}

// cut keeps a list of differences readable in the table.
func cut(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
