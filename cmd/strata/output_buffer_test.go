package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// writeCounter counts the writes that reach the stream.
type writeCounter struct {
	bytes.Buffer
	writes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestOutputIsBatched: a listing to a pipe or file reaches it in 64 KiB
// writes, not one per line (279 paths of the demo image). Escaping is
// checked on the same path by escape_test.go.
func TestOutputIsBatched(t *testing.T) {
	isolate(t)
	demo := filepath.Join(testenv.Testdata(), "demo", "demo.tar")
	for _, args := range [][]string{{"files", demo}, {"files", "-o", "json", demo}} {
		var out writeCounter
		var errb bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, errb.String())
		}
		if lines := strings.Count(out.String(), "\n"); lines < 279 || out.writes > out.Len()/(64<<10)+2 {
			t.Errorf("%v: %d lines in %d writes; want at least 279 lines in %d writes at most", args, lines, out.writes, out.Len()/(64<<10)+2)
		}
	}
}
