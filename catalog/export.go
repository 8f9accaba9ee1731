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

// DefaultBatch is how many entries Import commits per transaction at most.
// The stores' lookup indexes are keyed by content hashes, so a batch dirties
// pages all over them; at a million entries 20,000 per batch writes each
// such page once per 20,000 entries instead of once per 5,000.
const DefaultBatch = 20000

// BatchBytes bounds a batch by the size of its entries in the export as
// well: entries take about as much memory decoded as they do in JSON, and
// a store's Add holds them again in its own form, so an import holds a few
// times this much whatever the size of the export.
const BatchBytes = 16 << 20

// MaxEntryBytes bounds one entry of an export (and any value Import skips):
// a real entry of MaxLayers layers with long history lines is a few MB,
// and the decoder holds a value whole before decoding it.
const MaxEntryBytes = 64 << 20

// IsExport reports whether r, positioned at the start of an import file,
// holds a JSON export rather than a list of references: its first byte
// past white space is '{'. It only peeks, so r can be passed on to Import
// or read as a list.
func IsExport(r *bufio.Reader) (bool, error) {
	for n := 1; n <= 4096; n++ {
		b, err := r.Peek(n)
		if len(b) < n {
			if err == io.EOF {
				return false, nil
			}
			return false, err
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b[n-1] == '{', nil
	}
	return false, nil
}

// Import reads an export and adds its entries in transactions of at most
// batch entries (DefaultBatch when batch ≤ 0) and about BatchBytes of
// export, streaming: memory stays bounded by the batch whatever the size
// of the export. Each batch is atomic, so a crash leaves whole batches,
// never a half-written entry; re-running the same import is idempotent
// (entries replace themselves), which is how an interrupted import is
// resumed. An entry that cannot be read or is invalid stops the import
// after the entries before it are committed. Into an empty catalog the
// store builds its lookup indexes once at the end (see Bulk); an import
// killed before that gets them back when the catalog is next opened for
// writing.
//
// It returns the number of entries committed, with any error too.
func Import(ctx context.Context, c Catalog, r io.Reader, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	br := &boundedReader{r: r}
	br.allow(0)
	dec := json.NewDecoder(bufio.NewReaderSize(br, 1<<20))
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	total := 0
	sawVersion := false
	for dec.More() {
		br.allow(dec.InputOffset())
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
			n, err := importEntries(ctx, c, dec, br, batch)
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

func importEntries(ctx context.Context, c Catalog, dec *json.Decoder, br *boundedReader, batch int) (int, error) {
	if err := expectDelim(dec, '['); err != nil {
		return 0, err
	}
	total := 0
	buf := make([]Entry, 0, min(batch, 1024))
	var size int64
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := c.Add(ctx, buf...); err != nil {
			return fmt.Errorf("import: entries %d–%d: %w", total+1, total+len(buf), err)
		}
		total += len(buf)
		// A fresh slice: the old one's entries would stay reachable
		// through its backing array until overwritten.
		buf, size = make([]Entry, 0, min(batch, 1024)), 0
		return nil
	}
	// stop commits the entries read before a bad one, so the count
	// reported is every entry before it.
	stop := func(err error) (int, error) {
		if ferr := flush(); ferr != nil {
			return total, ferr
		}
		return total, err
	}
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		start := dec.InputOffset()
		br.allow(start)
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return stop(fmt.Errorf("import: entry %d: %w", total+len(buf)+1, err))
		}
		if err := e.Validate(); err != nil {
			return stop(fmt.Errorf("import: entry %d: %w", total+len(buf)+1, err))
		}
		buf = append(buf, e)
		size += dec.InputOffset() - start
		if len(buf) == batch || size >= BatchBytes {
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

// boundedReader fails a read that would take the decoder more than
// MaxEntryBytes (plus its read-ahead) past the start of the current value.
type boundedReader struct {
	r     io.Reader
	n     int64 // bytes read
	limit int64
}

// readAhead covers what the bufio.Reader and the decoder buffer beyond
// the value being decoded.
const readAhead = 4 << 20

var errEntryTooLarge = fmt.Errorf("value larger than %d MB", MaxEntryBytes>>20)

func (b *boundedReader) allow(offset int64) { b.limit = offset + MaxEntryBytes + readAhead }

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		return 0, errEntryTooLarge
	}
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
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
