// Package progress reports long work (streaming layers) on stderr, and only
// when stderr is a terminal: scripts and CI logs get clean output.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Meter counts bytes read across readers and redraws one status line at
// most every interval.
type Meter struct {
	w        io.Writer
	label    string
	total    int64
	done     atomic.Int64
	mu       sync.Mutex
	last     time.Time
	interval time.Duration
	drawn    bool
}

// ForStderr returns a meter drawing on stderr when it is a terminal, else
// a meter that counts silently. total may be -1 when unknown.
func ForStderr(label string, total int64) *Meter {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return New(nil, label, total)
	}
	return New(os.Stderr, label, total)
}

// New returns a meter drawing on w (nil: silent).
func New(w io.Writer, label string, total int64) *Meter {
	return &Meter{w: w, label: label, total: total, interval: 200 * time.Millisecond}
}

// Reader wraps r so its bytes count towards the meter.
func (m *Meter) Reader(r io.Reader) io.Reader { return &meterReader{r: r, m: m} }

// Done returns the bytes counted so far.
func (m *Meter) Done() int64 { return m.done.Load() }

// Finish clears the status line, if one is drawn.
func (m *Meter) Finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w != nil && m.drawn {
		fmt.Fprint(m.w, "\r\033[K")
		// A second Finish (a deferred one, after the verb printed) must
		// not clear the verb's last line.
		m.drawn = false
	}
}

func (m *Meter) add(n int) {
	d := m.done.Add(int64(n))
	if m.w == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if now.Sub(m.last) < m.interval {
		return
	}
	m.last, m.drawn = now, true
	if m.total > 0 {
		fmt.Fprintf(m.w, "\r\033[K%s %s / %s (%d%%)", m.label, mb(d), mb(m.total), d*100/m.total)
	} else {
		fmt.Fprintf(m.w, "\r\033[K%s %s", m.label, mb(d))
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

type meterReader struct {
	r io.Reader
	m *Meter
}

func (r *meterReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.m.add(n)
	return n, err
}
