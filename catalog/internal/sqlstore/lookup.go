package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-tool/strata/catalog"
)

func pathColumn(k catalog.Kind) string {
	if k == catalog.BlobChain {
		return "blob_path"
	}
	return "diff_path"
}

// ByTop implements catalog.Catalog: one statement for both kinds, so an
// entry matching by both chains (the usual case) is read and decoded once.
//
// No entry has more than catalog.MaxLayers layers, so positions past it are
// not probed: an image is input, and one of tens of thousands of layers
// would otherwise bind a parameter per layer per chain (more than SQLite's
// 32,766 or PostgreSQL's 65,535) holding every prefix of its path, a
// quadratic gigabyte.
func (s *Store) ByTop(ctx context.Context, diff, blob []string) ([]catalog.Entry, error) {
	var conds []string
	var args []any
	for _, c := range []struct {
		k   catalog.Kind
		ids []string
	}{{catalog.DiffChain, diff}, {catalog.BlobChain, blob}} {
		ids := c.ids[:min(len(c.ids), catalog.MaxLayers)]
		if len(ids) == 0 {
			continue
		}
		chain, err := pack(ids)
		if err != nil {
			return nil, err
		}
		full := path(chain)
		for i := range ids {
			args = append(args, full[:(i+1)*pathLen])
		}
		conds = append(conds, pathColumn(c.k)+" IN ("+placeholders(len(ids))+")")
	}
	if len(conds) == 0 {
		return nil, nil
	}
	st, err := s.prepared(ctx, s.bind("SELECT "+lookupColumns+" FROM images WHERE "+strings.Join(conds, " OR ")))
	if err != nil {
		return nil, fmt.Errorf("%s catalog: %w", s.d.Name, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%s catalog: %w", s.d.Name, err)
	}
	found, err := collect(rows)
	if err != nil {
		return nil, err
	}
	// Paths are truncated: keep what a full top chain ID confirms.
	out := found[:0]
	for _, e := range found {
		if topIn(e.ChainIDs, diff) || topIn(e.BlobChainIDs, blob) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Layers(), out[j].Layers(); a != b {
			return a > b
		}
		return catalog.Less(out[i], out[j])
	})
	return out, nil
}

// topIn reports whether chain is, whole, the first len(chain) of ids.
func topIn(chain, ids []string) bool {
	n := len(chain)
	return n > 0 && n <= len(ids) && chain[n-1] == ids[n-1]
}

// Shared implements catalog.Catalog.
//
// In path order, the paths sharing at least m leading levels with the
// probe p form one run around p's position, so walking outwards from p in
// both directions meets every candidate for a deeper shared prefix first.
// A truncated path can agree with p further than its chain really does
// (never less far), so a direction stops only at a path agreeing with p
// on no more levels than the best depth already confirmed on full chains.
func (s *Store) Shared(ctx context.Context, k catalog.Kind, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	chain, err := pack(ids)
	if err != nil {
		return 0, err
	}
	p := path(chain)
	col := pathColumn(k)
	chainCol := "diff_chain"
	if k == catalog.BlobChain {
		chainCol = "blob_chain"
	}
	best := 0
	for _, q := range []string{
		"SELECT " + col + ", " + chainCol + " FROM images WHERE " + col + " >= ? ORDER BY " + col + " LIMIT ?",
		"SELECT " + col + ", " + chainCol + " FROM images WHERE " + col + " < ? ORDER BY " + col + " DESC LIMIT ?",
	} {
		st, err := s.prepared(ctx, s.bind(q))
		if err != nil {
			return 0, fmt.Errorf("%s catalog: shared prefix: %w", s.d.Name, err)
		}
		// Nearly always the first neighbour settles a direction; a long
		// run of colliding paths re-reads with a larger window.
		for limit := 8; ; limit *= 8 {
			n, done, err := s.walk(ctx, st, p, chain, limit, best)
			if err != nil {
				return 0, fmt.Errorf("%s catalog: shared prefix: %w", s.d.Name, err)
			}
			best = max(best, n)
			if done {
				break
			}
		}
	}
	return best, nil
}

// walk reads up to limit paths in one direction from p and returns the
// deepest confirmed shared prefix, and whether the direction is settled
// (a path agreeing with p on no more than the best levels, or no more rows).
func (s *Store) walk(ctx context.Context, st *sql.Stmt, p, chain []byte, limit, best int) (int, bool, error) {
	rows, err := st.QueryContext(ctx, p, limit)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		seen++
		var gotPath, got []byte
		if err := rows.Scan(&gotPath, &got); err != nil {
			return 0, false, err
		}
		if commonLevels(gotPath, p, pathLen) <= best {
			return best, true, rows.Err()
		}
		best = max(best, commonLevels(got, chain, 32))
	}
	return best, seen < limit, rows.Err()
}

// commonLevels counts the leading w-byte units a and b share.
func commonLevels(a, b []byte, w int) int {
	n := 0
	for n*w+w <= len(a) && n*w+w <= len(b) && string(a[n*w:n*w+w]) == string(b[n*w:n*w+w]) {
		n++
	}
	return n
}
