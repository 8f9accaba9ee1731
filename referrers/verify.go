package referrers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// LoadKey reads a PEM public key (cosign.pub: ECDSA P-256, RSA or
// Ed25519, "PUBLIC KEY").
func LoadKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// verifyBlob checks a base64 signature over msg as cosign makes them:
// ECDSA (ASN.1) and RSA (PKCS #1 v1.5) over the SHA-256 of msg, Ed25519
// over msg itself.
func verifyBlob(key crypto.PublicKey, msg []byte, sigB64 string) error {
	if sigB64 == "" {
		return errNoSignature
	}
	sig, err := b64(sigB64)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	h := sha256.Sum256(msg)
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, h[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(k, msg, sig) {
			return nil
		}
	default:
		return fmt.Errorf("unsupported key type %T", key)
	}
	return errors.New("signature does not verify with the key")
}

// readDSSE reads a DSSE envelope around an in-toto statement and, with a
// key, verifies its signatures over the pre-authentication encoding and
// that the statement names the subject.
func readDSSE(b []byte, subject string, opts Options) ([]Signature, statement, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	var st statement
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, st, err
	}
	body, err := b64(env.Payload)
	if err != nil {
		return nil, st, fmt.Errorf("payload: %w", err)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, st, fmt.Errorf("statement: %w", err)
	}
	pae := []byte("DSSEv1 " + strconv.Itoa(len(env.PayloadType)) + " " + env.PayloadType + " " + strconv.Itoa(len(body)) + " " + string(body))
	var sigs []Signature
	for _, s := range env.Signatures {
		sig := Signature{KeyID: s.KeyID, SignedDigest: subject}
		if !st.names(subject) {
			sig.SignedDigest = ""
		}
		if opts.Key != nil {
			err := verifyBlob(opts.Key, pae, s.Sig)
			if err == nil && sig.SignedDigest == "" {
				err = fmt.Errorf("the statement's subjects do not include %s", subject)
			}
			sig.setVerified(err)
		}
		sigs = append(sigs, sig)
	}
	return sigs, st, nil
}
