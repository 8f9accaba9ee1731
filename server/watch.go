package server

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/reference"
)

// ParseWatch reads a watch-list entry: REPO (every tag) or REPO:TAG.
func ParseWatch(s string) (catalog.Watch, error) {
	n, err := reference.ParseName(strings.TrimSpace(s))
	if err != nil {
		return catalog.Watch{}, fmt.Errorf("watch %q: %w", s, err)
	}
	if n.Digest() != "" {
		return catalog.Watch{}, fmt.Errorf("watch %q: a digest never changes; watch a repository or a tag", s)
	}
	return catalog.Watch{Repo: n.Repository(), Tag: n.ExplicitTag()}, nil
}

// ReadWatchList reads one entry per line; blank lines and # comments are
// skipped.
func ReadWatchList(r io.Reader) ([]catalog.Watch, error) {
	var out []catalog.Watch
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if i := strings.Index(t, "#"); i >= 0 {
			t = strings.TrimSpace(t[:i])
		}
		if t == "" {
			continue
		}
		w, err := ParseWatch(t)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, w)
	}
	return out, sc.Err()
}
