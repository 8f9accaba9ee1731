package referrers_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/notation-go"
	nreg "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/referrers"
	"github.com/strata-tool/strata/source"
)

// TestNotationSignature signs a copy of a test image with notation-go
// (the library the notation CLI is built on; the CLI itself is not served
// by the module proxy here), as an OCI 1.1 referrer, with a fresh
// self-signed code-signing certificate as `notation cert generate-test`
// makes; strata lists it as a Notation signature naming the certificate.
func TestNotationSignature(t *testing.T) {
	set := testenv.PackageImages(t)
	reg := testenv.Service(t, "STRATA_TEST_REGISTRY")
	repoName := fmt.Sprintf("strata-test/notation-%d", time.Now().UnixNano())
	ref := reg + "/" + repoName + ":v1"
	testenv.Run(t, "crane", "copy", "--insecure", set.Go, ref)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "strata notation test", Organization: []string{"strata"}, Country: []string{"US"}, Province: []string{"WA"}, Locality: []string{"Seattle"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	s, err := signer.NewGenericSigner(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := remote.NewRepository(reg + "/" + repoName)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	ctx := context.Background()
	if _, err := notation.Sign(ctx, s, nreg.NewRepository(repo), notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: "application/jose+json"},
		ArtifactReference: ref,
	}); err != nil {
		t.Fatal(err)
	}

	src, err := source.Open(ctx, ref, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := referrers.List(ctx, src, referrers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Kind != referrers.NotationSignature || len(res.Items[0].Signatures) != 1 ||
		!strings.Contains(res.Items[0].Signatures[0].Identity, "CN=strata notation test") {
		t.Fatalf("want one Notation signature by the test certificate, got %+v", res.Items)
	}
}
