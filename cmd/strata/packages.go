package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/packages"
	"github.com/strata-tool/strata/packages/sbom"
)

type packagesFlags struct {
	format    string
	ecosystem string
	history   bool
	noGo      bool
}

func newPackagesCmd(a *app) *cobra.Command {
	var fl packagesFlags
	cmd := &cobra.Command{
		Use:   "packages IMAGE",
		Short: "List the packages an image installs, with the step that installed, upgraded or removed each",
		Long: `packages reads the databases package managers keep — dpkg (status, distroless
status.d), apk, rpm (BerkeleyDB, NDB, SQLite), Python dist-info/egg-info, npm
node_modules/**/package.json — and the build information of Go binaries, and
lists each package with its version, architecture, licence where recorded and
its blame: the history step (as strata layers numbers them) that installed or
last upgraded it. The databases are compared as each layer leaves them, so
packages that a later step removed are listed too.

Only database files are read, through the layer index (see strata files):
each layer is indexed once and kept, and only the database files' bytes are
fetched, by range where the layer allows.

--format spdx-json or cyclonedx-json writes an SPDX 2.3 or CycloneDX 1.6 SBOM
instead; -o json the full result.`,
		Example: `  strata packages nginx:1.25
  strata packages --ecosystem deb --history ./app.tar
  strata packages --format spdx-json ghcr.io/o/app:v2 > sbom.spdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runPackages(cmd, args[0], fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", "", "write an SBOM instead: spdx-json (SPDX 2.3) or cyclonedx-json (CycloneDX 1.6)")
	f.StringVar(&fl.ecosystem, "ecosystem", "", "only this ecosystem: deb, apk, rpm, pypi, npm, golang")
	f.BoolVar(&fl.history, "history", false, "show every change of each package, step by step")
	f.BoolVar(&fl.noGo, "no-go", false, "do not look into executables for Go build information")
	a.addIndexFlags(cmd)
	return cmd
}

// packagesOut is `packages -o json` (README).
type packagesOut struct {
	Reference string `json:"reference"`
	Platform  string `json:"platform,omitempty"`
	*packages.Result
}

func (a *app) runPackages(cmd *cobra.Command, ref string, fl packagesFlags) error {
	if fl.format != "" && fl.format != "spdx-json" && fl.format != "cyclonedx-json" {
		return fmt.Errorf("--format %q: want spdx-json or cyclonedx-json", fl.format)
	}
	ctx := cmd.Context()
	src, err := a.open(ctx, ref)
	if err != nil {
		return err
	}
	defer src.Close()
	capture := packages.NewCapture(fl.noGo)
	im := layerindex.New(src, a.contentOptions(capture.Hook))
	res, err := packages.Scan(ctx, im, packages.Options{NoGo: fl.noGo, Cache: a.packagesCache(), Capture: capture})
	if err != nil {
		return err
	}
	res.Packages = filterEcosystem(res.Packages, fl.ecosystem)
	res.Removed = filterEcosystem(res.Removed, fl.ecosystem)
	w := cmd.OutOrStdout()
	if fl.format != "" {
		subj := sbom.Subject{Name: ref, Digest: im.Image.ManifestDigest, Platform: im.Image.Platform.String()}
		if subj.Digest == "" {
			subj.Digest = im.Image.ID
		}
		if fl.format == "spdx-json" {
			return sbom.WriteSPDX(w, subj, res.Packages, sbom.Options{ToolVersion: version()})
		}
		return sbom.WriteCycloneDX(w, subj, res.Packages, sbom.Options{ToolVersion: version()})
	}
	out := packagesOut{Reference: ref, Platform: im.Image.Platform.String(), Result: res}
	return a.emit(w, out, func(w io.Writer) error { return renderPackages(w, res, fl.history, stepLines(im)) })
}

// packagesCache keeps what each database file yielded, beside the layer
// index cache ($XDG_CACHE_HOME/strata/packages); nil with --no-cache.
func (a *app) packagesCache() packages.Cache {
	if a.noCache {
		return nil
	}
	dir, err := layerindex.DefaultDir()
	if err != nil {
		return nil
	}
	return packages.NewDirCache(filepath.Join(filepath.Dir(dir), "packages"), 0)
}

func filterEcosystem(ps []packages.Package, eco string) []packages.Package {
	if eco == "" {
		return ps
	}
	out := []packages.Package{}
	for _, p := range ps {
		if string(p.Ecosystem) == eco {
			out = append(out, p)
		}
	}
	return out
}
