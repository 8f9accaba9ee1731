package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/referrers"
	"github.com/strata-tool/strata/source"
)

func newReferrersCmd(a *app) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "referrers IMAGE",
		Short: "List what signs and attests an image: cosign, Notation, sigstore bundles, SBOMs, provenance",
		Long: `referrers lists what refers to an image in its registry — through the OCI 1.1
referrers API (or the referrers tag schema registries without it keep) and
cosign's sha256-<digest>.sig / .att / .sbom tags, for the image's manifest and
the index it was chosen from — and the attestation manifests BuildKit puts in
the index. Each is described: a cosign signature (signer identity or key,
whether a transparency-log bundle is attached), a Notation signature, a
sigstore bundle, in-toto attestations (SLSA provenance, SPDX or CycloneDX
SBOMs), attached SBOMs.

--verify-key FILE verifies cosign signatures and attestations made with that
public key (cosign.pub), offline: nothing but the registry is asked. The exit
status is then 1 unless at least one signature verifies.`,
		Example: `  strata referrers ghcr.io/o/app:v2
  strata referrers --verify-key cosign.pub 127.0.0.1:5000/app:v2
  strata referrers -o json ghcr.io/o/app@sha256:…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runReferrers(cmd, args[0], keyFile) },
	}
	cmd.Flags().StringVar(&keyFile, "verify-key", "", "verify cosign signatures and attestations with this PEM public key")
	return cmd
}

func (a *app) runReferrers(cmd *cobra.Command, ref, keyFile string) error {
	ctx := cmd.Context()
	src, err := a.open(ctx, ref)
	if err != nil {
		return err
	}
	defer src.Close()
	res, err := listReferrers(ctx, src, keyFile)
	if err != nil {
		return err
	}
	if err := a.emit(cmd.OutOrStdout(), res, func(w io.Writer) error { return renderReferrers(w, res) }); err != nil {
		return err
	}
	if keyFile != "" && res.Verified == 0 {
		return fmt.Errorf("no signature verifies with %s", keyFile)
	}
	return nil
}

func listReferrers(ctx context.Context, src source.Source, keyFile string) (*referrers.Result, error) {
	var opts referrers.Options
	if keyFile != "" {
		k, err := referrers.LoadKey(keyFile)
		if err != nil {
			return nil, fmt.Errorf("--verify-key: %w", err)
		}
		opts.Key = k
	}
	return referrers.List(ctx, src, opts)
}

func renderReferrers(w io.Writer, res *referrers.Result) error {
	if len(res.Items) == 0 {
		fmt.Fprintln(w, "nothing refers to this image")
	}
	for _, it := range res.Items {
		where := it.Via
		if it.Tag != "" {
			where += " " + it.Tag
		}
		fmt.Fprintf(w, "%s  %s  (%s; refers to %s)\n", kindName(it.Kind), it.Digest, where, short(it.Subject))
		if len(it.Describes) > 0 {
			fmt.Fprintf(w, "    %s\n", safetext.Line(strings.Join(it.Describes, ", ")))
		}
		for _, s := range it.Signatures {
			fmt.Fprintf(w, "    %s\n", safetext.Line(signatureLine(s)))
		}
		for _, n := range it.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return nil
}

func kindName(k referrers.Kind) string {
	return map[referrers.Kind]string{
		referrers.CosignSignature: "cosign signature", referrers.CosignAttestation: "cosign attestation",
		referrers.SigstoreBundle: "sigstore bundle", referrers.NotationSignature: "Notation signature",
		referrers.SBOM: "SBOM", referrers.BuildKitAttestation: "BuildKit attestation", referrers.Artifact: "artifact",
	}[k]
}

func signatureLine(s referrers.Signature) string {
	var parts []string
	switch {
	case s.Identity != "":
		p := "signed by " + s.Identity
		if s.Issuer != "" {
			p += " (issuer " + s.Issuer + ")"
		}
		parts = append(parts, p)
	case s.KeyID != "":
		parts = append(parts, "signed with key "+s.KeyID)
	default:
		parts = append(parts, "signed with a key (no certificate)")
	}
	if s.Bundle {
		parts = append(parts, "transparency-log bundle attached")
	} else {
		parts = append(parts, "no transparency-log bundle")
	}
	if s.Verified != nil {
		if *s.Verified {
			parts = append(parts, "VERIFIED with the key")
		} else {
			parts = append(parts, "NOT verified: "+s.Error)
		}
	}
	return strings.Join(parts, "; ")
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
