package provenance

import (
	"os"
	"reflect"
	"testing"

	"github.com/strata-tool/strata/image"
)

// The statements in testdata follow BuildKit's provenance types
// (solver/llbsolver/provenance/types): SLSA v0.2 keeps the Dockerfile
// under metadata["https://mobyproject.org/buildkit@v1#metadata"].source,
// v1 under runDetails.metadata.buildkit_metadata.source; `data` is the
// file's bytes, base64 in JSON.
func TestParse(t *testing.T) {
	tests := []struct {
		file       string
		pred       string
		dockerfile string
		buildArgs  map[string]string
		bases      []Material
	}{
		{
			file: "slsa02-max.json", pred: SLSA02,
			dockerfile: "FROM alpine:3.17 AS build\nARG A=\"x y\"\nRUN echo $A\n\nFROM alpine:3.17\nCOPY --from=build /x /x\n",
			buildArgs:  map[string]string{"A": "x y"},
			bases: []Material{{URI: "pkg:docker/alpine@3.17?platform=linux%2Famd64", Digest: "sha256:" + rep("aa"),
				Image: true, Ref: "alpine:3.17", Platform: "linux/amd64"}},
		},
		{
			file: "slsa1-max.json", pred: SLSA1,
			dockerfile: "ARG PARENT\nFROM ${PARENT}\nRUN true\n",
			buildArgs:  map[string]string{"SPACED": "two words here"},
			bases: []Material{{URI: "pkg:docker/127.0.0.1%3A5000/strata-test/parent@sha256%3A" + rep("cc") + "?platform=linux%2Famd64",
				Digest: "sha256:" + rep("cc"), Image: true, Ref: "127.0.0.1:5000/strata-test/parent@sha256:" + rep("cc"), Platform: "linux/amd64"}},
		},
		{
			file: "slsa1-min.json", pred: SLSA1,
			bases: []Material{{URI: "pkg:docker/debian@bookworm-slim?platform=linux%2Farm64%2Fv8", Digest: "sha256:" + rep("dd"),
				Image: true, Ref: "debian:bookworm-slim", Platform: "linux/arm64/v8"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if p.PredicateType != tc.pred {
				t.Errorf("predicate %q", p.PredicateType)
			}
			df, name, ok := p.Dockerfile()
			if ok != (tc.dockerfile != "") || string(df) != tc.dockerfile {
				t.Errorf("dockerfile %q (%s, %v), want %q", df, name, ok, tc.dockerfile)
			}
			if !reflect.DeepEqual(p.BuildArgs, tc.buildArgs) {
				t.Errorf("build args %v, want %v", p.BuildArgs, tc.buildArgs)
			}
			if got := p.BaseImages(); !reflect.DeepEqual(got, tc.bases) {
				t.Errorf("bases:\n got %+v\nwant %+v", got, tc.bases)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{``, `{`, `{"predicateType":"https://spdx.dev/Document"}`, `{"predicateType":"https://slsa.dev/provenance/v1","predicate":[]}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestStatementLayers(t *testing.T) {
	m := `{"schemaVersion":2,"layers":[
	 {"mediaType":"application/vnd.in-toto+json","digest":"sha256:01","size":1,"annotations":{"in-toto.io/predicate-type":"https://spdx.dev/Document"}},
	 {"mediaType":"application/vnd.in-toto+json","digest":"sha256:02","size":2,"annotations":{"in-toto.io/predicate-type":"https://slsa.dev/provenance/v0.2"}}]}`
	ls, err := StatementLayers([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Digest != "sha256:02" || ls[0].Annotations[image.AnnotationInTotoPredicate] != SLSA02 {
		t.Errorf("got %+v", ls)
	}
}

func rep(s string) string {
	out := ""
	for range 32 {
		out += s
	}
	return out
}
