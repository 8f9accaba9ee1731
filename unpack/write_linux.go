package unpack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/strata-tool/strata/layers"
)

// Writer writes entries below one directory. Not safe for concurrent use.
type Writer struct {
	dir     string
	root    int
	opts    Options
	written int64
	// dirs holds directory metadata applied at Close, by path.
	dirs map[string]*layers.Entry
	// cache is the last parent directory opened, by path.
	cachePath string
	cacheFD   int
	// Skipped lists entries left out by policy.
	Skipped []Skip
}

// Create opens dir for writing (making it if needed). A directory that
// already holds anything is refused unless opts.Force.
func Create(dir string, opts Options) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if !opts.Force {
		names, err := readNames(dir)
		if err != nil {
			return nil, err
		}
		if len(names) > 0 {
			return nil, fmt.Errorf("%s holds %d entries (%s…); extract into an empty directory or use --force: %w", dir, len(names), names[0], ErrNotEmpty)
		}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Writer{dir: dir, root: fd, opts: opts, dirs: map[string]*layers.Entry{}, cacheFD: -1}, nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return names, err
}

// Written is the number of content bytes written so far.
func (w *Writer) Written() int64 { return w.written }

// Add writes one entry. content is read for regular files only and must
// hold exactly e.Size bytes. A refused entry (ErrUnsafe, ErrLimit) leaves
// nothing behind; device nodes are skipped and listed in Skipped.
func (w *Writer) Add(e *layers.Entry, content io.Reader) error {
	if err := checkPath(e.Path); err != nil {
		return err
	}
	switch e.Type {
	case layers.TypeChar, layers.TypeBlock:
		w.Skipped = append(w.Skipped, Skip{e.Path, "device node"})
		return nil
	case layers.TypeOther:
		w.Skipped = append(w.Skipped, Skip{e.Path, "unknown entry type"})
		return nil
	}
	parent, name := path.Split(e.Path)
	pfd, err := w.openDir(strings.TrimSuffix(parent, "/"), true)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	switch e.Type {
	case layers.TypeDir:
		return w.mkdir(pfd, name, e)
	case layers.TypeFile:
		return w.file(pfd, name, e, content)
	case layers.TypeSymlink:
		if err := w.clear(pfd, name, e.Path); err != nil {
			return err
		}
		if err := unix.Symlinkat(e.Link, pfd, name); err != nil {
			return fmt.Errorf("%s: symlink: %w", e.Path, err)
		}
		return w.meta(pfd, name, e, false)
	case layers.TypeHardlink:
		return w.hardlink(pfd, name, e)
	case layers.TypeFIFO:
		if err := w.clear(pfd, name, e.Path); err != nil {
			return err
		}
		if err := unix.Mkfifoat(pfd, name, 0o600); err != nil {
			return fmt.Errorf("%s: mkfifo: %w", e.Path, err)
		}
		return w.meta(pfd, name, e, true)
	}
	return fmt.Errorf("%s: cannot write a %s", e.Path, e.Type)
}

func (w *Writer) mkdir(pfd int, name string, e *layers.Entry) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := w.clear(pfd, name, e.Path); err != nil {
			return err
		}
		err = unix.ENOENT
	}
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(pfd, name, 0o700); err != nil {
			return fmt.Errorf("%s: mkdir: %w", e.Path, err)
		}
	} else if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	c := *e
	w.dirs[e.Path] = &c
	return nil
}

func (w *Writer) file(pfd int, name string, e *layers.Entry, content io.Reader) error {
	if w.opts.MaxBytes > 0 && w.written+e.Size > w.opts.MaxBytes {
		return fmt.Errorf("%s: %d more bytes would pass the limit of %d: %w", e.Path, e.Size, w.opts.MaxBytes, ErrLimit)
	}
	if err := w.clear(pfd, name, e.Path); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: create: %w", e.Path, err)
	}
	f := os.NewFile(uintptr(fd), e.Path)
	n, err := io.Copy(f, io.LimitReader(content, e.Size+1))
	w.written += n
	if err == nil && n != e.Size {
		err = fmt.Errorf("content has %d bytes, the entry says %d", n, e.Size)
	}
	if err == nil && w.opts.Owners {
		err = f.Chown(e.UID, e.GID)
	}
	if err == nil {
		err = unix.Fchmod(fd, w.opts.fileMode(e.Mode))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = unix.Unlinkat(pfd, name, 0)
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	return setTimes(pfd, name, e.ModTime)
}

