package layerindex

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/strata-tool/strata/layers"
)

// Pattern selects paths of an image's file system with a glob: `*`, `?`,
// `[…]` and `{a,b}` within one path element, `**` across any number. A
// leading "/" is ignored (image paths are relative to the root). A path
// matches when it or one of its parent directories does, so "etc" selects
// etc and everything below it, "**/*.so" every shared object and
// "**/.cache/**" every cache's contents.
type Pattern struct {
	glob string
}

// ParsePattern checks a glob's syntax.
func ParsePattern(s string) (Pattern, error) {
	g := strings.TrimPrefix(strings.TrimSpace(s), "/")
	if g == "" {
		g = "**"
	}
	if !doublestar.ValidatePattern(g) {
		return Pattern{}, fmt.Errorf("bad path pattern %q", s)
	}
	return Pattern{glob: g}, nil
}

// Match reports whether path p (relative, cleaned) or one of its parents
// matches.
func (pt Pattern) Match(p string) bool {
	for q := p; ; q = layers.Parent(q) {
		if doublestar.MatchUnvalidated(pt.glob, q) {
			return true
		}
		if q == "" {
			return false
		}
	}
}

// String is the glob as given (less a leading "/").
func (pt Pattern) String() string { return pt.glob }
