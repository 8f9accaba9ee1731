package server

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/reference"
	"github.com/strata-tool/strata/waste"
)

// Pages are html/template: every string an image supplies (history,
// labels, annotations, names) is escaped for the context it lands in,
// and URLs built from labels pass safeURL first (html/template would
// also neutralise a javascript: URL, but a label is shown, not linked,
// unless it is plainly http(s)).
var pageTemplates = map[string]*template.Template{}

var funcs = template.FuncMap{
	"bytes": func(n int64) string {
		if n < 0 {
			return "?"
		}
		return humanize.Bytes(n)
	},
	"short": func(d string) string {
		_, hex, ok := strings.Cut(d, ":")
		if !ok {
			hex = d
		}
		return hex[:min(len(hex), 12)]
	},
	"imageURL": imageURL,
	"familiar": reference.Familiar,
	"date": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"join": strings.Join,
	// line shows image text (paths, link targets, instructions) on one
	// line with every control and bidi character as a visible escape
	// (internal/safetext); html/template then escapes the HTML.
	"line":      safetext.Line,
	"where":     waste.Where,
	"steps":     waste.StepList,
	"thousands": waste.Thousands,
	"percent":   func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"mul100":    func(f float64) float64 { return 100 * f },
	"add":       func(a, b int) int { return a + b },
}

func init() {
	for _, page := range []string{"home", "image", "version", "diff", "catalog", "error", "files", "waste"} {
		pageTemplates[page] = template.Must(template.New("base.html").Funcs(funcs).ParseFS(assets, "templates/base.html", "templates/"+page+".html"))
	}
}

// pageData is what every page template gets.
type pageData struct {
	Title string
	Data  any
}

func renderPage(page, title string, data any) (*rendered, error) {
	var b bytes.Buffer
	if err := pageTemplates[page].Execute(&b, pageData{Title: title, Data: data}); err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return newRendered(b.Bytes(), "text/html; charset=utf-8"), nil
}

func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code >= 500 {
		s.log.Warn("page failed", "status", code, "error", err.Error())
	}
	rd, rerr := renderPage("error", http.StatusText(code), struct {
		Code    int
		Status  string
		Message string
	}{code, http.StatusText(code), errorMessage(err)})
	if rerr != nil {
		http.Error(w, "error", code)
		return
	}
	w.Header().Set("Content-Type", rd.ctype)
	w.Header().Set("Cache-Control", cacheNone)
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	w.Write(rd.body)
}

