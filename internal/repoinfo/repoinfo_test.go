package repoinfo

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

func repoInfoDir(t *testing.T) string {
	return filepath.Join(testenv.Fixtures(t), "repo-info", "repos")
}

// naiveCounts is an independent, deliberately crude reading of a file:
// per "### " section, the layer bullets, the byte counts in their Size
// lines, the layer-producing instruction lines, and the Total Size.
type naiveSection struct {
	layers, producing int
	sum, total        int64
}

var (
	naiveBytes = regexp.MustCompile(`\((\d+) bytes\)`)
	naiveSmall = regexp.MustCompile(`^\t\tSize: ([\d.]+) B\s*$`)
)

func naiveCounts(t *testing.T, path string) []naiveSection {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []naiveSection
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "<!-- fixtures: EXCERPT") {
			break
		}
		if strings.HasPrefix(line, "### ") {
			out = append(out, naiveSection{})
			continue
		}
		if len(out) == 0 {
			continue
		}
		s := &out[len(out)-1]
		switch {
		case strings.HasPrefix(line, "\t-\t`sha256:"):
			s.layers++
		case strings.HasPrefix(line, "\t\tSize: "):
			if m := naiveBytes.FindStringSubmatch(line); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				s.sum += n
			} else if m := naiveSmall.FindStringSubmatch(line); m != nil {
				v, _ := strconv.ParseFloat(m[1], 64)
				s.sum += int64(v)
			}
		case strings.HasPrefix(line, "-\tTotal Size: "):
			m := naiveBytes.FindStringSubmatch(line)
			if m != nil {
				s.total, _ = strconv.ParseInt(m[1], 10, 64)
			}
		case strings.HasPrefix(line, "RUN ") || strings.HasPrefix(line, "ADD ") || strings.HasPrefix(line, "COPY "):
			s.producing++
		}
	}
	return out
}

// TestEveryFixture parses every repo-info fixture and checks the model
// against the crude independent reading: same sections, same layer count,
// history pairs exactly (one non-empty entry per layer), and Total Size
// equals the sum of the layer sizes.
func TestEveryFixture(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoInfoDir(t), "*", "remote", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(repoInfoDir(t), path)
		t.Run(rel, func(t *testing.T) {
			f, err := ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveCounts(t, path)
			if len(f.Sections) != len(want) {
				t.Fatalf("sections: got %d, want %d", len(f.Sections), len(want))
			}
			if !f.Excerpt && len(f.Sections) != len(f.Platforms) {
				t.Errorf("full file: %d sections but %d platforms listed", len(f.Sections), len(f.Platforms))
			}
			if !strings.HasPrefix(f.Digest, "sha256:") || f.MediaType == "" {
				t.Errorf("header: digest %q media type %q", f.Digest, f.MediaType)
			}
			for i, s := range f.Sections {
				w := want[i]
				var sum int64
				if s.Attestation {
					if s.Image != nil {
						t.Errorf("%s: attestation section has an image", s.PlatformText)
					}
					continue
				}
				img := s.Image
				if len(img.Layers) != w.layers {
					t.Errorf("%s: layers %d, want %d", s.PlatformText, len(img.Layers), w.layers)
				}
				nonEmpty := 0
				for _, h := range img.History {
					if h.Layer >= 0 {
						nonEmpty++
					}
				}
				if nonEmpty != w.producing || nonEmpty != w.layers {
					t.Errorf("%s: %d paired history entries, want %d (instructions) = %d (layers)", s.PlatformText, nonEmpty, w.producing, w.layers)
				}
				if img.PairingProblem != "" {
					t.Errorf("%s: pairing problem: %s", s.PlatformText, img.PairingProblem)
				}
				for _, l := range img.Layers {
					sum += l.Size
				}
				if sum != w.sum || sum != s.TotalSize || s.TotalSize != w.total {
					t.Errorf("%s: layer sizes sum %d, naive sum %d, Total Size %d (naive %d)", s.PlatformText, sum, w.sum, s.TotalSize, w.total)
				}
				if !strings.HasPrefix(s.ManifestDigest, "sha256:") || !strings.HasPrefix(s.ImageID, "sha256:") {
					t.Errorf("%s: manifest %q id %q", s.PlatformText, s.ManifestDigest, s.ImageID)
				}
				if img.Index == nil || img.Index.Digest != f.Digest || img.Index.Chosen == nil || img.Index.Chosen.Digest != s.ManifestDigest {
					t.Errorf("%s: index not attached to the image", s.PlatformText)
				}
			}
		})
	}
}

