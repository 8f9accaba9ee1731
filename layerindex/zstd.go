package layerindex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

const (
	zstdMagic         = 0xFD2FB528
	zstdSkippableMask = 0xFFFFFFF0
	zstdSkippable     = 0x184D2A50
	// maxZstdWindow bounds what a hostile frame header can make the
	// decoder allocate; zstd --long=27 (128 MiB) is the most any builder uses.
	maxZstdWindow = 128 << 20
)

func newZstdReader() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow))
}

// zstdDecoder decodes a zstd stream one frame at a time, so it knows the
// blob and tar offsets where each frame starts: a frame is decodable on its
// own, which makes frame starts free checkpoints. klauspost's decoder reads
// concatenated frames without saying where one ends.
type zstdDecoder struct {
	br  *bufio.Reader
	pos func() int64 // blob offset of br's next byte; nil when resuming
	dec *zstd.Decoder
	fr  frameReader
	// inFrame: dec is decoding fr's current frame.
	inFrame bool
	out     int64
	frames  int
	onFrame func(in, out int64)
	err     error
}

func newZstdDecoder(br *bufio.Reader, pos func() int64, out int64) (*zstdDecoder, error) {
	dec, err := newZstdReader()
	if err != nil {
		return nil, err
	}
	return &zstdDecoder{br: br, pos: pos, dec: dec, out: out}, nil
}

func (z *zstdDecoder) Close() { z.dec.Close() }

func (z *zstdDecoder) Read(p []byte) (int, error) {
	for z.err == nil {
		if !z.inFrame {
			if err := z.nextFrame(); err != nil {
				z.err = err
				break
			}
		}
		n, err := z.dec.Read(p)
		z.out += int64(n)
		if errors.Is(err, io.EOF) {
			z.inFrame = false
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			z.err = fmt.Errorf("zstd frame %d: %w", z.frames, err)
			return n, z.err
		}
		return n, nil
	}
	return 0, z.err
}

// nextFrame skips skippable frames (zstd:chunked keeps its TOC in one) and
// starts decoding the next data frame; io.EOF at the clean end.
func (z *zstdDecoder) nextFrame() error {
	for {
		head, err := z.br.Peek(8)
		if len(head) == 0 && errors.Is(err, io.EOF) {
			if z.frames == 0 {
				return fmt.Errorf("zstd: empty stream: %w", io.ErrUnexpectedEOF)
			}
			return io.EOF
		}
		if len(head) < 4 {
			return fmt.Errorf("zstd: %d stray bytes after frame %d", len(head), z.frames)
		}
		magic := binary.LittleEndian.Uint32(head)
		if magic&zstdSkippableMask == zstdSkippable {
			if len(head) < 8 {
				return fmt.Errorf("zstd: truncated skippable frame: %w", io.ErrUnexpectedEOF)
			}
			n := int64(binary.LittleEndian.Uint32(head[4:]))
			if _, err := io.CopyN(io.Discard, z.br, 8+n); err != nil {
				return fmt.Errorf("zstd: skippable frame: %w", io.ErrUnexpectedEOF)
			}
			continue
		}
		if magic != zstdMagic {
			return fmt.Errorf("zstd: no frame at byte %d after frame %d", z.offset(), z.frames)
		}
		break
	}
	if z.onFrame != nil && z.pos != nil {
		z.onFrame(z.pos(), z.out)
	}
	z.fr = frameReader{br: z.br}
	if err := z.dec.Reset(&z.fr); err != nil {
		return fmt.Errorf("zstd frame %d: %w", z.frames+1, err)
	}
	z.inFrame = true
	z.frames++
	return nil
}

func (z *zstdDecoder) offset() int64 {
	if z.pos == nil {
		return -1
	}
	return z.pos()
}

// frameReader passes exactly one zstd frame through from br and then
// reports io.EOF, by reading the frame's structure (RFC 8878 §3.1.1): the
// header's length from its descriptor byte, then each block's size from
// its 3-byte header, then the optional checksum. No data is decoded here.
type frameReader struct {
	br       *bufio.Reader
	state    int
	left     int64 // bytes of the current piece still to pass
	last     bool
	checksum bool
}

const (
	frHeader = iota
	frBlock
	frChecksum
	frDone
)

func (f *frameReader) Read(p []byte) (int, error) {
	for f.left == 0 {
		if err := f.advance(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.br.Read(p)
	f.left -= int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// advance sizes the next piece of the frame; io.EOF once it is all passed.
func (f *frameReader) advance() error {
	switch f.state {
	case frHeader:
		n, checksum, err := frameHeaderSize(f.br)
		if err != nil {
			return err
		}
		f.left, f.checksum, f.state = n, checksum, frBlock
	case frBlock:
		if f.last {
			f.state = frChecksum
			return nil
		}
		h, err := f.br.Peek(3)
		if err != nil {
			return fmt.Errorf("zstd block header: %w", io.ErrUnexpectedEOF)
		}
		bh := uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16
		size := int64(bh >> 3)
		switch (bh >> 1) & 3 {
		case 1: // RLE: one byte repeated size times
			size = 1
		case 3:
			return errors.New("zstd: reserved block type")
		}
		f.left, f.last = 3+size, bh&1 == 1
	case frChecksum:
		f.state = frDone
		if f.checksum {
			f.left = 4
		}
	default:
		return io.EOF
	}
	return nil
}

// frameHeaderSize reads the frame header descriptor and returns the
// header's length (magic included) and whether a checksum ends the frame.
func frameHeaderSize(br *bufio.Reader) (int64, bool, error) {
	h, err := br.Peek(5)
	if err != nil {
		return 0, false, fmt.Errorf("zstd frame header: %w", io.ErrUnexpectedEOF)
	}
	fhd := h[4]
	if fhd&0x08 != 0 {
		return 0, false, errors.New("zstd: reserved frame header bit set")
	}
	single := fhd&0x20 != 0
	n := int64(5)
	if !single {
		n++ // window descriptor
	}
	n += []int64{0, 1, 2, 4}[fhd&3] // dictionary ID
	switch fhd >> 6 {               // frame content size
	case 0:
		if single {
			n++
		}
	case 1:
		n += 2
	case 2:
		n += 4
	case 3:
		n += 8
	}
	return n, fhd&0x04 != 0, nil
}
