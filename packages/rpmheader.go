package packages

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// rpm header tags and types strata reads (rpm's lib/rpmtag.h).
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagLicense   = 1014
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044

	rpmTypeInt32       = 4
	rpmTypeString      = 6
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9
)

// maxRPMHeader bounds one header blob (rpm itself refuses headers over
// 256 MiB; real ones are kilobytes to a few MiB).
const maxRPMHeader = 64 << 20

// parseRPMHeader reads the package fields of one header blob as an rpm
// database stores it: entry count and data length (big-endian int32s),
// that many 16-byte index entries (tag, type, offset, count), then the
// data. Every offset is checked against the data: a header is hostile
// input.
func parseRPMHeader(blob []byte) (Package, error) {
	var p Package
	if len(blob) < 8 || len(blob) > maxRPMHeader {
		return p, fmt.Errorf("rpm header of %d bytes", len(blob))
	}
	il := int64(binary.BigEndian.Uint32(blob[0:4]))
	dl := int64(binary.BigEndian.Uint32(blob[4:8]))
	start := 8 + il*16
	if il > 1<<20 || start+dl > int64(len(blob)) {
		return p, fmt.Errorf("rpm header claims %d entries and %d data bytes, has %d bytes", il, dl, len(blob))
	}
	data := blob[start : start+dl]
	var epoch, release string
	for i := int64(0); i < il; i++ {
		e := blob[8+i*16 : 8+i*16+16]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		typ := binary.BigEndian.Uint32(e[4:8])
		off := int64(int32(binary.BigEndian.Uint32(e[8:12])))
		if off < 0 || off >= int64(len(data)) {
			continue
		}
		switch tag {
		case rpmTagName, rpmTagVersion, rpmTagRelease, rpmTagLicense, rpmTagArch, rpmTagSourceRPM:
			if typ != rpmTypeString && typ != rpmTypeI18NString && typ != rpmTypeStringArray {
				continue
			}
			s := cString(data[off:])
			switch tag {
			case rpmTagName:
				p.Name = s
			case rpmTagVersion:
				p.Version = s
			case rpmTagRelease:
				release = s
			case rpmTagLicense:
				p.License = s
			case rpmTagArch:
				p.Arch = s
			case rpmTagSourceRPM:
				p.Source = s
			}
		case rpmTagEpoch:
			if typ == rpmTypeInt32 && off+4 <= int64(len(data)) {
				epoch = strconv.FormatUint(uint64(binary.BigEndian.Uint32(data[off:off+4])), 10)
			}
		}
	}
	if p.Name == "" || p.Version == "" {
		return p, errors.New("rpm header without name or version")
	}
	if release != "" {
		p.Version += "-" + release
	}
	if epoch != "" {
		p.Version = epoch + ":" + p.Version
	}
	p.Ecosystem = RPM
	return p, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
