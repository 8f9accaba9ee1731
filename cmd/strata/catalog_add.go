package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog"
)

// addReport is `catalog add|import -o json`.
type addReport struct {
	Added  int      `json:"added"`
	Images []string `json:"images"`
}

func (r addReport) text(verb string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s %s\n", verb, count(r.Added, "image"))
		return err
	}
}

func newCatalogAddCmd(a *app) *cobra.Command {
	var allPlatforms bool
	var asName string
	cmd := &cobra.Command{
		Use:   "add IMAGE…",
		Short: "Add images (any reference strata opens, or a docker-library repo-info .md file)",
		Long: `Add images to the catalog. Each reference is opened like any strata image;
by default only the selected platform (--platform, else this host's) of a
multi-platform image is added; --all-platforms adds every platform of the
index (every platform section of a repo-info file).`,
		Example: `  strata catalog add debian:bookworm
  strata catalog add --all-platforms --name mybase:1 ./base.tar`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asName != "" && len(args) != 1 {
				return fmt.Errorf("--name applies to one image, got %d", len(args))
			}
			c, _, err := a.openCatalog(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer c.Close()
			var rep addReport
			for _, ref := range args {
				if err := a.addRef(cmd.Context(), c, ref, allPlatforms, asName, &rep); err != nil {
					return err
				}
			}
			return a.emit(cmd.OutOrStdout(), rep, rep.text("added"))
		},
	}
	cmd.Flags().BoolVar(&allPlatforms, "all-platforms", false, "add every platform of a multi-platform image")
	cmd.Flags().StringVar(&asName, "name", "", "catalogue the image as NAME[:TAG] (default: its registry name, archive tag, or reference)")
	return cmd
}

func newCatalogImportCmd(a *app) *cobra.Command {
	var allPlatforms bool
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Import a catalog export (JSON), or a list of references (one per line, # comments)",
		Example: `  strata catalog export | strata catalog import --catalog postgres://db/strata -
  strata catalog import bases.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, closeIn, err := a.openInput(args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			c, _, err := a.openCatalog(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer c.Close()
			br := bufio.NewReader(f)
			var rep addReport
			isExport, err := catalog.IsExport(br)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if isExport {
				n, err := catalog.Import(cmd.Context(), c, br, 0)
				rep.Added = n
				if err != nil {
					return fmt.Errorf("%s: %w (%s committed; importing again resumes)", args[0], err, count(n, "entry"))
				}
				return a.emit(cmd.OutOrStdout(), rep, rep.text("imported"))
			}
			sc := bufio.NewScanner(br)
			for line := 1; sc.Scan(); line++ {
				ref := strings.TrimSpace(sc.Text())
				if ref == "" || strings.HasPrefix(ref, "#") {
					continue
				}
				if err := a.addRef(cmd.Context(), c, ref, allPlatforms, "", &rep); err != nil {
					return fmt.Errorf("%s line %d: %w (%s added before it)", args[0], line, err, count(rep.Added, "image"))
				}
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("%s: %w (%s added)", args[0], err, count(rep.Added, "image"))
			}
			return a.emit(cmd.OutOrStdout(), rep, rep.text("added"))
		},
	}
	cmd.Flags().BoolVar(&allPlatforms, "all-platforms", false, "for a list of references: add every platform of a multi-platform image")
	return cmd
}

// openInput opens a file argument, "-" meaning standard input.
func (a *app) openInput(p string) (io.Reader, func(), error) {
	if p == "-" {
		return a.stdin, func() {}, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// addRef adds one reference (every platform with all) to c.
func (a *app) addRef(ctx context.Context, c catalog.Catalog, ref string, all bool, asName string, rep *addReport) error {
	srcs, err := a.openPlatforms(ctx, ref, all)
	if err != nil {
		return err
	}
	defer closeAll(srcs)
	var es []catalog.Entry
	for _, src := range srcs {
		img := src.Image()
		if len(img.Layers) == 0 {
			continue
		}
		n, tag, err := catalog.NameFor(img, ref, asName)
		if err != nil {
			return fmt.Errorf("--name: %w", err)
		}
		es = append(es, catalog.FromImage(img, n, tag))
	}
	if len(es) == 0 {
		return fmt.Errorf("%s: no layers to catalogue", ref)
	}
	if err := c.Add(ctx, es...); err != nil {
		return err
	}
	rep.Added += len(es)
	for _, e := range es {
		rep.Images = append(rep.Images, e.Ref()+" ("+e.Platform+")")
	}
	return nil
}
