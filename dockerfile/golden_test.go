package dockerfile_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

var update = flag.Bool("update", false, "rewrite the golden Dockerfiles in testdata/golden")

// loadImage reads a hand-written image (real created_by strings of each
// builder, its config in the config blob's shape, history included) and
// pairs that history with its layers.
func loadImage(t *testing.T, path string) *image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var img image.Image
	var stored struct {
		Config image.ConfigFile `json:"config"`
	}
	if err := json.Unmarshal(b, &img); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	img.SetHistory(stored.Config.History)
	return &img
}

func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/golden/*.json")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			img := loadImage(t, in)
			res := dockerfile.Render(img, dockerfile.Options{Layers: true})
			golden := strings.TrimSuffix(in, ".json") + ".Dockerfile"
			if *update {
				if err := os.WriteFile(golden, []byte(res.Text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if res.Text != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, res.Text)
			}
			if err := dockerfile.Validate(res.Text); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, res.Text)
			}
			checkConfig(t, img, res)
			if len(res.Records) != len(img.History) {
				t.Errorf("%d records for %d history entries", len(res.Records), len(img.History))
			}
			// Records number steps and read them as `strata layers` does.
			for i, in := range history.TranslateAll(img) {
				if rec := res.Records[i]; rec.Step != i+1 || rec.Line != in.Line() {
					t.Errorf("record %d: step %d line %q, want step %d line %q", i, rec.Step, rec.Line, i+1, in.Line())
				}
			}
		})
	}
}

// checkConfig replays the emitted Dockerfile and compares the runtime
// config it would produce with the image's. Where a base was folded into
// FROM only what the Dockerfile itself sets is compared.
func checkConfig(t *testing.T, img *image.Image, res *dockerfile.Result) {
	t.Helper()
	r, err := replay(res.Text, nil)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	checkRunSemantics(t, res, r)
	if strings.Contains(res.Text, "could not write this step") {
		t.Errorf("the renderer's fallback fired:\n%s", res.Text)
	}
	cfg := img.Config.Config
	partial := res.From.Kind == "base"
	for _, e := range cfg.Env {
		k, v, _ := strings.Cut(e, "=")
		got, ok := r.Env[k]
		if !ok && (partial || k == "PATH") {
			continue
		}
		if got != v {
			t.Errorf("ENV %s: replay gives %q, config has %q", k, got, v)
		}
	}
	for k, v := range cfg.Labels {
		got, ok := r.Labels[k]
		if !ok && (partial || strings.HasPrefix(k, "io.buildah.")) {
			continue
		}
		if got != v {
			t.Errorf("LABEL %s: replay gives %q, config has %q", k, got, v)
		}
	}
	if !partial || r.HasCmd {
		if !reflect.DeepEqual(nilIfEmpty(r.Cmd), nilIfEmpty(cfg.Cmd)) {
			t.Errorf("CMD: replay gives %q, config has %q", r.Cmd, cfg.Cmd)
		}
	}
	if !partial || r.HasEntry {
		if !reflect.DeepEqual(nilIfEmpty(r.Entrypoint), nilIfEmpty(cfg.Entrypoint)) {
			t.Errorf("ENTRYPOINT: replay gives %q, config has %q", r.Entrypoint, cfg.Entrypoint)
		}
	}
	var ports, vols []string
	for p := range cfg.ExposedPorts {
		ports = append(ports, p)
	}
	for v := range cfg.Volumes {
		vols = append(vols, v)
	}
	sort.Strings(ports)
	sort.Strings(vols)
	if !partial || len(r.Ports) > 0 {
		if !reflect.DeepEqual(nilIfEmpty(r.Ports), nilIfEmpty(ports)) {
			t.Errorf("EXPOSE: replay gives %q, config has %q", r.Ports, ports)
		}
	}
	if !partial || len(r.Volumes) > 0 {
		if !reflect.DeepEqual(nilIfEmpty(r.Volumes), nilIfEmpty(vols)) {
			t.Errorf("VOLUME: replay gives %q, config has %q", r.Volumes, vols)
		}
	}
	for _, c := range []struct{ what, got, want string }{{"USER", r.User, cfg.User}, {"WORKDIR", r.Workdir, cfg.WorkingDir}, {"STOPSIGNAL", r.StopSignal, cfg.StopSignal}} {
		if c.got == "" && partial {
			continue
		}
		if c.what == "WORKDIR" && c.got == "" && c.want == "/" {
			continue // the default working directory
		}
		if c.got != c.want {
			t.Errorf("%s: replay gives %q, config has %q", c.what, c.got, c.want)
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
