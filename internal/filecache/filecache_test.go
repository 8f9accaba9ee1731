package filecache

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteReadEvict(t *testing.T) {
	d := Dir{Path: t.TempDir(), MaxBytes: 3500}
	value := bytes.Repeat([]byte("x"), 1000)
	names := []string{"a/0", "a/1", "b/2"}
	old := time.Now().Add(-time.Hour)
	for i, n := range names {
		if err := d.Write(n, value); err != nil {
			t.Fatal(err)
		}
		at := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(filepath.Join(d.Path, n), at, at)
	}
	if b, err := d.Read("a/0", 1000); err != nil || !bytes.Equal(b, value) {
		t.Fatalf("read back: %v", err) // and a/0 is now the most recently used
	}
	if _, err := d.Read("a/1", 999); err == nil {
		t.Error("a value over the read limit was returned")
	}
	// A stale temporary file of a killed writer goes; a fresh one stays.
	stale, fresh := filepath.Join(d.Path, "a", tmpPrefix+"stale"), filepath.Join(d.Path, "a", tmpPrefix+"fresh")
	os.WriteFile(stale, value, 0o644)
	os.WriteFile(fresh, nil, 0o644)
	os.Chtimes(stale, old, old)
	// 4,000 bytes > 3,500: the least recently used go until ≤ 3,150 —
	// a/1 only (a/0 was read since, b/2 is younger).
	if err := d.Write("c/3", value); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{"a/0": true, "a/1": false, "b/2": true, "c/3": true} {
		_, err := os.Stat(filepath.Join(d.Path, n))
		if got := err == nil; got != want {
			t.Errorf("%s kept %v, want %v (least recently used go first)", n, got, want)
		}
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a stale temporary file was left")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh temporary file (a writer at work) was removed")
	}
	if _, err := d.Read("a/1", 1000); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an evicted value reads as %v, want fs.ErrNotExist", err)
	}
}

func TestUnbounded(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	for _, n := range []string{"x", "y"} {
		if err := d.Write(n, bytes.Repeat([]byte("v"), 1<<16)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"x", "y"} {
		if _, err := d.Read(n, 1<<16); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
