package main

import (
	"github.com/spf13/cobra"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Print the whole image model (manifest, config, layers, history) as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := wantJSON(); err != nil {
				return err
			}
			src, err := openImage(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			return writeJSON(cmd.OutOrStdout(), src.Image())
		},
	})
}
