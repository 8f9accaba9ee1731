package packages

import (
	"bufio"
	"bytes"
)

// apkInstalled is apk's database of installed packages.
const apkInstalled = "lib/apk/db/installed"

// parseAPK reads apk's installed database: one block per package,
// separated by blank lines, "X:value" lines (P name, V version, A arch, L
// license, o origin; F/R/Z and friends list files and are skipped).
func parseAPK(path string, b []byte) []Package {
	var out []Package
	var cur Package
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			cur.Ecosystem, cur.Location = APK, path
			out = append(out, cur)
		}
		cur = Package{}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		v := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'L':
			cur.License = v
		case 'o':
			cur.Source = v
		}
	}
	flush()
	for i := range out {
		if out[i].Source == out[i].Name {
			out[i].Source = ""
		}
	}
	return out
}
