package packages

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	// The SQLite rpmdb is read with the driver the catalog already uses.
	_ "modernc.org/sqlite"
)

// rpm keeps its database in one of three formats, in /var/lib/rpm or
// (Fedora 36+, openSUSE) /usr/lib/sysimage/rpm: Packages (BerkeleyDB hash,
// RHEL ≤ 8, CentOS, Amazon Linux 2), Packages.db (NDB, SUSE) or
// rpmdb.sqlite (RHEL 9, Fedora ≥ 33, Mariner) with its write-ahead log.
var rpmDirs = []string{"var/lib/rpm", "usr/lib/sysimage/rpm"}

const (
	rpmBDB       = "Packages"
	rpmNDB       = "Packages.db"
	rpmSQLite    = "rpmdb.sqlite"
	rpmSQLiteWAL = "rpmdb.sqlite-wal"
)

func isRPMFile(base string) bool {
	return base == rpmBDB || base == rpmNDB || base == rpmSQLite || base == rpmSQLiteWAL
}

// parseRPMDB reads the packages of one rpm database directory from the
// files it holds (base name → content). SQLite wins over NDB over
// BerkeleyDB when several are present (rpm --rebuilddb leaves the old
// one behind when it converts).
func parseRPMDB(dir string, files map[string][]byte) ([]Package, error) {
	var blobs [][]byte
	var err error
	var file string
	switch {
	case files[rpmSQLite] != nil:
		file = rpmSQLite
		blobs, err = rpmSQLiteBlobs(files[rpmSQLite], files[rpmSQLiteWAL])
	case files[rpmNDB] != nil:
		file = rpmNDB
		blobs, err = rpmNDBBlobs(files[rpmNDB])
	case files[rpmBDB] != nil:
		file = rpmBDB
		blobs, err = rpmBDBBlobs(files[rpmBDB])
	default:
		return nil, nil
	}
	loc := path.Join(dir, file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	out := make([]Package, 0, len(blobs))
	for _, b := range blobs {
		p, err := parseRPMHeader(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		p.Location = loc
		out = append(out, p)
	}
	return out, nil
}

// rpmSQLiteBlobs copies the database (and its write-ahead log, which may
// hold committed rows the main file does not yet) into a private
// directory and reads every header blob of the Packages table.
func rpmSQLiteBlobs(db, wal []byte) ([][]byte, error) {
	dir, err := os.MkdirTemp("", "strata-rpmdb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, rpmSQLite)
	if err := os.WriteFile(p, db, 0o600); err != nil {
		return nil, err
	}
	if wal != nil {
		if err := os.WriteFile(p+"-wal", wal, 0o600); err != nil {
			return nil, err
		}
	}
	conn, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(context.Background(), "SELECT blob FROM Packages")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// rpmNDBBlobs reads rpm's NDB format (lib/backend/ndb/rpmpkg.c): a
// 32-byte header ("RpmP", version 0, generation, slot page count), slot
// pages of 16-byte slots ("Slot", package index, block offset, block
// count), and at each used slot's block (16-byte units) a blob header
// ("BlbS", package index, checksum, length) followed by the header blob.
func rpmNDBBlobs(b []byte) ([][]byte, error) {
	le := binary.LittleEndian
	if len(b) < 32 || string(b[0:4]) != "RpmP" || le.Uint32(b[4:8]) != 0 {
		return nil, errors.New("not an rpm NDB database")
	}
	pages := int64(le.Uint32(b[12:16]))
	if pages == 0 || pages > 2048 || pages*4096 > int64(len(b)) {
		return nil, fmt.Errorf("NDB slot pages: %d", pages)
	}
	nslots := pages*4096/16 - 2
	var out [][]byte
	for i := int64(0); i < nslots; i++ {
		s := 32 + i*16
		if s+16 > int64(len(b)) {
			return nil, errors.New("NDB slots truncated")
		}
		slot := b[s : s+16]
		if string(slot[0:4]) != "Slot" {
			return nil, fmt.Errorf("NDB slot %d: bad magic", i)
		}
		pkg := le.Uint32(slot[4:8])
		if pkg == 0 {
			continue
		}
		off := int64(le.Uint32(slot[8:12])) * 16
		if off+16 > int64(len(b)) {
			return nil, fmt.Errorf("NDB package %d: block beyond the file", pkg)
		}
		h := b[off : off+16]
		n := int64(le.Uint32(h[12:16]))
		if string(h[0:4]) != "BlbS" || le.Uint32(h[4:8]) != pkg || off+16+n > int64(len(b)) {
			return nil, fmt.Errorf("NDB package %d: bad blob", pkg)
		}
		out = append(out, b[off+16:off+16+n])
	}
	return out, nil
}

// BerkeleyDB hash database layout (libdb's dbinc/db_page.h).
const (
	bdbHashMagic      = 0x00061561
	bdbPageHeader     = 26
	bdbHashUnsorted   = 2 // hash pages before libdb 4.6
	bdbHashOffPage    = 3 // HOFFPAGE: a value stored on overflow pages
	bdbOverflow       = 7
	bdbHashMeta       = 8
	bdbHash           = 13
	bdbOffPageEntryLn = 12
)

// rpmBDBBlobs walks a BerkeleyDB hash database the way rpm's bdb_ro
// backend reads it: every hash page's values (the odd entries of its
// index) that live on overflow pages, each followed page by page. Every
// offset and page number is checked and each chain may visit a page once,
// so a damaged or hostile file ends in an error, never a loop.
func rpmBDBBlobs(b []byte) ([][]byte, error) {
	if len(b) < 512 {
		return nil, errors.New("BerkeleyDB file shorter than its metadata page")
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case binary.LittleEndian.Uint32(b[12:16]) == bdbHashMagic:
	case binary.BigEndian.Uint32(b[12:16]) == bdbHashMagic:
		order = binary.BigEndian
	default:
		return nil, errors.New("not a BerkeleyDB hash database")
	}
	pageSize := int64(order.Uint32(b[20:24]))
	if b[24] != 0 || b[25] != bdbHashMeta || pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, errors.New("unsupported BerkeleyDB metadata (encrypted, or not a hash database)")
	}
	last := int64(order.Uint32(b[32:36]))
	page := func(n int64) ([]byte, error) {
		if n < 0 || (n+1)*pageSize > int64(len(b)) {
			return nil, fmt.Errorf("BerkeleyDB page %d beyond the file", n)
		}
		return b[n*pageSize : (n+1)*pageSize], nil
	}
	var out [][]byte
	for n := int64(0); n <= last; n++ {
		pg, err := page(n)
		if err != nil {
			return nil, err
		}
		if pg[25] != bdbHash && pg[25] != bdbHashUnsorted {
			continue
		}
		entries := int64(order.Uint16(pg[20:22]))
		if entries%2 != 0 || bdbPageHeader+entries*2 > pageSize {
			return nil, fmt.Errorf("BerkeleyDB page %d: bad index", n)
		}
		for k := int64(1); k < entries; k += 2 {
			at := int64(order.Uint16(pg[bdbPageHeader+k*2:]))
			if at+bdbOffPageEntryLn > pageSize || pg[at] != bdbHashOffPage {
				continue
			}
			v, err := bdbValue(page, order, int64(order.Uint32(pg[at+4:at+8])), last)
			if err != nil {
				return nil, fmt.Errorf("BerkeleyDB page %d: %w", n, err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// bdbValue concatenates an overflow chain.
func bdbValue(page func(int64) ([]byte, error), order binary.ByteOrder, first, last int64) ([]byte, error) {
	var v []byte
	seen := map[int64]bool{}
	for n := first; n != 0; {
		if seen[n] || n > last {
			return nil, fmt.Errorf("overflow chain revisits or leaves the file at page %d", n)
		}
		seen[n] = true
		pg, err := page(n)
		if err != nil {
			return nil, err
		}
		if pg[25] != bdbOverflow {
			return nil, fmt.Errorf("overflow chain reaches page %d of type %d", n, pg[25])
		}
		next := int64(order.Uint32(pg[16:20]))
		data := pg[bdbPageHeader:]
		if next == 0 {
			free := int64(order.Uint16(pg[22:24]))
			if bdbPageHeader+free > int64(len(pg)) {
				return nil, fmt.Errorf("overflow page %d: length %d", n, free)
			}
			data = pg[bdbPageHeader : bdbPageHeader+free]
		}
		if len(v)+len(data) > maxRPMHeader {
			return nil, errors.New("header larger than any rpm writes")
		}
		v = append(v, data...)
		n = next
	}
	return v, nil
}
