package dockerfile

import (
	"path"
	"regexp"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/lineage"
)

var heredocTokRe = regexp.MustCompile(`^<<-?(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)$`)

// copyAdd renders COPY/ADD. Where the builder kept only a content hash
// the source becomes a placeholder named after the hash, with a comment
// saying so; the line still parses and shows where the files went.
func (r *renderer) copyAdd(i int, in history.Instruction) {
	if rec, ok := r.recovered(i); ok && (len(rec.Sources) > 0 || len(rec.Heredocs) > 0) {
		r.copyRecovered(in, rec)
		return
	}
	kw := in.Keyword
	flags := r.flags(in)
	if in.ContentHash != "" {
		kind, hash, _ := strings.Cut(in.ContentHash, ":")
		name := kind + "-" + hash[:min(12, len(hash))]
		switch {
		case kw == "ADD" && strings.TrimRight(in.Dest, "/") == "" && kind == "file":
			name += ".tar"
		case kind == "file" && !strings.HasSuffix(in.Dest, "/") && !strings.Contains(in.Dest, `\`) && path.Base(in.Dest) != "." && path.Base(in.Dest) != "/":
			// COPY to a file path: the file's name in the image is the
			// likeliest name it had in the context.
			name = path.Base(in.Dest)
		}
		r.line("# " + kw + " source lost: " + r.writer(in) + " recorded only a content hash (" +
			oneLine(in.ContentHash[:min(len(in.ContentHash), 24)]) + "…); \"" + name + "\" is a placeholder, and any --from=<stage> is lost")
		r.line(kw + " " + flags + pathArgs([]string{name}, in.Dest))
		return
	}
	if in.Unparsed || in.Dest == "" || len(in.Source) == 0 {
		r.comment(in, "could not read sources and destination")
		return
	}
	var docs []string
	for _, s := range in.Source {
		if m := heredocTokRe.FindStringSubmatch(s); m != nil && m[1] == m[3] {
			docs = append(docs, m[2])
		}
	}
	if len(docs) > 0 {
		for _, p := range append(append([]string{}, in.Source...), in.Dest) {
			// The heredoc form is printed as plain words: a source from
			// JSON-form text could hold a line break or a quote.
			if !heredocTokRe.MatchString(p) && (p == "" || !oneLineText(p) || strings.ContainsAny(p, " \t\"'\\[")) {
				r.comment(in, "a heredoc with sources that are not plain words")
				return
			}
		}
		r.line("# " + kw + " heredoc: the history does not record the file content; the files below come out empty")
		r.line(kw + " " + flags + strings.Join(in.Source, " ") + " " + in.Dest)
		for _, d := range docs {
			r.line(d)
		}
		return
	}
	if in.Note != "" {
		r.line("# " + oneLine(in.Note) + " (BuildKit drops --from)")
	}
	r.line(kw + " " + flags + pathArgs(in.Source, in.Dest))
}

// writer names who wrote an entry's text. The classic builder and buildah
// write COPY/ADD alike; in an image buildah committed last, the entries
// below FROM are buildah's when lineage placed the base's end (or the
// image is FROM scratch), else either builder's.
func (r *renderer) writer(in history.Instruction) string {
	switch {
	case in.Builder == history.Buildah:
		return "buildah"
	case in.Builder != history.Classic:
		return "the " + string(in.Builder) + " builder"
	case !r.buildahTop():
		return "the classic builder"
	case r.start > 0 || r.from.Kind == lineage.KindScratch:
		return "buildah"
	}
	return "the classic builder or buildah"
}

// buildahTop reports whether buildah wrote the image's last history entry
// (package history reads its format and FROM comments).
func (r *renderer) buildahTop() bool {
	return len(r.ins) > 0 && r.ins[len(r.ins)-1].Builder == history.Buildah
}

// pathArgs renders sources and destination, in JSON form when a path has
// characters the plain form cannot carry.
func pathArgs(src []string, dst string) string {
	all := append(append([]string{}, src...), dst)
	for _, p := range all {
		if p == "" || !oneLineText(p) || strings.ContainsAny(p, " \t\"'\\") || strings.HasPrefix(p, "[") || strings.HasPrefix(p, "<<") {
			return jsonArray(all)
		}
	}
	return strings.Join(all, " ")
}
