package secrets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/provenance"
	"github.com/strata-tool/strata/secrets"
	"github.com/strata-tool/strata/source"
)

// metadataText is an independent view of where each metadata surface's
// values are: the raw strings, joined, for a substring test.
func metadataText(img *image.Image, prov *provenance.Provenance) map[string]string {
	var env, labels, hist, ann, pv []string
	env = append(env, img.Config.Config.Env...)
	for k, v := range img.Config.Config.Labels {
		labels = append(labels, k+"="+v)
	}
	for _, h := range img.History {
		hist = append(hist, h.CreatedBy, h.Comment)
	}
	sets := []map[string]string{img.Annotations}
	if img.Index != nil {
		sets = append(sets, img.Index.Annotations)
		if img.Index.Chosen != nil {
			sets = append(sets, img.Index.Chosen.Annotations)
		}
	}
	for _, l := range img.Layers {
		sets = append(sets, l.Annotations)
	}
	for _, s := range sets {
		for k, v := range s {
			ann = append(ann, k+"="+v)
		}
	}
	if prov != nil {
		for k, v := range prov.BuildArgs {
			pv = append(pv, k+"="+v)
		}
		for _, s := range prov.Sources {
			pv = append(pv, string(s.Data))
		}
	}
	j := func(xs []string) string { return strings.Join(xs, "\n") }
	return map[string]string{secrets.SurfaceEnv: j(env), secrets.SurfaceLabel: j(labels), secrets.SurfaceHistory: j(hist),
		secrets.SurfaceAnnotation: j(ann), secrets.SurfaceProvenance: j(pv)}
}

type corpusScore struct {
	builder, from                     string
	expected, found, findings, falseP int
}

// TestPlantedSecretsCorpus: the corpus image, built by the classic
// builder, BuildKit and buildah, read from its archive and from the
// registry. Every planted secret must be found on every surface that
// holds it (metadata: wherever the raw config, history, annotations or
// provenance contain the value; files: at the planted path, with the step
// that deleted or overwrote it), and nothing else may be flagged — no
// decoy. Precision and recall are printed (go test -v).
func TestPlantedSecretsCorpus(t *testing.T) {
	corpus := testenv.SecretsImages(t)
	ctx := context.Background()
	var scores []corpusScore
	for _, b := range []string{"classic", "buildkit", "buildah"} {
		for _, from := range []string{"archive", "registry"} {
			sc := corpusScore{builder: b, from: from}
			t.Run(b+"/"+from, func(t *testing.T) {
				src, err := source.Open(ctx, corpus.Refs[b][from], source.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				prov, _ := provenance.Read(ctx, src, src.Image())
				s := secrets.New(secrets.Options{})
				// As the verb reads: fingerprints only (no sha256 per file).
				rep, err := s.Scan(ctx, layerindex.New(src, layerindex.Options{Content: s.Content, FingerprintOnly: true}), prov)
				if err != nil {
					t.Fatal(err)
				}
				score(t, &sc, corpus, rep, metadataText(src.Image(), prov))
			})
			scores = append(scores, sc)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-9s %8s %6s %9s %5s %7s %9s\n", "BUILDER", "FROM", "EXPECTED", "FOUND", "FINDINGS", "FP", "RECALL", "PRECISION")
	for _, s := range scores {
		fmt.Fprintf(&b, "%-9s %-9s %8d %6d %9d %5d %6.1f%% %8.1f%%\n", s.builder, s.from, s.expected, s.found, s.findings, s.falseP,
			100*float64(s.found)/float64(max(s.expected, 1)), 100*float64(s.findings-s.falseP)/float64(max(s.findings, 1)))
	}
	t.Log("\n" + b.String())
}

// score counts expected (secret, surface, path) places found, and
// findings that are no planted secret.
func score(t *testing.T, sc *corpusScore, corpus *testenv.SecretsCorpus, rep *secrets.Report, meta map[string]string) {
	planted := map[string]bool{}
	for _, p := range corpus.Planted {
		planted[p.Value] = true
	}
	for _, f := range rep.Findings {
		sc.findings++
		if !planted[f.Secret()] {
			sc.falseP++
			t.Errorf("flagged something not planted: %s %s %s %s %q", f.Rule, f.Surface, f.Path, f.Key, f.Secret())
		}
		for _, d := range corpus.Decoys {
			if strings.Contains(f.Secret(), d) {
				t.Errorf("decoy %q flagged by %s on %s", d, f.Rule, f.Surface)
			}
		}
		if strings.Contains(f.Value, f.Secret()) && len(f.Secret()) > 8 {
			t.Errorf("value not redacted: %q", f.Value)
		}
	}
	for _, p := range corpus.Planted {
		if p.Path != "" {
			sc.expected++
			if fileFound(rep, p) {
				sc.found++
			} else {
				t.Errorf("missed %s in %s (removed: %q)", p.Rule, p.Path, p.Removed)
			}
			continue
		}
		for surface, text := range meta {
			if !strings.Contains(text, p.Value) {
				continue
			}
			sc.expected++
			if metaFound(rep, p, surface) {
				sc.found++
			} else {
				t.Errorf("missed %s on %s", p.Rule, surface)
			}
		}
	}
	if sc.expected == 0 {
		t.Fatal("no planted secret is in the image: the corpus did not build as meant")
	}
}

func fileFound(rep *secrets.Report, p testenv.Planted) bool {
	for _, f := range rep.Findings {
		if f.Surface == secrets.SurfaceFile && f.Path == p.Path && f.Secret() == p.Value && f.Rule == p.Rule &&
			f.DeletedLater == (p.Removed != "") && f.RemovedBy == p.Removed && f.Step > 0 && f.Layer != nil &&
			(p.Removed == "" || f.RemovedStep > f.Step) {
			return true
		}
	}
	return false
}

func metaFound(rep *secrets.Report, p testenv.Planted, surface string) bool {
	for _, f := range rep.Findings {
		if f.Surface == surface && f.Secret() == p.Value {
			return true
		}
	}
	return false
}
