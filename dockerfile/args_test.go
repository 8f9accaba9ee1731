package dockerfile_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestArgValuesPerInstruction reconstructs every built image whose
// Dockerfile declares ARGs in its final stage and compares the ARG
// instructions, one by one, with the original's: the same names declared by
// each, with the value the build used (the --build-arg, else the default).
// buildah and podman list every ARG name declared so far in each ARG entry
// (`ARG GREETING`, then `ARG GREETING SPACED`); each value belongs to the ARG
// that introduced its name.
func TestArgValuesPerInstruction(t *testing.T) {
	buildah := 0
	for _, b := range testenv.BuiltImages(t) {
		text, err := os.ReadFile(b.Dockerfile)
		if err != nil {
			t.Fatal(err)
		}
		want := argInstructions(t, string(text), b.BuildArgs)
		if len(want) == 0 {
			continue
		}
		ref := b.Refs["oci-layout"]
		if ref == "" {
			ref = b.Refs["registry"]
		}
		t.Run(b.Builder+"/"+b.Name, func(t *testing.T) {
			src, err := source.Open(context.Background(), ref, source.Options{Insecure: true})
			if err != nil {
				t.Fatalf("open %s: %v", ref, err)
			}
			defer src.Close()
			res := dockerfile.Render(src.Image(), dockerfile.Options{})
			got := argInstructions(t, res.Text, nil)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("ARG instructions\n%s\nwant\n%s\nin\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Text)
			}
		})
		if b.Builder == "podman" || strings.HasPrefix(b.Builder, "buildah") {
			buildah++
		}
	}
	if buildah == 0 {
		t.Fatal("no buildah or podman image declares ARGs: the cumulative ARG list is not exercised")
	}
}

// argInstructions lists the final stage's ARG instructions, each as its
// "name=value" pairs (value as the build sees it: buildArgs override
// defaults; "name" alone when there is none).
func argInstructions(t *testing.T, text string, buildArgs map[string]string) []string {
	t.Helper()
	stages, _, err := dockerfile.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	lex := shell.NewLex('\\')
	var out []string
	for _, c := range stages[len(stages)-1].Commands {
		a, ok := c.(*instructions.ArgCommand)
		if !ok {
			continue
		}
		var parts []string
		for _, kv := range a.Args {
			v, has := buildArgs[kv.Key]
			if !has && kv.Value != nil {
				// BuildKit's own word processing removes the quotes.
				if v, _, err = lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(nil)); err != nil {
					t.Fatalf("ARG %s value %q: %v", kv.Key, *kv.Value, err)
				}
				has = true
			}
			if has {
				parts = append(parts, kv.Key+"="+v)
			} else {
				parts = append(parts, kv.Key)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}
