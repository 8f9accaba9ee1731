package catalog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// FormatVersion is the version of the JSON export format.
const FormatVersion = 1

// Export writes every entry as {"strataCatalog":1,"entries":[…]}, one
// entry per line, streaming so a catalog of millions fits in constant memory.
func Export(ctx context.Context, c Catalog, w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\"strataCatalog\":%d,\"entries\":[", FormatVersion)
	first := true
	err := c.Each(ctx, func(e Entry) error {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("export %s: %w", e.Ref(), err)
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString("\n")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// DefaultBatch is how many entries Import commits per transaction. The
// stores' lookup indexes are keyed by content hashes, so a batch dirties
// pages all over them; at a million entries 20,000 per batch writes each
// such page once per 20,000 entries instead of once per 5,000 (about
// 100 MB of entries held in memory at a time).
const DefaultBatch = 20000

// Import reads an export and adds its entries in transactions of batch
// entries (DefaultBatch when batch ≤ 0). Each batch is atomic, so a crash
// leaves whole batches, never a half-written entry; re-running the same
// import is idempotent (entries replace themselves), which is how an
// interrupted import is resumed. Into an empty catalog the store builds
// its lookup indexes once at the end (see Bulk); an import killed before
// that gets them back when the catalog is next opened. It returns the
// number of entries added.
func Import(ctx context.Context, c Catalog, r io.Reader, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	total := 0
	sawVersion := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return total, fmt.Errorf("import: %w", err)
		}
		switch tok {
		case "strataCatalog":
			var v int
			if err := dec.Decode(&v); err != nil {
				return total, fmt.Errorf("import: version: %w", err)
			}
			if v != FormatVersion {
				return total, fmt.Errorf("import: export format version %d, this strata reads %d", v, FormatVersion)
			}
			sawVersion = true
		case "entries":
			if !sawVersion {
				return total, errors.New("import: \"strataCatalog\" version must come before \"entries\": not a strata catalog export")
			}
			finish, err := Bulk(ctx, c)
			if err != nil {
				return total, fmt.Errorf("import: %w", err)
			}
			n, err := importEntries(ctx, c, dec, batch)
			total += n
			if ferr := finish(); err == nil && ferr != nil {
				err = fmt.Errorf("import: %w", ferr)
			}
			if err != nil {
				return total, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return total, fmt.Errorf("import: %w", err)
			}
		}
	}
	if !sawVersion {
		return total, errors.New("import: no \"strataCatalog\" version: not a strata catalog export")
	}
	return total, nil
}

func importEntries(ctx context.Context, c Catalog, dec *json.Decoder, batch int) (int, error) {
	if err := expectDelim(dec, '['); err != nil {
		return 0, err
	}
	total := 0
	buf := make([]Entry, 0, batch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := c.Add(ctx, buf...); err != nil {
			return fmt.Errorf("import: entries %d–%d: %w", total+1, total+len(buf), err)
		}
		total += len(buf)
		buf = buf[:0]
		return nil
	}
	for dec.More() {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return total, fmt.Errorf("import: entry %d: %w", total+len(buf)+1, err)
		}
		if err := e.Validate(); err != nil {
			return total, fmt.Errorf("import: entry %d: %w", total+len(buf)+1, err)
		}
		buf = append(buf, e)
		if len(buf) == batch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	if _, err := dec.Token(); err != nil {
		return total, fmt.Errorf("import: %w", err)
	}
	return total, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("import: want %q, got %v: not a strata catalog export", want, tok)
	}
	return nil
}