// TestFacts checks values read off the fixture files by hand.
func TestFacts(t *testing.T) {
	dir := repoInfoDir(t)
	tests := []struct {
		file       string
		platform   image.Platform
		manifest   string
		id         string
		firstLayer string
		firstSize  int64
		buildkit   bool
		cmd        []string
		entrypoint []string
		history0   string
		historyN   string // last entry's created_by
	}{
		{
			file: "debian/remote/bullseye.md", platform: image.Platform{OS: "linux", Architecture: "amd64"},
			manifest:   "sha256:640e07a7971e0c13eb14214421cf3d75407e0965b84430e08ec90c336537a2cf",
			id:         "sha256:5c8936e57a38f76abcac867a4d2d4faf8bb8254df0b016f2456c46df2bbd9114",
			firstLayer: "sha256:bbeef03cda1f5d6c9e20c310c1c91382a6b0a1a2501c3436b28152f13896f082", firstSize: 55025206,
			cmd:      []string{"bash"},
			history0: "/bin/sh -c #(nop) ADD file:917750a82b29f8f7f88a121017bd9dfeb0fbcc8f0697a009f08b6b58246eff4b in / ",
			historyN: `/bin/sh -c #(nop)  CMD ["bash"]`,
		},
		{
			file: "debian/remote/bullseye.md", platform: image.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
			manifest:   "sha256:c6c25a39d869b0b1c77645aa6dfdb69c4a3531cdb8fd43fdbdba8e945e720b72",
			id:         "sha256:a94cd7c7d58f483affd5937853ad4d24caa18cd7c2ec9ef65a9e528dfbc5eb07",
			firstLayer: "sha256:d705c97ea3a2300e9dda9a18ff662a98c2811b41147a15d4f4791f475ce8be47", firstSize: 50190808,
			cmd:      []string{"bash"},
			history0: "/bin/sh -c #(nop) ADD file:48f6407691a382c3ad731f05f78d4210efd40f1a00abfd6c043d8401c6ca1811 in / ",
			historyN: `/bin/sh -c #(nop)  CMD ["bash"]`,
		},
		{
			file: "alpine/remote/3.23.6.md", platform: image.Platform{OS: "linux", Architecture: "amd64"},
			manifest:   "sha256:1f3591b8a02ea153f41c5bba878ad477f63ab3d19349762cb77504db02a23e15",
			id:         "sha256:f6d31b983274a75183386cda3aac54849498fac0fc3e0d98f92ff56ed517d92b",
			firstLayer: "sha256:d0c1d894c237d8192cbcd37e435031ad4eddec173299568a5a05869c2e40dfa3", firstSize: 3848507,
			buildkit: true, cmd: []string{"/bin/sh"},
			history0: "ADD alpine-minirootfs-3.23.6-x86_64.tar.gz / # buildkit",
			historyN: `CMD ["/bin/sh"]`,
		},
		{
			file: "python/remote/3-slim-trixie.md", platform: image.Platform{OS: "linux", Architecture: "amd64"},
			manifest:   "sha256:d6e0850f13fda0e2305d4c3c1c2f7930fe1042d34ddd958e49bba6ef685d0bb2",
			id:         "sha256:a41c1f663be90eb31af9864d1e1ccdaa91b6af11776b7ade1c05915e76da7aea",
			firstLayer: "sha256:26c307b5e35a59ce911f5fde5b9458120ec8734e831ea2da5649a9ad14abfd3d", firstSize: 29780765,
			buildkit: true, cmd: []string{"python3"},
			history0: "# debian.sh --arch 'amd64' out/ 'trixie' '@1785715200'",
			historyN: `CMD ["python3"]`,
		},
		{
			file: "nginx/remote/1.23.3-alpine.md", platform: image.Platform{OS: "linux", Architecture: "amd64"},
			manifest:   "sha256:c1b9fe3c0c015486cf1e4a0ecabe78d05864475e279638e9713eb55f013f907f",
			id:         "sha256:c433c51bbd66153269da1c592105c9c19bf353e9d7c3d1225ae2bbbeb888cc16",
			firstLayer: "sha256:8921db27df2831fa6eaa85321205a2470c669b855f3ec95d5a3c2b46de0442c9", firstSize: 3370628,
			cmd: []string{"nginx", "-g", "daemon off;"}, entrypoint: []string{"/docker-entrypoint.sh"},
			history0: "/bin/sh -c #(nop) ADD file:e4d600fc4c9c293efe360be7b30ee96579925d1b4634c94332e2ec73f7d8eca1 in / ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.platform.String(), func(t *testing.T) {
			f, err := ParseFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s, ok := f.Platform(tt.platform)
			if !ok {
				t.Fatalf("no %s section", tt.platform)
			}
			img := s.Image
			if s.ManifestDigest != tt.manifest || img.ManifestDigest != tt.manifest {
				t.Errorf("manifest digest %s", s.ManifestDigest)
			}
			if img.ID != tt.id {
				t.Errorf("id %s", img.ID)
			}
			if img.Layers[0].Digest != tt.firstLayer || img.Layers[0].Size != tt.firstSize {
				t.Errorf("first layer %+v", img.Layers[0])
			}
			if s.BuildKit != tt.buildkit {
				t.Errorf("buildkit %v", s.BuildKit)
			}
			if !equal(img.Config.Config.Cmd, tt.cmd) {
				t.Errorf("cmd %q", img.Config.Config.Cmd)
			}
			if !equal(img.Config.Config.Entrypoint, tt.entrypoint) {
				t.Errorf("entrypoint %q", img.Config.Config.Entrypoint)
			}
			if got := img.History[0].CreatedBy; got != tt.history0 {
				t.Errorf("history[0] %q, want %q", got, tt.history0)
			}
			if tt.historyN != "" {
				if got := img.History[len(img.History)-1].CreatedBy; got != tt.historyN {
					t.Errorf("last history %q, want %q", got, tt.historyN)
				}
			}
			if img.Platform.String() != tt.platform.String() {
				t.Errorf("platform %s", img.Platform)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCreatedBy(t *testing.T) {
	tests := []struct {
		text     string
		buildkit bool
		want     string
	}{
		{"RUN apt-get update", false, "/bin/sh -c apt-get update"},
		{"ADD file:abc in / ", false, "/bin/sh -c #(nop) ADD file:abc in / "},
		{"COPY file:abc in /x ", false, "/bin/sh -c #(nop) COPY file:abc in /x "},
		{"WORKDIR /data", false, "/bin/sh -c #(nop) WORKDIR /data"},
		{`CMD ["bash"]`, false, `/bin/sh -c #(nop)  CMD ["bash"]`},
		{"ENV A=b", false, "/bin/sh -c #(nop)  ENV A=b"},
		{"RUN set -eux; x # buildkit", true, "RUN /bin/sh -c set -eux; x # buildkit"},
		{"ENV A=b", true, "ENV A=b"},
		{"RUN # debian.sh --arch 'amd64'", true, "# debian.sh --arch 'amd64'"},
		{"RUN # debian.sh --arch 'amd64'", false, "# debian.sh --arch 'amd64'"},
	}
	for _, tt := range tests {
		if got := createdBy(tt.text, tt.buildkit); got != tt.want {
			t.Errorf("createdBy(%q, %v) = %q, want %q", tt.text, tt.buildkit, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"55.0 MB (55025206 bytes)", 55025206, false},
		{"249.0 B", 249, false},
		{"1.2 KB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestNotRepoInfo(t *testing.T) {
	if _, err := Parse(strings.NewReader("# hello\n")); err == nil {
		t.Fatal("want an error for a file without a heading")
	}
}

// TestGolden pins the whole model of one classic and one BuildKit image.
func TestGolden(t *testing.T) {
	dir := repoInfoDir(t)
	for _, name := range []string{"redis/remote/7.0.8.md", "python/remote/3-slim-trixie.md"} {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(f.Images()[0], "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.NewReplacer("/remote/", "_", "/", "_").Replace(name)+".json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(want)) != string(got) {
				t.Errorf("%s differs from golden %s (run with -update and review)", name, golden)
			}
		})
	}
}
