package buildcontext

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/unpack"
)

// Report says what Write put in the directory and what it left out.
type Report struct {
	Dir     string               `json:"dir"`
	Dirs    int                  `json:"dirs"`
	Files   int                  `json:"files"`
	Links   int                  `json:"links"`
	Bytes   int64                `json:"bytes"`
	Skipped []unpack.Skip        `json:"skipped"`
	Refused []layerindex.Refusal `json:"refused"`
}

// Write puts the Dockerfile text and the plan's context into dir through
// unpack (nothing outside dir, no symlink followed, no device node,
// setuid/setgid dropped unless opts.PreserveSpecial, a non-empty dir
// refused unless opts.Force). Files are read layer by layer, each
// checked against its sha256. An entry refused as unsafe is reported, not
// fatal.
func Write(ctx context.Context, im *layerindex.Image, plan *Plan, dockerfileText, dir string, opts unpack.Options) (*Report, error) {
	w, err := unpack.Create(dir, opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{Dir: dir, Skipped: []unpack.Skip{}, Refused: []layerindex.Refusal{}}
	err = write(ctx, im, plan, dockerfileText, w, rep)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	rep.Skipped = append(rep.Skipped, w.Skipped...)
	return rep, err
}

func write(ctx context.Context, im *layerindex.Image, plan *Plan, text string, w *unpack.Writer, rep *Report) error {
	df := layers.Entry{Path: "Dockerfile", Type: layers.TypeFile, Mode: 0o644, Size: int64(len(text))}
	if err := w.Add(&df, strings.NewReader(text)); err != nil {
		return err
	}
	var files []layerindex.File
	byFile := map[[2]int][]*layers.Entry{}
	var later []*layers.Entry
	for i := range plan.Files {
		e := &plan.Files[i].Entry
		switch e.Type {
		case layers.TypeDir:
			if ok, err := add(w, e, nil, rep); err != nil {
				return err
			} else if ok {
				rep.Dirs++
			}
		case layers.TypeFile:
			f := plan.Files[i].From
			k := [2]int{f.Layer, f.Ord}
			if len(byFile[k]) == 0 {
				files = append(files, f)
			}
			byFile[k] = append(byFile[k], e)
		default:
			later = append(later, e)
		}
	}
	err := im.ReadFiles(ctx, files, func(f layerindex.File, r io.Reader) error {
		return writeCopies(ctx, im, w, f, r, byFile[[2]int{f.Layer, f.Ord}], rep)
	})
	if err != nil {
		return err
	}
	for _, e := range later {
		if ok, err := add(w, e, nil, rep); err != nil {
			return err
		} else if ok {
			rep.Links++
		}
	}
	return nil
}

// writeCopies writes one image file at each context path that holds it:
// the first from the stream at hand, others read again.
func writeCopies(ctx context.Context, im *layerindex.Image, w *unpack.Writer, f layerindex.File, r io.Reader, at []*layers.Entry, rep *Report) error {
	for i, e := range at {
		if i > 0 {
			rc, err := im.Open(ctx, f)
			if err != nil {
				return err
			}
			r = rc
			defer rc.Close()
		}
		ok, err := add(w, e, r, rep)
		if err != nil {
			return err
		}
		if ok {
			rep.Files++
			rep.Bytes += e.Size
		}
	}
	return nil
}

// add writes one entry, or records it as refused when unpack finds it
// unsafe (its content is still read: the check happens at its end).
func add(w *unpack.Writer, e *layers.Entry, r io.Reader, rep *Report) (bool, error) {
	err := w.Add(e, r)
	if errors.Is(err, unpack.ErrUnsafe) {
		rep.Refused = append(rep.Refused, layerindex.Refusal{Path: e.Path, Reason: err.Error()})
		if r != nil {
			_, err = io.Copy(io.Discard, r)
			return false, err
		}
		return false, nil
	}
	return err == nil, err
}
