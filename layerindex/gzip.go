package layerindex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
)

// gzipDecoder decodes a series of gzip members (RFC 1952) — one for most
// layers, one per file chunk for eStargz — with klauspost's inflater, so
// that it can report checkpoints at deflate block ends while indexing and
// resume from one when reading a file back. The standard gzip readers hide
// both.
type gzipDecoder struct {
	br *bufio.Reader
	// pos is the blob offset of br's next byte (nil when resuming: no
	// checkpoints are taken then).
	pos func() int64
	fl  io.ReadCloser
	crc hash.Hash32
	// size counts the member's output, modulo 2^32 as ISIZE does.
	size uint32
	// verify is false for a member entered mid-way (from a checkpoint),
	// whose CRC covers bytes never seen.
	verify  bool
	out     int64
	members int
	// onMember and onBlock, when set, are told of member starts (blob
	// offset of the header, tar offset) and of deflate block ends.
	onMember func(in, out int64)
	onBlock  func(Checkpoint)
	err      error
}

func newGzipDecoder(br *bufio.Reader, pos func() int64) *gzipDecoder {
	return &gzipDecoder{br: br, pos: pos, crc: crc32.NewIEEE()}
}

// resumeGzip decodes from checkpoint cp; br must start at blob offset cp.In.
func resumeGzip(br *bufio.Reader, cp Checkpoint) *gzipDecoder {
	g := &gzipDecoder{br: br, out: cp.Out, crc: crc32.NewIEEE()}
	if !cp.Fresh {
		g.fl = flate.NewReaderOpts(br, flate.WithResumeFrom(flate.InflateCheckpoint{
			CompressedOffset: cp.In, UncompressedOffset: cp.Out, BitOffset: cp.Bits, Window: cp.Window,
		}))
		g.members = 1
	}
	return g
}

func (g *gzipDecoder) Read(p []byte) (int, error) {
	for g.err == nil {
		if g.fl == nil {
			if err := g.nextMember(); err != nil {
				g.err = err
				break
			}
		}
		n, err := g.fl.Read(p)
		if g.verify {
			g.crc.Write(p[:n])
		}
		g.size += uint32(n)
		g.out += int64(n)
		if errors.Is(err, io.EOF) {
			if terr := g.endMember(); terr != nil {
				g.err = terr
				return n, terr
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			g.err = fmt.Errorf("gzip member %d: %w", g.members, err)
			return n, g.err
		}
		return n, nil
	}
	return 0, g.err
}

func (g *gzipDecoder) nextMember() error {
	if g.members > 0 {
		if _, err := g.br.Peek(1); errors.Is(err, io.EOF) {
			return io.EOF
		}
	}
	var in int64
	if g.pos != nil {
		in = g.pos()
	}
	if err := readGzipHeader(g.br); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("gzip member %d header: %w", g.members+1, err)
	}
	if g.onMember != nil {
		g.onMember(in, g.out)
	}
	var opts []flate.ReaderOpt
	if g.onBlock != nil && g.pos != nil {
		base, memberOut := g.pos(), g.out
		// klauspost/compress (v1.20.3 and .4) counts the LEN bytes of a
		// stored block twice when the Huffman decoder had already read them
		// ahead (dataBlock adds offBytes to roffset again), so from then on
		// CompressedOffset runs ahead of the input by whole bytes; the bit
		// offset stays right. At a stored block's end no bits are held
		// back, so CompressedOffset minus the bytes consumed is exactly that
		// excess; at any other block end it is at most the excess. The
		// running maximum is therefore the current excess — and 0 if the
		// library is fixed.
		var drift int64
		opts = append(opts, flate.WithEobCallback(func(cp flate.InflateCheckpoint) {
			if d := cp.CompressedOffset - (g.pos() - base); d > drift {
				drift = d
			}
			if !cp.Final {
				g.onBlock(Checkpoint{In: base + cp.CompressedOffset - drift, Bits: cp.BitOffset,
					Out: memberOut + cp.UncompressedOffset, Window: cp.Window})
			}
		}))
	}
	g.fl = flate.NewReaderOpts(g.br, opts...)
	g.crc.Reset()
	g.size, g.verify = 0, true
	g.members++
	return nil
}

// endMember checks the trailer: CRC-32 and size of what the member held.
func (g *gzipDecoder) endMember() error {
	var t [8]byte
	if _, err := io.ReadFull(g.br, t[:]); err != nil {
		return fmt.Errorf("gzip member %d trailer: %w", g.members, io.ErrUnexpectedEOF)
	}
	g.fl = nil
	if g.verify && (binary.LittleEndian.Uint32(t[:4]) != g.crc.Sum32() || binary.LittleEndian.Uint32(t[4:]) != g.size) {
		return fmt.Errorf("gzip member %d: checksum or size does not match its content", g.members)
	}
	return nil
}

// readGzipHeader reads one member header: magic, deflate method, flags and
// the optional extra field, name, comment and header CRC, which strata has
// no use for.
func readGzipHeader(br *bufio.Reader) error {
	var h [10]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return err
	}
	if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 {
		return errors.New("not a gzip header")
	}
	flg := h[3]
	if flg&0xe0 != 0 {
		return errors.New("reserved gzip flags set")
	}
	if flg&0x04 != 0 { // FEXTRA
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return err
		}
		if _, err := br.Discard(int(binary.LittleEndian.Uint16(l[:]))); err != nil {
			return err
		}
	}
	for _, bit := range []byte{0x08, 0x10} { // FNAME, FCOMMENT: NUL-terminated
		if flg&bit != 0 {
			if err := skipPastNUL(br); err != nil {
				return err
			}
		}
	}
	if flg&0x02 != 0 { // FHCRC
		if _, err := br.Discard(2); err != nil {
			return err
		}
	}
	return nil
}

func skipPastNUL(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice(0)
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}
