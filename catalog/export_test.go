package catalog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/synth"
)

// sink is a Catalog that keeps nothing but counts, so that what an import
// holds is measured without a store's own memory.
type sink struct {
	n, layers int
	// peak is the largest live heap seen when a batch arrives, which is
	// when an import holds the most.
	peak uint64
}

func (s *sink) Add(_ context.Context, es ...catalog.Entry) error {
	for _, e := range es {
		s.n++
		s.layers += e.Layers()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.peak = max(s.peak, ms.HeapAlloc)
	return nil
}

func (s *sink) ByTop(context.Context, []string, []string) ([]catalog.Entry, error) { return nil, nil }
func (s *sink) Shared(context.Context, catalog.Kind, []string) (int, error)        { return 0, nil }
func (s *sink) List(context.Context, catalog.Filter) ([]catalog.Entry, error)      { return nil, nil }
func (s *sink) Remove(context.Context, catalog.Filter) (int, error)                { return 0, nil }
func (s *sink) Count(context.Context) (int, error)                                 { return s.n, nil }
func (s *sink) Each(context.Context, func(catalog.Entry) error) error              { return nil }
func (s *sink) Digests(context.Context, catalog.Filter, string) ([]string, error)  { return nil, nil }
func (s *sink) Close() error                                                       { return nil }

// exportStream writes a synthetic export of n entries into a pipe as it
// is read, so the test itself never holds the export.
func exportStream(n int) (io.Reader, *int64) {
	pr, pw := io.Pipe()
	var size int64
	go func() {
		w := bufio.NewWriter(pw)
		cw := &countWriter{w: w, n: &size}
		fmt.Fprintf(cw, `{"strataCatalog":%d,"entries":[`, catalog.FormatVersion)
		g := synth.New(77, n)
		for i := 0; ; i++ {
			e, _, ok := g.Next()
			if !ok {
				break
			}
			if i > 0 {
				cw.Write([]byte(",\n"))
			}
			b, _ := json.Marshal(e)
			cw.Write(b)
		}
		cw.Write([]byte("]}\n"))
		pw.CloseWithError(w.Flush())
	}()
	return pr, &size
}

type countWriter struct {
	w io.Writer
	n *int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

// TestImportMemoryBounded imports a generated export of about 100 MB and
// checks the live heap while a batch is committed stays far below it
// (issue 13 #14): the import streams, whatever the size of the file.
func TestImportMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 100 MB import")
	}
	const n = 25000
	r, size := exportStream(n)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	s := &sink{}
	got, err := catalog.Import(context.Background(), s, r, 0)
	if err != nil || got != n || s.n != n {
		t.Fatalf("import: %d (sink %d), %v; want %d", got, s.n, err, n)
	}
	if s.layers < 10*n {
		t.Fatalf("entries decoded with %d layers in all", s.layers)
	}
	growth := int64(s.peak) - int64(base)
	t.Logf("export %d MB; live heap at commit %d MB above the start", *size>>20, growth>>20)
	if *size < 80<<20 {
		t.Fatalf("the generated export is only %d MB", *size>>20)
	}
	// A batch is at most BatchBytes of export, held once decoded, plus the
	// decoder's buffers; today's bound is well under half the file.
	if limit := int64(2*catalog.BatchBytes + 8<<20); growth > limit {
		t.Errorf("live heap grew by %d MB importing a %d MB export; want at most %d MB", growth>>20, *size>>20, limit>>20)
	}
}

func TestIsExport(t *testing.T) {
	for in, want := range map[string]bool{
		`{"strataCatalog":1}`:           true,
		"\n\t  {":                       true,
		"debian:bookworm\n# comment\n":  false,
		"":                              false,
		"   ":                           false,
		"[{}]":                          false,
		strings.Repeat(" ", 5000) + "{": false,
	} {
		br := bufio.NewReader(strings.NewReader(in))
		got, err := catalog.IsExport(br)
		if err != nil || got != want {
			t.Errorf("IsExport(%.20q) = %v, %v", in, got, err)
		}
		if rest, _ := io.ReadAll(br); string(rest) != in {
			t.Errorf("IsExport(%.20q) consumed input", in)
		}
	}
}

// TestImportEntryTooLarge: one enormous entry is refused before the
// decoder holds all of it.
func TestImportEntryTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	huge := strings.NewReader(`{"strataCatalog":1,"entries":[{"name":"x","history":["` + strings.Repeat("a", catalog.MaxEntryBytes+8<<20) + `"]}]}`)
	n, err := catalog.Import(context.Background(), &sink{}, huge, 0)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("import of a %d MB entry: %d, %v", catalog.MaxEntryBytes>>20, n, err)
	}
}
