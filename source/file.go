package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// openRegular opens a file that must be a regular file once links are
// resolved. A FIFO named like a blob would block open(2) forever and a
// link to /dev/zero never ends, so both are refused before any read: the
// open is non-blocking (a FIFO without a writer opens at once) and the
// type is checked on the opened descriptor, not on a name that could be
// swapped in between.
func openRegular(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular(st.Mode())}
	}
	return f, nil
}

// errNotRegular says what a non-regular file is, for a one-line refusal.
func errNotRegular(m fs.FileMode) error {
	what := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), not a regular file"
	case m&fs.ModeCharDevice != 0:
		what = "a character device, not a regular file"
	case m&fs.ModeDevice != 0:
		what = "a device, not a regular file"
	case m&fs.ModeSocket != 0:
		what = "a socket, not a regular file"
	case m.IsDir():
		what = "a directory, not a regular file"
	}
	return &kindError{msg: what, kind: ErrUnsupported}
}

// readRegularFile reads a whole regular file of at most max bytes.
func readRegularFile(name string, max int64) ([]byte, error) {
	f, err := openRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, max, name)
}

// readAllLimited reads r to its end, refusing more than max bytes.
func readAllLimited(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		var te *TimeoutError
		if errors.As(err, &te) || errors.Is(err, ErrTimeout) {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		return nil, fmt.Errorf("read %s: %w (%w)", what, err, ErrCorrupt)
	}
	if int64(len(b)) > max {
		return nil, &kindError{msg: fmt.Sprintf("%s is too large: over %d bytes; refusing to read it into memory", what, max), kind: errTooLargeCorrupt}
	}
	return b, nil
}

// errTooLargeCorrupt is both kinds: oversized metadata is also a broken
// image, and callers have long matched ErrCorrupt for it.
var errTooLargeCorrupt = fmt.Errorf("%w: %w", ErrTooLarge, ErrCorrupt)
