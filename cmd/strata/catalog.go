package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/store"
)

func (a *app) addCatalogFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&a.catalog, "catalog", "", "base-image catalog: a SQLite file path, or postgres://… for a shared catalog (default: $XDG_DATA_HOME/strata/catalog.db)")
}

// openCatalog opens --catalog for reading, or with write for changing it.
// Reading never writes, and a catalog that does not exist yet reads as nil:
// the reading verbs say so instead of creating one.
func (a *app) openCatalog(ctx context.Context, write bool) (catalog.Catalog, string, error) {
	return store.Open(ctx, a.catalog, store.OpenOptions{ReadOnly: !write})
}

func newCatalogCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "catalog",
		Short: "Manage the catalog of known images that `strata base` matches layer chains against",
		Long: `The catalog records images by the chain IDs of their layers (over diff_ids and
over compressed blob digests), so that strata base can find which catalogued
image an image was built FROM, and which are identical to it.

The default catalog is a SQLite file under your data directory; --catalog
postgres://user@host/db shares one catalog between many strata servers.`,
		Example: `  strata catalog add debian:bookworm alpine:3.20
  strata catalog ls debian
  strata catalog export > catalog.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return fmt.Errorf("unknown catalog command %q: want add, import, ls, rm or export", args[0])
		},
	}
	a.addCatalogFlag(root)
	root.AddCommand(newCatalogAddCmd(a), newCatalogImportCmd(a), newCatalogLsCmd(a), newCatalogRmCmd(a), newCatalogExportCmd(a))
	return root
}