func (w *Writer) hardlink(pfd int, name string, e *layers.Entry) error {
	if err := checkPath(e.Link); err != nil {
		return fmt.Errorf("%s: hardlink target: %w", e.Path, err)
	}
	if e.Link == e.Path {
		return nil
	}
	// Opening the target's directory replaces the cached one: keep both.
	pfd, err := unix.Dup(pfd)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	tparent, tname := path.Split(e.Link)
	tfd, err := w.openDir(strings.TrimSuffix(tparent, "/"), false)
	if err == nil {
		tfd, err = unix.Dup(tfd)
	}
	if err != nil {
		return fmt.Errorf("%s: hardlink target %s: %w", e.Path, e.Link, err)
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tname, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%s: hardlink target %s is not a file written here: %w", e.Path, e.Link, ErrUnsafe)
	}
	if err := w.clear(pfd, name, e.Path); err != nil {
		return err
	}
	// Flags 0: a hardlink to a symlink links the symlink, never its target.
	if err := unix.Linkat(tfd, tname, pfd, name, 0); err != nil {
		return fmt.Errorf("%s: link to %s: %w", e.Path, e.Link, err)
	}
	return nil
}

// clear removes what stands at name: a file, a symlink (never followed)
// or an empty directory. A non-empty directory is refused.
func (w *Writer) clear(pfd int, name, p string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("%s: %w", p, err)
	}
	flags := 0
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		// Only an empty directory can go, so no open directory but this
		// one can be below it.
		flags = unix.AT_REMOVEDIR
		delete(w.dirs, p)
		if w.cachePath == p {
			w.dropCache()
		}
	}
	if err := unix.Unlinkat(pfd, name, flags); err != nil {
		return fmt.Errorf("%s: replace what is there: %w", p, err)
	}
	return nil
}

// meta sets owner and times without following a symlink at name, and the
// mode where one applies (symlinks have none on Linux).
func (w *Writer) meta(pfd int, name string, e *layers.Entry, mode bool) error {
	if w.opts.Owners {
		if err := unix.Fchownat(pfd, name, e.UID, e.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%s: chown: %w", e.Path, err)
		}
	}
	if mode {
		if err := unix.Fchmodat(pfd, name, w.opts.fileMode(e.Mode), 0); err != nil {
			return fmt.Errorf("%s: chmod: %w", e.Path, err)
		}
	}
	return setTimes(pfd, name, e.ModTime)
}

func setTimes(pfd int, name string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.UtimesNanoAt(pfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: set times: %w", name, err)
	}
	return nil
}

// openDir opens directory p ("" is the root) one component at a time,
// each relative to the last and with O_NOFOLLOW, creating missing ones
// when create is set. The result belongs to the writer's cache: callers
// must not close it.
func (w *Writer) openDir(p string, create bool) (int, error) {
	if p == "" {
		return w.root, nil
	}
	if p == w.cachePath && w.cacheFD >= 0 {
		return w.cacheFD, nil
	}
	fd, err := unix.Dup(w.root)
	if err != nil {
		return -1, err
	}
	done := ""
	for _, comp := range strings.Split(p, "/") {
		done = path.Join(done, comp)
		next, err := unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, comp, 0o700); err == nil || errors.Is(err, unix.EEXIST) {
				w.implied(done)
				next, err = unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.ELOOP):
			return -1, fmt.Errorf("%s is a symlink, which is never followed: %w", done, ErrUnsafe)
		case errors.Is(err, unix.ENOTDIR):
			return -1, fmt.Errorf("%s is not a directory: %w", done, ErrUnsafe)
		case err != nil:
			return -1, fmt.Errorf("%s: %w", done, err)
		}
		fd = next
	}
	w.dropCache()
	w.cachePath, w.cacheFD = p, fd
	return fd, nil
}

// implied records a directory made only because a path below needs it:
// it gets the usual 0755 unless an entry for it comes.
func (w *Writer) implied(p string) {
	if _, ok := w.dirs[p]; !ok {
		w.dirs[p] = &layers.Entry{Path: p, Type: layers.TypeDir, Mode: 0o755, UID: os.Getuid(), GID: os.Getgid()}
	}
}

func (w *Writer) dropCache() {
	if w.cacheFD >= 0 {
		unix.Close(w.cacheFD)
	}
	w.cachePath, w.cacheFD = "", -1
}

// Close applies directory owners, modes and times, deepest first (so
// setting a parent's time is not undone by work inside it), and releases
// the directory.
func (w *Writer) Close() error {
	defer unix.Close(w.root)
	w.dropCache()
	paths := make([]string, 0, len(w.dirs))
	for p := range w.dirs {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i] > paths[j] })
	var first error
	for _, p := range paths {
		if err := w.finishDir(p, w.dirs[p]); err != nil && first == nil {
			first = err
		}
	}
	w.dropCache()
	return first
}

// finishDir sets a directory's owner and mode through a descriptor opened
// with O_NOFOLLOW, then its times.
func (w *Writer) finishDir(p string, e *layers.Entry) error {
	parent, name := path.Split(p)
	pfd, err := w.openDir(strings.TrimSuffix(parent, "/"), false)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if w.opts.Owners {
		err = unix.Fchown(fd, e.UID, e.GID)
	}
	if err == nil {
		err = unix.Fchmod(fd, w.opts.fileMode(e.Mode))
	}
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return setTimes(pfd, name, e.ModTime)
}

func free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return int64(st.Bavail) * st.Bsize, nil
}
