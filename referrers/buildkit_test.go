package referrers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/referrers"
	"github.com/strata-tool/strata/source"
)

// TestBuildKitAttestation: an image BuildKit built with provenance
// (scripts/build-test-images.sh, builder buildkit-provenance) has an
// attestation manifest in its index; it is listed as a BuildKit
// attestation carrying SLSA provenance.
func TestBuildKitAttestation(t *testing.T) {
	found := 0
	for _, b := range testenv.BuiltImages(t) {
		if b.Builder != "buildkit-provenance" {
			continue
		}
		for _, label := range []string{"registry"} {
			ref, ok := b.Refs[label]
			if !ok {
				continue
			}
			src, err := source.Open(context.Background(), ref, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := referrers.List(context.Background(), src, referrers.Options{})
			src.Close()
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			ok = false
			for _, it := range res.Items {
				if it.Kind == referrers.BuildKitAttestation && it.Via == "index" && len(it.Describes) > 0 &&
					strings.HasPrefix(it.Describes[0], "SLSA provenance") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s (%s): no BuildKit provenance attestation in %+v", b.Name, label, res.Items)
			}
			found++
		}
	}
	if found == 0 {
		t.Fatal("no buildkit-provenance image in images.json: the test proved nothing")
	}
}
