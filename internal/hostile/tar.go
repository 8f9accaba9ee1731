package hostile

import (
	"archive/tar"
	"bytes"
	"fmt"
	"strconv"
)

// File is one tar entry: a regular file with Body, or a directory when Dir
// is set.
type File struct {
	Name string
	Body string
	Dir  bool
}

// Tar writes files as an uncompressed tar.
func Tar(files ...File) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Body)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if f.Dir {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if _, err := tw.Write([]byte(f.Body)); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// SparseTar writes one old-GNU sparse entry ('S') named name holding data
// at offset 0 and claiming a logical size of logical bytes: everything after
// data is a hole, which a tar reader hands out as zeros. Go's tar writer
// cannot write sparse entries, so the header is built by hand.
func SparseTar(name string, data []byte, logical int64) []byte {
	var hdr [512]byte
	copy(hdr[0:100], name)
	octal(hdr[100:108], 0o644)
	octal(hdr[108:116], 0)
	octal(hdr[116:124], 0)
	octal(hdr[124:136], int64(len(data))) // physical size
	octal(hdr[136:148], 0)
	hdr[156] = 'S'
	copy(hdr[257:265], "ustar  \x00") // old GNU magic and version
	// One sparse fragment (offset 0, len(data) bytes) at 386, then the
	// "isextended" flag at 482 and the logical size at 483.
	octal(hdr[386:398], 0)
	octal(hdr[398:410], int64(len(data)))
	base256(hdr[483:495], logical)
	copy(hdr[148:156], "        ")
	sum := 0
	for _, c := range hdr {
		sum += int(c)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
	var buf bytes.Buffer
	buf.Write(hdr[:])
	buf.Write(data)
	buf.Write(make([]byte, (512-len(data)%512)%512))
	buf.Write(make([]byte, 1024)) // trailer
	return buf.Bytes()
}

func octal(b []byte, n int64) {
	s := strconv.FormatInt(n, 8)
	for len(s) < len(b)-1 {
		s = "0" + s
	}
	copy(b, s+"\x00")
}

// base256 writes n in GNU's binary form, for values octal cannot hold.
func base256(b []byte, n int64) {
	for i := len(b) - 1; i > 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	b[0] = 0x80
}
