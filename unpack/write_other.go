//go:build !linux

package unpack

import (
	"errors"
	"io"

	"github.com/strata-tool/strata/layers"
)

// Writer is only implemented on Linux, where every step can be taken
// relative to an open directory without following symlinks.
type Writer struct {
	Skipped []Skip
}

var errUnsupported = errors.New("extracting is only supported on Linux")

// Create is only implemented on Linux.
func Create(dir string, opts Options) (*Writer, error) { return nil, errUnsupported }

// Add is only implemented on Linux.
func (w *Writer) Add(e *layers.Entry, content io.Reader) error { return errUnsupported }

// Written is only implemented on Linux.
func (w *Writer) Written() int64 { return 0 }

// Close is only implemented on Linux.
func (w *Writer) Close() error { return errUnsupported }

func free(dir string) (int64, error) { return 0, errUnsupported }
