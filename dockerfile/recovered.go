package dockerfile

import (
	"strings"
	"unicode/utf8"

	"github.com/strata-tool/strata/history"
)

// Recovered is what an image's layers tell about one step beyond its
// history text: the build-context paths a COPY/ADD reads, flags the
// history dropped, heredoc bodies, and notes. Package buildcontext finds
// it (it reads layers; this package does no I/O) and Options.Recovered
// hands it to Render, which writes it with the same quoting and the same
// one-step-one-instruction guard as everything else.
type Recovered struct {
	// Keyword replaces the step's keyword: COPY for an ADD whose local
	// archive was extracted (the extracted tree is copied instead).
	Keyword string `json:"keyword,omitempty"`
	// Flags, when not nil, replace the step's flags: the history's own
	// plus what was recovered (--chown, --chmod, --checksum).
	Flags []string `json:"flags,omitempty"`
	// Sources replace the step's sources: paths in the build context, or
	// a URL kept as it was.
	Sources []string `json:"sources,omitempty"`
	// Dest replaces the destination when not empty.
	Dest string `json:"dest,omitempty"`
	// Heredocs are the bodies of a COPY heredoc, in the order of its
	// <<NAME sources; the step is then written as a heredoc.
	Heredocs []Heredoc `json:"heredocs,omitempty"`
	// Notes become # comments above the step.
	Notes []string `json:"notes,omitempty"`
}

// Heredoc is one here-document of a COPY: the file BuildKit writes is
// named Name when the destination is a directory, and holds Body.
type Heredoc struct {
	Name string `json:"name"`
	Body string `json:"body"`
}

// HeredocOK reports whether body can be written back as a COPY heredoc
// named name that gives exactly these bytes: text a Dockerfile can carry
// (UTF-8 without control characters but tab and newline, no line past the
// parser's limit), ending in a newline (BuildKit ends the file with one),
// and no line that would end the heredoc early.
func HeredocOK(name, body string) bool {
	if !heredocTokRe.MatchString("<<"+name) || len(body) > maxHeredoc || !utf8.ValidString(body) {
		return false
	}
	if body != "" && !strings.HasSuffix(body, "\n") || longLine(body) || heredocClash(body, name) {
		return false
	}
	for _, c := range body {
		if c != '\n' && c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return oneLineText(strings.ReplaceAll(body, "\n", " "))
}

// maxHeredoc bounds a body written inline; a larger file goes into the
// build context instead.
const maxHeredoc = 16 << 10

// recovered returns what the layers told about entry i, if anything.
func (r *renderer) recovered(i int) (Recovered, bool) {
	rec, ok := r.opts.Recovered[i]
	return rec, ok
}

// notes writes a recovered step's notes as comments.
func (r *renderer) recoveredNotes(rec Recovered) {
	for _, n := range rec.Notes {
		r.line("# " + oneLine(n))
	}
}

// copyRecovered writes a COPY/ADD with what its layer told: context
// paths, recovered flags, or heredoc bodies.
func (r *renderer) copyRecovered(in history.Instruction, rec Recovered) {
	kw := in.Keyword
	if rec.Keyword != "" {
		kw = rec.Keyword
	}
	if rec.Flags != nil {
		in.Flags = rec.Flags
	}
	in.Keyword = kw
	flags := r.flags(in)
	dest := in.Dest
	if rec.Dest != "" {
		dest = rec.Dest
	}
	if len(rec.Heredocs) > 0 {
		r.heredocCopy(in, flags, dest, rec.Heredocs)
		return
	}
	r.line(kw + " " + flags + pathArgs(rec.Sources, dest))
}

// heredocCopy writes COPY <<"NAME" … DEST and the bodies. The delimiter
// is quoted so that nothing in a body is expanded.
func (r *renderer) heredocCopy(in history.Instruction, flags, dest string, docs []Heredoc) {
	var head []string
	for _, d := range docs {
		if !HeredocOK(d.Name, d.Body) {
			r.comment(in, "a heredoc body that cannot be written inline")
			return
		}
		head = append(head, `<<"`+d.Name+`"`)
	}
	if dest == "" || !oneLineText(dest) || strings.ContainsAny(dest, " \t\"'\\[") {
		r.comment(in, "a heredoc with a destination that is not a plain word")
		return
	}
	var b strings.Builder
	b.WriteString(in.Keyword + " " + flags + strings.Join(head, " ") + " " + dest + "\n")
	for _, d := range docs {
		b.WriteString(d.Body + d.Name + "\n")
	}
	r.b.WriteString(b.String())
}
