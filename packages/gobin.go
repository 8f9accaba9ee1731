package packages

import (
	"bytes"
	"debug/buildinfo"
	"io"
	"os"
)

// goMinSize is the smallest file examined for Go build information: the
// gc toolchain's runtime alone makes every Go executable larger (a
// stripped "hello, world" is over 1 MiB), so smaller executables — most
// of /usr/bin — are not read at all.
const goMinSize = 512 << 10

// goHeadSize is how much of a candidate is read to decide: the Go build
// ID (an ELF note the linker puts among the first sections, or the
// "Go build ID" string at the start of the text in other formats) lies
// within it; cmd/go's own reader looks at the first 32 KiB.
const goHeadSize = 64 << 10

var (
	goNoteLE   = []byte("\x04\x00\x00\x00Go\x00\x00") // NT_GO_BUILDID, name "Go"
	goNoteBE   = []byte("\x00\x00\x00\x04Go\x00\x00")
	goBuildID  = []byte("Go build ID: \"")
	goBuildInf = []byte("\xff Go buildinf:")
)

// looksLikeGo reports whether the first bytes of an executable carry Go's
// build ID.
func looksLikeGo(head []byte) bool {
	return bytes.Contains(head, goNoteLE) || bytes.Contains(head, goNoteBE) ||
		bytes.Contains(head, goBuildID) || bytes.Contains(head, goBuildInf)
}

// readGoBinary reads the build information of the executable whose
// content r yields: the head decides, and only a Go binary is read on,
// into a temporary file for debug/buildinfo. (nil, nil) for anything
// that is not a Go binary.
func readGoBinary(p string, r io.Reader) ([]Package, int64, error) {
	head := make([]byte, goHeadSize)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, int64(n), err
	}
	if !looksLikeGo(head) {
		return nil, int64(n), nil
	}
	f, err := os.CreateTemp("", "strata-gobin-")
	if err != nil {
		return nil, int64(n), err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		return nil, int64(n), err
	}
	m, err := io.Copy(f, r)
	read := int64(n) + m
	if err != nil {
		return nil, read, err
	}
	bi, err := buildinfo.Read(f)
	if err != nil {
		// A Go program built without module support, or not Go after all.
		return nil, read, nil
	}
	return goPackages(p, bi), read, nil
}

// goPackages lists the main module, every dependency (at the version a
// replace directive substituted) and the standard library, as syft and
// govulncheck name it ("stdlib" at the toolchain's version).
func goPackages(p string, bi *buildinfo.BuildInfo) []Package {
	arch := ""
	for _, s := range bi.Settings {
		if s.Key == "GOARCH" {
			arch = s.Value
		}
	}
	var out []Package
	add := func(name, ver string) {
		if name != "" && ver != "" {
			out = append(out, Package{Ecosystem: Go, Name: name, Version: ver, Arch: arch, Location: p})
		}
	}
	main := bi.Main.Version
	if main == "" {
		main = "(devel)"
	}
	add(bi.Main.Path, main)
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
			if v == "" {
				v = "(devel)" // replaced by a local directory
			}
		}
		add(d.Path, v)
	}
	add("stdlib", bi.GoVersion)
	return out
}
