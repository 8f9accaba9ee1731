//go:build strata_explore_panic

package explore

// Built only for the terminal-restoration test: Ctrl+P panics in Update.
func init() { panicKey = "ctrl+p" }
