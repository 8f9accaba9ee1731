package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/postgres"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/repoinfo"
	"github.com/strata-tool/strata/source"
)

// catalogSpec is --catalog, shared by the catalog verbs and base.
var catalogSpec string

func addCatalogFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&catalogSpec, "catalog", "", "base-image catalog: a SQLite file path, or postgres://… for a shared catalog (default: $XDG_DATA_HOME/strata/catalog.db)")
}

func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// openCatalog opens --catalog. With mustExist, a missing default file is
// not created: it returns nil (reading verbs then say the catalog is empty).
func openCatalog(ctx context.Context, mustExist bool) (catalog.Catalog, string, error) {
	spec := catalogSpec
	if isPostgres(spec) {
		c, err := postgres.Open(ctx, spec)
		return c, "postgres catalog", err
	}
	if spec == "" {
		p, err := sqlite.DefaultPath()
		if err != nil {
			return nil, "", err
		}
		spec = p
	}
	if mustExist {
		if _, err := os.Stat(spec); errors.Is(err, os.ErrNotExist) {
			return nil, spec, nil
		}
	}
	c, err := sqlite.Open(ctx, spec)
	return c, spec, err
}

func init() {
	var allPlatforms bool
	var asName string
	root := &cobra.Command{
		Use:   "catalog",
		Short: "Manage the catalog of known images that `strata base` matches layer chains against",
		Long: `The catalog records images by the chain IDs of their layers (over diff_ids and
over compressed blob digests), so that strata base can find which catalogued
image an image was built FROM, and which are identical to it.

The default catalog is a SQLite file under your data directory; --catalog
postgres://user@host/db shares one catalog between many strata servers.`,
	}
	addCatalogFlag(root)

	add := &cobra.Command{
		Use:   "add IMAGE…",
		Short: "Add images (any reference strata opens, or a docker-library repo-info .md file)",
		Long: `Add images to the catalog. Each reference is opened like any strata image;
by default only the selected platform (--platform, else this host's) of a
multi-platform image is added; --all-platforms adds every platform of the
index. A docker-library/repo-info remote/<tag>.md file adds every platform
section it holds.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := openCatalog(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer c.Close()
			if asName != "" && len(args) != 1 {
				return fmt.Errorf("--name applies to one image, got %d", len(args))
			}
			n := 0
			for _, ref := range args {
				k, err := addRef(cmd.Context(), c, ref, allPlatforms, asName)
				if err != nil {
					return err
				}
				n += k
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %d image%s\n", n, catPlural(n))
			return nil
		},
	}
	add.Flags().BoolVar(&allPlatforms, "all-platforms", false, "add every platform of a multi-platform image")
	add.Flags().StringVar(&asName, "name", "", "catalogue the image as NAME[:TAG] (default: its registry name, archive tag, or reference)")

	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a catalog export (JSON), or a list of references (one per line, # comments)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readFileOrStdin(args[0])
			if err != nil {
				return err
			}
			c, _, err := openCatalog(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer c.Close()
			if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
				n, err := catalog.Import(cmd.Context(), c, bytes.NewReader(b), 0)
				if err != nil {
					return fmt.Errorf("%s: %w (%d entries were committed; importing again resumes)", args[0], err, n)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d image%s\n", n, catPlural(n))
				return nil
			}
			n := 0
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				ref := strings.TrimSpace(sc.Text())
				if ref == "" || strings.HasPrefix(ref, "#") {
					continue
				}
				k, err := addRef(cmd.Context(), c, ref, allPlatforms, "")
				if err != nil {
					return err
				}
				n += k
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %d image%s\n", n, catPlural(n))
			return sc.Err()
		},
	}
	imp.Flags().BoolVar(&allPlatforms, "all-platforms", false, "for a list of references: add every platform of a multi-platform image")

	ls := &cobra.Command{
		Use:   "ls [NAME[:TAG]|DIGEST]",
		Short: "List catalogued images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := wantJSON()
			if err != nil {
				return err
			}
			c, where, err := openCatalog(cmd.Context(), true)
			if err != nil {
				return err
			}
			var es []catalog.Entry
			if c != nil {
				defer c.Close()
				var f catalog.Filter
				if len(args) == 1 {
					f = catalog.ParseFilter(args[0])
				}
				if es, err = c.List(cmd.Context(), f); err != nil {
					return err
				}
			}
			if asJSON {
				if es == nil {
					es = []catalog.Entry{}
				}
				return writeJSON(cmd.OutOrStdout(), es)
			}
			if c == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "strata: no catalog at %s yet (strata catalog add IMAGE… creates it)\n", where)
				return nil
			}
			return printEntries(cmd.OutOrStdout(), es)
		},
	}

	rm := &cobra.Command{
		Use:   "rm NAME[:TAG]|DIGEST…",
		Short: "Remove catalogued images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := openCatalog(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer c.Close()
			total := 0
			for _, a := range args {
				n, err := c.Remove(cmd.Context(), catalog.ParseFilter(a))
				if err != nil {
					return fmt.Errorf("rm %s: %w", a, err)
				}
				if n == 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "strata: %s: nothing catalogued by that name\n", a)
				}
				total += n
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d image%s\n", total, catPlural(total))
			return nil
		},
	}

	export := &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write the whole catalog as JSON (to FILE, or stdout), for catalog import",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := openCatalog(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer c.Close()
			var w io.Writer = cmd.OutOrStdout()
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Create(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return catalog.Export(cmd.Context(), c, w)
		},
	}
	root.AddCommand(add, imp, ls, rm, export)
	rootCmd.AddCommand(root)
}

func catPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func readFileOrStdin(p string) ([]byte, error) {
	if p == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(p)
}

// addRef adds one reference (every platform with all) and returns how
// many entries it added.
func addRef(ctx context.Context, c catalog.Catalog, ref string, all bool, asName string) (int, error) {
	if strings.HasSuffix(ref, ".md") {
		if f, err := repoinfo.ParseFile(ref); err == nil {
			var es []catalog.Entry
			for _, img := range f.Images() {
				es = append(es, catalog.FromImage(img, f.Repo, f.Tag))
			}
			return len(es), c.Add(ctx, es...)
		}
	}
	src, err := openImage(ctx, ref)
	if err != nil {
		return 0, err
	}
	img := src.Image()
	src.Close()
	imgs := []*image.Image{img}
	if all && img.Index != nil {
		imgs = nil
		opts, err := sourceOptions()
		if err != nil {
			return 0, err
		}
		for _, p := range img.Index.Platforms() {
			if p.OS == "unknown" {
				continue
			}
			p := p
			opts.Platform = &p
			s, err := source.Open(ctx, ref, opts)
			if err != nil {
				return 0, fmt.Errorf("%s (%s): %w", ref, p, err)
			}
			imgs = append(imgs, s.Image())
			s.Close()
		}
	}
	var es []catalog.Entry
	for _, img := range imgs {
		if len(img.Layers) == 0 {
			continue
		}
		n, tag := catalogName(ref, img)
		if asName != "" {
			n, tag = splitTag(asName)
		}
		es = append(es, catalog.FromImage(img, n, tag))
	}
	if len(es) == 0 {
		return 0, fmt.Errorf("%s: no layers to catalogue", ref)
	}
	return len(es), c.Add(ctx, es...)
}

// catalogName picks the name:tag an image is catalogued under: the
// registry repository (Docker Hub names shortened as docker prints them),
// else the name an archive or daemon knows it by, else the reference.
func catalogName(ref string, img *image.Image) (string, string) {
	if img.Transport == "registry" {
		r := strings.TrimPrefix(ref, "docker://")
		if pr, err := name.ParseReference(r, name.WeakValidation); err == nil {
			repo := shortRepo(pr.Context().Name())
			if t, ok := pr.(name.Tag); ok {
				return repo, t.TagStr()
			}
			return repo, ""
		}
	}
	if len(img.RepoTags) > 0 {
		return splitTag(shortRepo(img.RepoTags[0]))
	}
	r := strings.TrimPrefix(ref, "docker-daemon:")
	if i := strings.Index(r, "@"); i >= 0 {
		return r[:i], ""
	}
	return splitTag(shortRepo(r))
}

func shortRepo(s string) string {
	for _, p := range []string{"index.docker.io/", "docker.io/"} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.TrimPrefix(s, "library/")
}

func splitTag(s string) (string, string) {
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func printEntries(w io.Writer, es []catalog.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tPLATFORM\tLAYERS\tCHAINS\tDIGEST\tADDED")
	for _, e := range es {
		var chains []string
		if len(e.ChainIDs) > 0 {
			chains = append(chains, "diff_id")
		}
		if len(e.BlobChainIDs) > 0 {
			chains = append(chains, "blob")
		}
		d := e.ManifestDigest
		if d == "" {
			d = e.ConfigDigest
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", e.Ref(), e.Platform, e.Layers(), strings.Join(chains, "+"), catShort(d), e.Added.Format("2006-01-02"))
	}
	return tw.Flush()
}

func catShort(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
