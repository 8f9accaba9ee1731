package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// signed makes the signed/unsigned copies, attesting strata's own SPDX
// SBOM of the image.
func signed(t *testing.T) testenv.SignedImages {
	return testenv.Signed(t, func(ref, path string) {
		code, out, errs := runCLI(t, "packages", "--format", "spdx-json", ref)
		if code != 0 {
			t.Fatal(errs)
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReferrersSignedImage: the cosign signature and SPDX attestation of
// the signed copy are listed (legacy cosign tags) and verify with the key
// and not with another; the OCI 1.1 mode signature is found through the
// referrers tag schema; the unsigned copy has none.
func TestReferrersSignedImage(t *testing.T) {
	s := signed(t)
	code, out, errs := runCLI(t, "referrers", "--verify-key", s.PublicKey, s.Signed)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"cosign signature", "cosign attestation", "SPDX SBOM", "signed with a key (no certificate)", "no transparency-log bundle", "VERIFIED with the key", ".sig;", ".att;"} {
		if !strings.Contains(out, want) {
			t.Errorf("referrers output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NOT verified") {
		t.Errorf("a signature failed with the right key:\n%s", out)
	}
	code, out, errs = runCLI(t, "referrers", "--verify-key", s.OtherKey, s.Signed)
	if code != 1 || !strings.Contains(out, "NOT verified") || !strings.Contains(errs, "no signature verifies") {
		t.Errorf("other key: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "-o", "json", "referrers", "--verify-key", s.PublicKey, s.SignedOCI)
	var res struct {
		Items    []struct{ Kind, Via string }
		Verified int
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Items) != 1 || res.Items[0].Via != "referrers" || res.Verified != 1 {
		t.Errorf("OCI 1.1 mode signature: exit %d %+v\n%s", code, res, out)
	}
	code, out, _ = runCLI(t, "referrers", s.Unsigned)
	if code != 0 || !strings.Contains(out, "nothing refers to this image") {
		t.Errorf("unsigned: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "inspect", s.Signed)
	if code != 0 || !strings.Contains(out, `"kind": "cosign-signature"`) {
		t.Errorf("inspect lacks the referrers section: exit %d", code)
	}
}

// TestDiffSignedUnsigned: the two copies have one manifest; only the
// signatures differ, and that is the verdict (exit 1).
func TestDiffSignedUnsigned(t *testing.T) {
	s := signed(t)
	code, out, errs := runCLI(t, "diff", s.Signed, s.Unsigned)
	if code != 1 || !strings.Contains(out, "verdict: same content, different signatures / attestations") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "- cosign-signature sha256:") || !strings.Contains(out, "- cosign-attestation sha256:") {
		t.Errorf("the differing signatures are not listed:\n%s", out)
	}
	code, out, _ = runCLI(t, "diff", "--no-signatures", s.Signed, s.Unsigned)
	if code != 0 || !strings.Contains(out, "verdict: identical") {
		t.Errorf("--no-signatures: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "diff", s.Unsigned, s.Unsigned)
	if code != 0 || !strings.Contains(out, "verdict: identical") {
		t.Errorf("unsigned vs itself: exit %d\n%s", code, out)
	}
}

// TestDiffPackagesAlpine: Alpine 3.10 → 3.11 upgrades packages; the diff
// names them with the step on each side, and its JSON counts agree.
func TestDiffPackagesAlpine(t *testing.T) {
	dir := filepath.Join(testenv.Fixtures(t), "images", "fanal")
	a, b := filepath.Join(dir, "alpine-310.tar.gz"), filepath.Join(dir, "alpine-311.tar.gz")
	code, out, errs := runCLI(t, "diff", "--packages", a, b)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"~ apk musl:x86_64 1.1.22-r3 → 1.1.24-r2  upgraded (A step 1, B step 1)", "~ apk busybox:x86_64 1.30.1-r3 → 1.31.1-r9  upgraded"} {
		if !strings.Contains(out, want) {
			t.Errorf("package diff lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "-o", "json", "diff", "--packages", a, b)
	var res struct {
		Packages struct {
			Changes []struct{ Kind string }
			Counts  map[string]map[string]int
			Same    int
		}
	}
	if code != 1 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("json: exit %d", code)
	}
	if n := res.Packages.Counts["apk"]["upgraded"]; n == 0 || n != len(res.Packages.Changes)-res.Packages.Counts["apk"]["added"]-res.Packages.Counts["apk"]["removed"]-res.Packages.Counts["apk"]["downgraded"] {
		t.Errorf("counts %v disagree with %d changes", res.Packages.Counts, len(res.Packages.Changes))
	}
}

// TestReferrersCosignSave: a layout `cosign save` wrote opens as the image
// it saved (its signatures and attestations beside it are no images to
// choose from), and lists them as the registry does — the same manifests,
// verified with the key — found through the layout.
func TestReferrersCosignSave(t *testing.T) {
	s := signed(t)
	dir := filepath.Join(t.TempDir(), "saved")
	if out, err := exec.Command("cosign", "save", "--dir", dir, s.Signed).CombinedOutput(); err != nil {
		t.Fatalf("cosign save: %v\n%s", err, out)
	}
	code, fromLayout, errs := runCLI(t, "inspect", dir)
	_, fromRegistry, _ := runCLI(t, "inspect", s.Signed)
	if code != 0 {
		t.Fatalf("inspect of the saved layout: exit %d: %s", code, errs)
	}
	if manifestOf(t, fromLayout) != manifestOf(t, fromRegistry) {
		t.Errorf("the layout opens as %s, the registry image is %s", manifestOf(t, fromLayout), manifestOf(t, fromRegistry))
	}
	type listing struct {
		Items []struct {
			Kind, Digest, Via, Tag string
			Signatures             []struct{ Verified *bool }
		}
		Verified int
	}
	read := func(ref string) listing {
		code, out, errs := runCLI(t, "-o", "json", "referrers", "--verify-key", s.PublicKey, ref)
		var l listing
		if code != 0 || json.Unmarshal([]byte(out), &l) != nil {
			t.Fatalf("referrers %s: exit %d: %s", ref, code, errs)
		}
		return l
	}
	saved, reg := read(dir), read(s.Signed)
	if len(saved.Items) != len(reg.Items) || len(reg.Items) < 2 || saved.Verified != reg.Verified || saved.Verified < 2 {
		t.Fatalf("saved layout lists %+v; the registry %+v", saved, reg)
	}
	for i, it := range saved.Items {
		r := reg.Items[i]
		if it.Kind != r.Kind || it.Digest != r.Digest || it.Tag != r.Tag || it.Via != "cosign-save" {
			t.Errorf("item %d: saved %+v, registry %+v", i, it, r)
		}
	}
}

// manifestOf is the manifest digest an `inspect` report names.
func manifestOf(t *testing.T, report string) string {
	t.Helper()
	var r struct {
		ManifestDigest string `json:"manifestDigest"`
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil || r.ManifestDigest == "" {
		t.Fatalf("no manifest digest in the inspect report (%v)", err)
	}
	return r.ManifestDigest
}
