package layers

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// member is one tar entry for building test layers by hand.
type member struct {
	name string
	typ  byte
	body string
	mode int64
	link string
}

func dir(name string) member { return member{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) member {
	return member{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func wh(name string) member { return member{name: name, typ: tar.TypeReg} }
func symlink(name, to string) member {
	return member{name: name, typ: tar.TypeSymlink, link: to, mode: 0o777}
}
func hardlink(name, to string) member {
	return member{name: name, typ: tar.TypeLink, link: to, mode: 0o644}
}

func tarOf(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: m.mode, Linkname: m.link,
			Size: int64(len(m.body)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if m.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestWalkRecords(t *testing.T) {
	layer := tarOf(t,
		dir("./"),
		dir("./etc/"),
		file("./etc/passwd", "root:x:0:0"),
		file("/abs/path", "x"),
		file("../../escape", "y"),
		file("stargz.index.json", "{}"),
		file(".prefetch.landmark", "l"),
		wh("etc/.wh.shadow"),
		wh("usr/.wh..wh..opq"),
		wh(".wh..wh.plnk"),
		hardlink("etc/passwd-", "./etc/passwd"),
		symlink("bin/sh", "busybox"),
	)
	var got []string
	st, err := Walk(bytes.NewReader(layer), WalkOptions{Hash: func(p string) bool { return p == "etc/passwd" }}, func(r Record) error {
		s := fmt.Sprintf("%s %s", r.Path, r.Type)
		switch {
		case r.Whiteout:
			s = r.Path + " whiteout"
		case r.Opaque:
			s = r.Path + " opaque"
		}
		if r.Link != "" {
			s += " -> " + r.Link
		}
		if r.Digest != "" {
			s += fmt.Sprintf(" %d %s", r.Size, r.Digest[:15])
		}
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"etc dir",
		"etc/passwd file 10 " + sha("root:x:0:0")[:15],
		"abs/path file",
		"escape file",
		"etc/shadow whiteout",
		"usr opaque",
		"etc/passwd- hardlink -> etc/passwd 10 " + sha("root:x:0:0")[:15],
		"bin/sh symlink -> busybox",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st.Bytes != int64(len(layer)) {
		t.Errorf("bytes read = %d, want the whole stream %d", st.Bytes, len(layer))
	}
	if st.Entries != 12 {
		t.Errorf("entries = %d, want 12", st.Entries)
	}
}

// TestWalkOffsets checks that each record's Offset is where its content
// starts in the tar stream, PAX headers and long names included.
func TestWalkOffsets(t *testing.T) {
	long := strings.Repeat("d/", 80) + "long-name.txt"
	layer := tarOf(t, dir("etc/"), file("etc/a", "first file"), file(long, "behind a PAX header"), file("etc/b", "second"))
	want := map[string]string{"etc/a": "first file", long: "behind a PAX header", "etc/b": "second"}
	seen := 0
	_, err := Walk(bytes.NewReader(layer), WalkOptions{}, func(r Record) error {
		body, ok := want[r.Path]
		if !ok {
			return nil
		}
		seen++
		if got := string(layer[r.Offset : r.Offset+r.Size]); got != body {
			t.Errorf("%s: bytes at offset %d are %q, want %q", r.Path, r.Offset, got, body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Fatalf("saw %d of %d files", seen, len(want))
	}
}

func TestWalkRejectsGarbage(t *testing.T) {
	_, err := Walk(strings.NewReader(strings.Repeat("not a tar ", 100)), WalkOptions{}, func(Record) error { return nil })
	if err == nil {
		t.Fatal("want an error for a non-tar stream")
	}
}

// listing renders a merged file system as "path type" lines, the shape the
// expectations below are written in by hand.
func listing(m *Merged) string {
	var b strings.Builder
	for _, e := range m.Entries() {
		fmt.Fprintf(&b, "%s %s", e.Path, e.Type)
		if e.Type == TypeFile {
			fmt.Fprintf(&b, " %o %d", e.Mode, e.Size)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestMergeFinalFileSystem(t *testing.T) {
	base := []member{
		dir("a/"), file("a/1", "one"), file("a/2", "two"),
		dir("b/"), dir("b/c/"), file("b/c/deep", "deep"),
		dir("d/"), file("d/keep", "k"),
		file("f", "file"),
		dir("g/"), file("g/x", "x"),
	}
	chmod := file("a/1", "one")
	chmod.mode = 0o600
	tests := []struct {
		name   string
		layers [][]member
		want   string
	}{
		{
			name:   "whiteout file and directory, overwrite, chmod",
			layers: [][]member{base, {wh("a/.wh.2"), wh(".wh.b"), chmod, file("f", "rewritten")}},
			want:   "a dir\na/1 file 600 3\nd dir\nd/keep file 644 1\nf file 644 9\ng dir\ng/x file 644 1\n",
		},
		{
			// The marker sits after the new entry: it still hides only
			// the lower layers' content.
			name:   "opaque directory, marker last in the tar",
			layers: [][]member{base, {dir("a/"), file("a/new", "n"), wh("a/.wh..wh..opq")}},
			want:   "a dir\na/new file 644 1\nb dir\nb/c dir\nb/c/deep file 644 4\nd dir\nd/keep file 644 1\nf file 644 4\ng dir\ng/x file 644 1\n",
		},
		{
			name:   "directory removed then recreated in a later layer",
			layers: [][]member{base, {wh(".wh.d")}, {dir("d/"), file("d/again", "again")}},
			want:   "a dir\na/1 file 644 3\na/2 file 644 3\nb dir\nb/c dir\nb/c/deep file 644 4\nd dir\nd/again file 644 5\nf file 644 4\ng dir\ng/x file 644 1\n",
		},
		{
			name:   "file replaces a directory, directory replaces a file",
			layers: [][]member{base, {file("g", "now a file"), dir("f/"), file("f/inside", "i")}},
			want:   "a dir\na/1 file 644 3\na/2 file 644 3\nb dir\nb/c dir\nb/c/deep file 644 4\nd dir\nd/keep file 644 1\nf dir\nf/inside file 644 1\ng file 644 10\n",
		},
		{
			name:   "opaque at the root hides every lower path",
			layers: [][]member{base, {wh(".wh..wh..opq"), file("only", "o")}},
			want:   "only file 644 1\n",
		},
		{
			name:   "whiteout and re-add in the same layer",
			layers: [][]member{base, {dir("b/"), file("b/fresh", "f"), wh(".wh.b")}},
			want:   "a dir\na/1 file 644 3\na/2 file 644 3\nb dir\nb/fresh file 644 1\nd dir\nd/keep file 644 1\nf file 644 4\ng dir\ng/x file 644 1\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMerged(nil)
			for _, l := range tc.layers {
				if _, err := m.ApplyTar(bytes.NewReader(tarOf(t, l...)), WalkOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if got := listing(m); got != tc.want {
				t.Errorf("final file system:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A stack over an unknown lower must say which lower paths it hides.
func TestMergedOverUnknownLower(t *testing.T) {
	m := NewMerged(nil)
	for _, l := range [][]member{
		{wh(".wh.gone"), wh("opq/.wh..wh..opq"), file("opq/new", "n"), file("f", "file")},
		{dir("f/"), file("f/x", "x")},
	} {
		if _, err := m.ApplyTar(bytes.NewReader(tarOf(t, l...)), WalkOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]bool{
		"gone": true, "gone/sub/file": true, "opq": false, "opq/old": true,
		"f/lowerchild": true, "other": false, "gonealike": false,
	} {
		if got := m.Hidden(p); got != want {
			t.Errorf("Hidden(%q) = %v, want %v", p, got, want)
		}
	}
	if e, ok := m.Lookup("opq/new"); !ok || e.Type != TypeFile {
		t.Errorf("Lookup(opq/new) = %v, %v", e, ok)
	}
	wo, op := m.Deletions()
	if strings.Join(wo, ",") != "gone" || strings.Join(op, ",") != "f,opq" {
		t.Errorf("deletions = %v / %v", wo, op)
	}
}

func TestMergedKeepFilters(t *testing.T) {
	m := NewMerged(func(p string) bool { return strings.HasPrefix(p, "a") })
	if _, err := m.ApplyTar(bytes.NewReader(tarOf(t, file("a1", "x"), file("b1", "y"), file("a2", "z"))), WalkOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := listing(m); got != "a1 file 644 1\na2 file 644 1\n" {
		t.Errorf("kept:\n%s", got)
	}
}

// A filtered stack must still let an unkept file replace a kept subtree.
func TestMergedKeepStillReplaces(t *testing.T) {
	m := NewMerged(func(p string) bool { return p == "g/x" })
	for _, l := range [][]member{
		{dir("g/"), file("g/x", "x"), file("other", "o")},
		{file("g", "now a file")},
	} {
		if _, err := m.ApplyTar(bytes.NewReader(tarOf(t, l...)), WalkOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := listing(m); got != "" {
		t.Errorf("g/x survived the file written over g:\n%s", got)
	}
}

// BenchmarkApplyManyDeletions: a layer deleting thousands of directories
// from a stack of 40,000 paths costs one pass, not one pass per deletion.
func BenchmarkApplyManyDeletions(b *testing.B) {
	var lower []Record
	for d := 0; d < 4000; d++ {
		lower = append(lower, Record{Entry: Entry{Path: fmt.Sprintf("d%d", d), Type: TypeDir}})
		for f := 0; f < 9; f++ {
			lower = append(lower, Record{Entry: Entry{Path: fmt.Sprintf("d%d/f%d", d, f), Type: TypeFile}})
		}
	}
	var deletions []Record
	for d := 0; d < 4000; d += 2 {
		deletions = append(deletions, Record{Entry: Entry{Path: fmt.Sprintf("d%d", d)}, Whiteout: true})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := NewMerged(nil)
		m.Apply(lower)
		m.Apply(deletions)
		if m.Len() != 20000 {
			b.Fatalf("%d paths left, want 20000", m.Len())
		}
	}
}
