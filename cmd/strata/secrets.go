package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/secrets"
)

type secretsFlags struct {
	reveal, noFiles    bool
	report, ignoreFile string
	maxSize            string
}

const secretsLong = `secrets scans every surface of an image for credentials in one pass: the
config's Env and Labels, every history step's created_by (RUN text, build-arg
prefixes |N k=v, ARG lines), manifest, index and layer annotations, the build
args a provenance attestation records, and the files of every layer —
including files a later layer deleted or overwrote, which are still in the
image (the finding names the step that added the file and the step that
removed it).

Files are chosen from the layer index by name, path and size (configuration,
keys, scripts, dotfiles; at most --max-file-size; binaries, documentation and
system data skipped), and scanned while their layer is indexed; with the
index cached, a second scan reads the candidate files only.

Values are redacted (prefix and length) unless --reveal. Each finding has a
fingerprint; an --ignore-file lists accepted ones (one fingerprint a line, #
comments). --report sarif=FILE also writes a SARIF 2.1.0 log.

Exit status: 0 nothing found, 1 secrets found, 2 error.`

func newSecretsCmd(a *app) *cobra.Command {
	var fl secretsFlags
	cmd := &cobra.Command{
		Use:   "secrets IMAGE",
		Short: "Find credentials an image leaks: env, labels, history, annotations, provenance, files of every layer",
		Long:  secretsLong,
		Example: `  strata secrets ghcr.io/o/app:v2
  strata secrets -o json ./img.tar
  strata secrets --report sarif=secrets.sarif --ignore-file .strata-secrets-ignore ./img.tar`,
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{errorExitAnnotation: "2"},
		RunE:        func(cmd *cobra.Command, args []string) error { return a.runSecrets(cmd, args[0], fl) },
	}
	f := cmd.Flags()
	f.BoolVar(&fl.reveal, "reveal", false, "show the secrets themselves, not a redacted prefix and length")
	f.StringVar(&fl.report, "report", "", "also write a report: sarif=FILE")
	f.StringVar(&fl.ignoreFile, "ignore-file", "", "skip findings whose fingerprints this file lists")
	f.StringVar(&fl.maxSize, "max-file-size", "1MiB", "skip files larger than this")
	f.BoolVar(&fl.noFiles, "no-files", false, "scan the metadata only (no layer is read)")
	a.addIndexFlags(cmd)
	return cmd
}

func (a *app) runSecrets(cmd *cobra.Command, ref string, fl secretsFlags) error {
	opts, sarif, err := secretsOptions(fl)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	src, err := a.open(ctx, ref)
	if err != nil {
		return err
	}
	defer src.Close()
	warn := func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "strata: "+oneLine(s)) }
	prov := readProvenance(ctx, src, warn)
	sc := secrets.New(opts)
	o := a.contentOptions(sc.Content)
	o.FingerprintOnly = true // findings name files by path, never by digest
	im := layerindex.New(src, o)
	rep, err := sc.Scan(ctx, im, prov)
	if err != nil {
		return err
	}
	if fl.reveal {
		rep.Reveal()
	}
	if sarif != "" {
		if err := writeSARIF(sarif, rep, src.Image().Reference); err != nil {
			return err
		}
	}
	out := secretsOutput{Reference: src.Image().Reference, Platform: src.Image().Platform.String(), Report: rep}
	if err := a.emit(cmd.OutOrStdout(), out, out.text); err != nil {
		return err
	}
	if len(rep.Findings) > 0 {
		return &exitCodeError{code: 1}
	}
	return nil
}

// secretsOptions reads the flags into scan options and the SARIF path.
func secretsOptions(fl secretsFlags) (secrets.Options, string, error) {
	var opts secrets.Options
	n, err := parseSize(fl.maxSize)
	if err != nil {
		return opts, "", fmt.Errorf("--max-file-size: %w", err)
	}
	opts.MaxFileSize, opts.NoFiles = n, fl.noFiles
	if fl.ignoreFile != "" {
		f, err := os.Open(fl.ignoreFile)
		if err != nil {
			return opts, "", err
		}
		defer f.Close()
		if opts.Ignore, err = secrets.ParseIgnore(f); err != nil {
			return opts, "", fmt.Errorf("%s: %w", fl.ignoreFile, err)
		}
	}
	var sarif string
	if fl.report != "" {
		kind, file, ok := strings.Cut(fl.report, "=")
		if !ok || kind != "sarif" || file == "" {
			return opts, "", fmt.Errorf("--report %q: want sarif=FILE", fl.report)
		}
		sarif = file
	}
	return opts, sarif, nil
}

func writeSARIF(path string, rep *secrets.Report, ref string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.SARIF(f, ref, version()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
