package testenv

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SignedImages are two copies of one image in the registry, one signed
// with cosign (a local key, no transparency log) and given an SPDX SBOM
// attestation, one left alone; a third copy is signed in cosign's OCI 1.1
// referrers mode.
type SignedImages struct {
	Signed, Unsigned, SignedOCI string
	// PublicKey verifies the signatures; OtherKey does not.
	PublicKey, OtherKey string
}

// Signed makes (once per registry) the signed and unsigned copies of the
// go package image. Needs cosign and crane (scripts/install-deps.sh) and
// an SBOM to attest: sbom is written by the caller's strata.
func Signed(t testing.TB, sbom func(ref, path string)) SignedImages {
	t.Helper()
	set := PackageImages(t)
	reg := Service(t, "STRATA_TEST_REGISTRY")
	dir := filepath.Join(Service(t, "STRATA_TEST_IMAGES"), "packages", "signed")
	mkdir(t, dir)
	s := SignedImages{PublicKey: filepath.Join(dir, "cosign.pub"), OtherKey: filepath.Join(dir, "other.pub")}
	// cosign keeps signatures by image digest (sha256-<hex>.sig), so each
	// key pair gets repositories of its own, named after the key.
	names := func() {
		pub, _ := os.ReadFile(s.PublicKey)
		id := fmt.Sprintf("%x", sha256.Sum256(pub))[:12]
		s.Signed, s.Unsigned = reg+"/strata-test/signed-"+id+":v1", reg+"/strata-test/unsigned-"+id+":v1"
		s.SignedOCI = reg + "/strata-test/signed-oci-" + id + ":v1"
	}
	names()
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil && registryHas(reg, strings.TrimPrefix(strings.TrimSuffix(s.Signed, ":v1"), reg+"/"), "v1") {
		return s
	}
	env := append(os.Environ(), "COSIGN_PASSWORD=", "COSIGN_EXPERIMENTAL=1")
	cosign := func(args ...string) {
		t.Helper()
		cmd := exec.Command("cosign", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, f := range []string{"cosign.key", "cosign.pub", "other.key", "other.pub", "done"} {
		os.Remove(filepath.Join(dir, f))
	}
	cosign("generate-key-pair")
	cosign("generate-key-pair", "--output-key-prefix", "other")
	names()
	for _, r := range []string{s.Signed, s.Unsigned, s.SignedOCI} {
		run(t, "crane", "copy", "--insecure", set.Go, r)
	}
	common := []string{"--key", "cosign.key", "--tlog-upload=false", "--allow-insecure-registry", "--yes"}
	cosign(append(append([]string{"sign"}, common...), s.Signed)...)
	sbomPath := filepath.Join(dir, "sbom.spdx.json")
	sbom(s.Signed, sbomPath)
	cosign(append(append([]string{"attest"}, common...), "--type", "spdxjson", "--predicate", sbomPath, s.Signed)...)
	cosign(append(append([]string{"sign"}, common...), "--registry-referrers-mode=oci-1-1", s.SignedOCI)...)
	write(t, filepath.Join(dir, "done"), "")
	return s
}