func (s *Server) homePage(w http.ResponseWriter, r *http.Request) {
	c, err := s.browse(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data := struct {
		Recent  apiCatalog
		Crawl   *catalog.CrawlStats
		Watched []catalog.Watch
	}{Recent: c}
	if s.crawler != nil {
		if st, err := s.crawler.CrawlStats(r.Context()); err == nil {
			data.Crawl = &st
			data.Watched, _ = s.crawler.Watched(r.Context())
		}
	}
	rd, err := renderPage("home", "strata", data)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	serveRendered(w, r, rd, cacheNone)
}

func (s *Server) catalogPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.browse(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	title := "Catalog"
	if c.Query != "" {
		title = "Catalog: " + c.Query
	}
	rd, err := renderPage("catalog", title, c)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	serveRendered(w, r, rd, cacheNone)
}

// imagePage serves /images/{ref}: a repository, a version, or a diff.
func (s *Server) imagePage(w http.ResponseWriter, r *http.Request) {
	v, err := s.parseView(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ctx := r.Context()
	switch v.kind {
	case "image":
		ri, err := s.repository(ctx, v.name, v)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		rd, err := renderPage("image", v.name.FamiliarRepository(), imageView{Repo: v.name.FamiliarRepository(), Tags: ri.tags, Latest: ri.latest, V: newVersionView(ri.v)})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		serveRendered(w, r, rd, cacheTag)
	case "version":
		ver, err := s.version(ctx, v.name, v.platform)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		rd, err := ver.render("page", func() (*rendered, error) {
			return renderPage("version", ver.name.Familiar(), newVersionView(ver))
		})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
	case "files":
		s.filesPage(w, r, v)
	case "waste":
		s.wastePage(w, r, v)
	case "diff":
		res, err := s.diff(ctx, v)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		rd, err := renderPage("diff", "diff "+v.name.Familiar()+" "+v.other.Familiar(), diffView{A: v.name.Familiar(), B: v.other.Familiar(), R: res})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
	}
}

type imageView struct {
	Repo   string
	Tags   []string
	Latest string
	V      versionView
}

type diffView struct {
	A, B string
	R    *diff.Result
}

// versionView is the version page's data, derived from a version.
type versionView struct {
	Ref, Repo, Digest, Platform string
	PinnedRef                   string
	Created                     *time.Time
	Author                      string
	Size                        int64
	Layers                      int
	Platforms                   []platformLink
	Steps                       []stepRow
	Dockerfile                  string
	Own, Inherited, Unknown     []label
	Annotations                 []label
	From                        lineage.Base
	FromRef                     string
	Ancestry                    []ancestor
	Identical                   []apiRelated
	Tags                        []string
	Badges                      []badgeRow
	Notes                       []string
	Fetched                     time.Time
	FilesURL, WasteURL          string
}

type platformLink struct {
	Name, URL string
	Current   bool
}

type stepRow struct {
	Step        int
	Instruction string
	Size        int64
	Empty       bool
	InBase      bool
	Bar         int // width of the size bar, 0-200 px
	Digest      string
}

type ancestor struct {
	Names      []apiRelated
	Layers     int
	Confidence string
	Signals    string
	Unknown    bool
}

type badgeRow struct {
	Kind, SVG, JSON, Markdown string
}

func newVersionView(v *version) versionView {
	a := toAPIVersion(v)
	vv := versionView{Ref: v.name.Familiar(), Repo: v.name.FamiliarRepository(), Digest: v.img.ManifestDigest, Platform: v.platform,
		Created: v.img.Config.Created, Author: v.img.Config.Author, Size: a.DownloadSize, Layers: len(v.img.Layers),
		Dockerfile: v.df.Text, From: v.lin.From, Identical: a.Identical, Notes: a.Notes, Fetched: v.fetched}
	vv.PinnedRef = v.name.WithTag("").WithDigest(vv.Digest).Familiar()
	q := "?" + url.Values{"platform": {v.platform}}.Encode()
	vv.FilesURL, vv.WasteURL = layerViewURL(vv.Ref, "files")+q, layerViewURL(vv.Ref, "waste")+q
	if vv.From.Kind == lineage.KindBase {
		vv.FromRef = reference.Familiar(vv.From.Name)
	}
	for _, t := range a.Tags {
		vv.Tags = append(vv.Tags, t.Tag)
	}
	for _, p := range a.Platforms {
		vv.Platforms = append(vv.Platforms, platformLink{Name: p, URL: imageURL(v.name.Familiar()) + "?platform=" + p, Current: p == v.platform})
	}
	var biggest int64 = 1
	for _, l := range a.Layers {
		biggest = max(biggest, l.DownloadSize)
	}
	for _, l := range a.Layers {
		vv.Steps = append(vv.Steps, stepRow{Step: l.Step, Instruction: l.Command, Size: l.DownloadSize, Empty: l.Empty,
			InBase: l.InBase, Bar: int(200 * l.DownloadSize / biggest), Digest: l.BlobSum})
	}
	for _, l := range v.labels {
		switch l.Origin {
		case originOwn:
			vv.Own = append(vv.Own, l)
		case originInherited:
			vv.Inherited = append(vv.Inherited, l)
		default:
			vv.Unknown = append(vv.Unknown, l)
		}
	}
	vv.Annotations = annotations(v)
	for _, st := range v.lin.Ancestry {
		an := ancestor{Layers: st.Layers, Confidence: st.Confidence, Signals: strings.Join(st.Signals, ", "), Unknown: st.Unknown}
		for _, nm := range st.Names {
			an.Names = append(an.Names, related(nm, st.Layers, st.Confidence))
		}
		vv.Ancestry = append(vv.Ancestry, an)
	}
	for _, k := range badgeKinds {
		p := "/badges/" + k + strings.TrimPrefix(imageURL(vv.Ref), "/images")
		vv.Badges = append(vv.Badges, badgeRow{Kind: k, SVG: p + ".svg", JSON: p + ".json",
			Markdown: fmt.Sprintf("[![%s](%s.svg)](%s)", k, p, imageURL(vv.Ref))})
	}
	return vv
}

// annotations are the manifest's and the index's annotations, as
// labels (an annotation may carry the same OCI keys a label does).
func annotations(v *version) []label {
	var out []label
	add := func(where string, m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, label{Key: k, Value: m[k], Origin: where, Link: labelLink(k, m[k], m)})
		}
	}
	add("manifest", v.img.Annotations)
	if v.img.Index != nil {
		add("index", v.img.Index.Annotations)
	}
	return out
}
