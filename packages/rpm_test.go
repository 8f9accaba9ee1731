package packages

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// rpmTestdata returns go-rpmdb's test databases — real rpmdbs taken from
// CentOS, SLE, UBI and Fedora images — from the module cache, fetching
// the module through the Go module proxy first.
func rpmTestdata(t *testing.T) string {
	t.Helper()
	const mod = "github.com/knqyf263/go-rpmdb@v0.1.1"
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("go mod download %s: %v (the Go module proxy is needed for these real databases)", mod, err)
	}
	m := regexp.MustCompile(`"Dir": "([^"]+)"`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no Dir in %s", out)
	}
	return filepath.Join(string(m[1]), "pkg", "testdata")
}

func rpmListing(t *testing.T, dir string, files map[string][]byte) []string {
	t.Helper()
	pkgs, err := parseRPMDB(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pkgs {
		out = append(out, strings.TrimSpace(p.Name+" "+p.Version+" "+p.Arch))
	}
	sort.Strings(out)
	return out
}

// rpmQA lists a database directory with Debian's rpm.
func rpmQA(t *testing.T, dir, backend string) []string {
	t.Helper()
	out, err := exec.Command("rpm", "--dbpath", dir, "--define", "_db_backend "+backend, "-qa",
		"--qf", "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH}\n").Output()
	if err != nil {
		t.Skipf("rpm -qa: %v (Debian's rpm is needed as the oracle)", err)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		l = strings.Replace(l, " (none):", " ", 1)
		want = append(want, strings.TrimSuffix(l, " (none)"))
	}
	sort.Strings(want)
	return want
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the oracle listed nothing", what)
	}
	g, w := map[string]bool{}, map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	for _, s := range want {
		w[s] = true
		if !g[s] {
			t.Errorf("%s: missing %q", what, s)
		}
	}
	for _, s := range got {
		if !w[s] {
			t.Errorf("%s: extra %q", what, s)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d packages, want %d", what, len(got), len(want))
	}
}

// TestRPMBerkeleyDB: real BerkeleyDB rpmdbs (CentOS 5 and 7, big-endian
// UBI 8 on s390x) read as Debian's rpm (bdb_ro backend) reads them.
func TestRPMBerkeleyDB(t *testing.T) {
	td := rpmTestdata(t)
	for _, name := range []string{"centos5-plain", "centos7-many", "ubi8-s390x"} {
		b, err := os.ReadFile(filepath.Join(td, name, "Packages"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Packages"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sameList(t, name, rpmListing(t, "var/lib/rpm", map[string][]byte{rpmBDB: b}), rpmQA(t, dir, "bdb_ro"))
	}
}

// TestRPMSQLiteFedora: Fedora 35's SQLite rpmdb as Debian's rpm reads it.
func TestRPMSQLiteFedora(t *testing.T) {
	td := rpmTestdata(t)
	b, err := os.ReadFile(filepath.Join(td, "fedora35", "rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rpmdb.sqlite"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	sameList(t, "fedora35", rpmListing(t, "usr/lib/sysimage/rpm", map[string][]byte{rpmSQLite: b}), rpmQA(t, dir, "sqlite"))
}

// TestRPMNDB: SLE 15's NDB rpmdb. Debian's rpm has no NDB backend, so the
// oracle is the package list go-rpmdb's own tests expect of this file.
func TestRPMNDB(t *testing.T) {
	td := rpmTestdata(t)
	b, err := os.ReadFile(filepath.Join(td, "sle15-bci", "Packages.db"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(td, "..", "rpmdb_testcase_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	block := string(src[strings.Index(string(src), "SLE15WithNDB = func"):])
	block = block[:strings.Index(block, "\n\t}\n")]
	var want []string
	re := regexp.MustCompile(`\{intRef\((\d*)\), "([^"]+)", "([^"]+)", "([^"]+)", "([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(block, -1) {
		v := m[3] + "-" + m[4]
		if m[1] != "" {
			v = m[1] + ":" + v
		}
		want = append(want, strings.TrimSpace(m[2]+" "+v+" "+m[5]))
	}
	sort.Strings(want)
	sameList(t, "sle15-bci", rpmListing(t, "usr/lib/sysimage/rpm", map[string][]byte{rpmNDB: b}), want)
}

// TestRPMHostile: damaged databases end in an error, never a panic or a
// loop: truncated files, an overflow chain pointing at itself, an NDB
// blob longer than the file, a header with lying counts.
func TestRPMHostile(t *testing.T) {
	td := rpmTestdata(t)
	bdb, err := os.ReadFile(filepath.Join(td, "centos7-many", "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	ndb, err := os.ReadFile(filepath.Join(td, "sle15-bci", "Packages.db"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(bdb); n += len(bdb)/97 + 1 {
		_, _ = rpmBDBBlobs(bdb[:n])
	}
	for n := 0; n < len(ndb); n += len(ndb)/97 + 1 {
		_, _ = rpmNDBBlobs(ndb[:n])
	}
	// Every overflow page's next pointer aimed at itself.
	loop := append([]byte(nil), bdb...)
	ps := int(binary.LittleEndian.Uint32(loop[20:24]))
	for off := 0; off+ps <= len(loop); off += ps {
		if loop[off+25] == bdbOverflow {
			binary.LittleEndian.PutUint32(loop[off+16:], uint32(off/ps))
		}
	}
	if _, err := rpmBDBBlobs(loop); err == nil {
		t.Error("a looping overflow chain was not refused")
	}
	// The first used NDB slot's blob made 4 GiB long.
	huge := append([]byte(nil), ndb...)
	for s := 32; s+16 <= 4096; s += 16 {
		if binary.LittleEndian.Uint32(huge[s+4:]) != 0 {
			blk := int(binary.LittleEndian.Uint32(huge[s+8:])) * 16
			binary.LittleEndian.PutUint32(huge[blk+12:], 0xffffffff)
			break
		}
	}
	if _, err := rpmNDBBlobs(huge); err == nil {
		t.Error("an NDB blob longer than the file was not refused")
	}
	for _, h := range [][]byte{{0, 0, 0, 1}, {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 3, 0xe8}} {
		if _, err := parseRPMHeader(h); err == nil {
			t.Errorf("header %x accepted", h)
		}
	}
}
