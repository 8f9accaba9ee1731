package server

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

//go:embed static templates openapi.json
var assets embed.FS

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", s.wrap("static", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.StripPrefix("/static/", http.FileServerFS(static)).ServeHTTP(w, r)
	}))
	// Browsers ask for /favicon.ico on documents that name none (a badge
	// opened on its own).
	mux.Handle("GET /favicon.ico", s.wrap("static", func(w http.ResponseWriter, r *http.Request) {
		b, _ := assets.ReadFile("static/favicon.svg")
		serveRendered(w, r, newRendered(b, "image/svg+xml"), "public, max-age=86400")
	}))
	mux.Handle("GET /{$}", s.wrap("home", s.homePage))
	mux.Handle("GET /go", s.wrap("go", s.goTo))
	mux.Handle("GET /images/{ref...}", s.wrap("page", s.imagePage))
	mux.Handle("GET /catalog", s.wrap("catalog", s.catalogPage))
	mux.Handle("GET /v1/images/{ref...}", s.wrap("api", s.imageAPI))
	mux.Handle("GET /v1/catalog", s.wrap("api-catalog", s.catalogAPI))
	mux.Handle("POST /v1/refresh/{ref...}", s.wrap("refresh", s.refresh))
	mux.Handle("GET /badges/{kind}/{ref...}", s.wrap("badge", s.badge))
	mux.Handle("GET /openapi.json", s.wrap("openapi", s.openAPI))
	mux.Handle("GET /metrics", s.wrap("metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP))
	health := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", cacheNone)
		fmt.Fprintln(w, "ok")
	}
	mux.Handle("GET /healthz", s.wrap("health", health))
	// MicroBadger's health check path.
	mux.Handle("GET /healthcheck.txt", s.wrap("health", health))
	mux.Handle("/", s.wrap("notfound", func(w http.ResponseWriter, r *http.Request) {
		s.pageError(w, r, &httpError{http.StatusNotFound, "no such page"})
	}))
	return mux
}

// view is what a path under /images/ or /v1/images/ asks for.
type view struct {
	name reference.Name
	// kind is "image" (a repository), "version" (a tag or digest),
	// "diff" (name against other), or "files" or "waste" (views inside
	// a version's layers; a name without tag or digest means :latest).
	kind     string
	other    reference.Name
	platform image.Platform
}

// MicroBadger's version paths: /images/ns/repo/version/SHA.
var mbVersion = regexp.MustCompile(`^(.+)/version/(?:sha256:)?([0-9a-f]{64})$`)

// parseView reads REF[/-/VIEW[/…]]: "/-/" cannot occur in an image name
// (a path component never starts with "-"), so it separates the
// reference from a view of it, as in GitLab's URLs.
func (s *Server) parseView(r *http.Request) (view, error) {
	p := r.PathValue("ref")
	v := view{platform: *s.cfg.Platform}
	if ps := r.URL.Query().Get("platform"); ps != "" {
		pl, err := image.ParsePlatform(ps)
		if err != nil {
			return v, &httpError{http.StatusBadRequest, "platform: " + err.Error()}
		}
		v.platform = pl
	}
	ref, rest, hasView := strings.Cut(p, "/-/")
	if m := mbVersion.FindStringSubmatch(ref); m != nil && !hasView {
		ref = m[1] + "@sha256:" + m[2]
	}
	n, err := parseName(ref)
	if err != nil {
		return v, err
	}
	v.name, v.kind = n, "version"
	if n.ExplicitTag() == "" && n.Digest() == "" {
		v.kind = "image"
	}
	if !hasView {
		return v, nil
	}
	what, arg, _ := strings.Cut(rest, "/")
	switch what {
	case "diff":
		o, err := parseName(arg)
		if err != nil {
			return v, err
		}
		v.kind, v.other = "diff", o
		return v, nil
	case "files", "waste":
		if arg != "" {
			break
		}
		v.kind = what
		return v, nil
	}
	return v, &httpError{http.StatusNotFound, "no such view of an image"}
}

// parseName reads an image name from a path: registry names only, never a
// file, directory or daemon (package reference.ParseName knows no other).
func parseName(s string) (reference.Name, error) {
	if s == "" || len(s) > 512 {
		return reference.Name{}, &httpError{http.StatusBadRequest, "no image reference (or one over 512 characters)"}
	}
	n, err := reference.ParseName(s)
	if err != nil {
		return reference.Name{}, &httpError{http.StatusBadRequest, err.Error()}
	}
	return n, nil
}

// goTo turns the header form's reference into its page.
func (s *Server) goTo(w http.ResponseWriter, r *http.Request) {
	ref := strings.TrimSpace(r.URL.Query().Get("ref"))
	n, err := parseName(strings.TrimPrefix(ref, "docker://"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, imageURL(n.Familiar()), http.StatusSeeOther)
}

// imageURL is the page of a familiar reference.
func imageURL(ref string) string {
	return "/images/" + (&url.URL{Path: ref}).EscapedPath()
}

// errorMessage is what a client is told about err. Registry errors name
// the registry and the image, which the client gave; nothing else.
func errorMessage(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.msg
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}
