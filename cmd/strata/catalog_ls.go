package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/internal/safetext"
)

func newCatalogLsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "ls [NAME[:TAG]|DIGEST]",
		Short: "List catalogued images",
		Example: `  strata catalog ls
  strata catalog ls debian:bookworm
  strata catalog ls -o json sha256:98d3b4b0cee2`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, where, err := a.openCatalog(cmd.Context(), false)
			if err != nil {
				return err
			}
			es := []catalog.Entry{}
			if c != nil {
				defer c.Close()
				arg := ""
				if len(args) == 1 {
					arg = args[0]
				}
				if es, err = catalog.Select(cmd.Context(), c, arg); err != nil {
					return err
				}
			} else if a.format == formatText {
				fmt.Fprintf(cmd.ErrOrStderr(), "strata: no catalog at %s yet (strata catalog add IMAGE… creates it)\n", where)
			}
			return a.emit(cmd.OutOrStdout(), es, func(w io.Writer) error { return printEntries(w, es) })
		},
	}
}

// rmReport is `catalog rm -o json`.
type rmReport struct {
	Removed int      `json:"removed"`
	Missing []string `json:"missing,omitempty"`
}

func newCatalogRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME[:TAG]|DIGEST…",
		Short: "Remove catalogued images (exit 1 when an argument names nothing catalogued)",
		Example: `  strata catalog rm debian:bullseye
  strata catalog rm sha256:98d3b4b0cee2`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.openCatalog(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer c.Close()
			var rep rmReport
			for _, arg := range args {
				n, err := catalog.RemoveRef(cmd.Context(), c, arg)
				switch {
				case errors.Is(err, catalog.ErrNoMatch):
					rep.Missing = append(rep.Missing, arg)
				case err != nil:
					return fmt.Errorf("rm %s: %w (%s removed before it)", arg, err, count(rep.Removed, "image"))
				}
				rep.Removed += n
			}
			if err := a.emit(cmd.OutOrStdout(), rep, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "removed %s\n", count(rep.Removed, "image"))
				return err
			}); err != nil {
				return err
			}
			if len(rep.Missing) > 0 {
				return fmt.Errorf("nothing catalogued as %s", strings.Join(rep.Missing, ", "))
			}
			return nil
		},
	}
}

func newCatalogExportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write the whole catalog as JSON (to FILE, or stdout), for catalog import",
		Long:  "Write the whole catalog as JSON, for catalog import. The export is JSON whatever -o says.",
		Example: `  strata catalog export bases.json
  strata catalog export | strata catalog import --catalog postgres://db/strata -`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, where, err := a.openCatalog(cmd.Context(), false)
			if err != nil {
				return err
			}
			if c == nil {
				return fmt.Errorf("no catalog at %s", where)
			}
			defer c.Close()
			var w io.Writer = cmd.OutOrStdout()
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Create(args[0])
				if err != nil {
					return err
				}
				if err := catalog.Export(cmd.Context(), c, f); err != nil {
					f.Close()
					return err
				}
				return f.Close()
			}
			// JSON: controls escaped as JSON \u escapes, not \x ones.
			return catalog.Export(cmd.Context(), c, safetext.JSONWriter(w))
		},
	}
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
		// Cells are image text: escaped onto one line, so no tab or
		// newline in a name can move a column or forge a row.
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", safetext.Line(e.Ref()), safetext.Line(e.Platform), e.Layers(), strings.Join(chains, "+"), safetext.Line(e.DigestColumn()), e.Added.Format("2006-01-02"))
	}
	return tw.Flush()
}
