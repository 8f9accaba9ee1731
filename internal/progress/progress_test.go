package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestMeterCountsAndDraws(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "reading", 10)
	m.interval = 0
	if _, err := io.Copy(io.Discard, m.Reader(strings.NewReader("0123456789"))); err != nil {
		t.Fatal(err)
	}
	m.Finish()
	if m.Done() != 10 || !strings.Contains(out.String(), "(100%)") || !strings.HasSuffix(out.String(), "\r\033[K") {
		t.Errorf("done %d, drawn %q", m.Done(), out.String())
	}
	silent := New(nil, "x", -1)
	io.Copy(io.Discard, silent.Reader(strings.NewReader("abc")))
	if silent.Done() != 3 {
		t.Errorf("silent meter counted %d", silent.Done())
	}
}

// A second Finish, after the caller printed its output, leaves it alone.
func TestFinishClearsOnce(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "reading", -1)
	m.Reader(strings.NewReader("x")).Read(make([]byte, 1))
	m.Finish()
	out.WriteString("result\n")
	m.Finish()
	if got := out.String(); !strings.HasSuffix(got, "\r\033[Kresult\n") || strings.Count(got, "\r\033[K") != 2 {
		t.Errorf("drawn %q", got)
	}
}
