package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/reference"
	"github.com/strata-tool/strata/source"
)

// The API keeps MicroBadger's field names (PascalCase) where its fields
// fit, so its old clients work; strata's own additions are camelCase and
// reuse the shapes `strata … -o json` prints (lineage, from).

type apiTag struct {
	Tag string `json:"tag"`
}

// apiLayer is one history step: MicroBadger listed every history entry,
// empty ones included, base first.
type apiLayer struct {
	BlobSum          string     `json:"BlobSum"`
	Command          string     `json:"Command"`
	DownloadSize     int64      `json:"DownloadSize"`
	Step             int        `json:"step"`
	Layer            *int       `json:"layer,omitempty"`
	Empty            bool       `json:"empty"`
	DiffID           string     `json:"diffID,omitempty"`
	UncompressedSize int64      `json:"uncompressedSize"`
	CreatedAt        *time.Time `json:"createdAt,omitempty"`
	InBase           bool       `json:"inBase"`
}

type apiRelated struct {
	ImageName      string   `json:"ImageName"`
	SHA            string   `json:"SHA,omitempty"`
	Tags           []apiTag `json:"Tags"`
	Reference      string   `json:"reference"`
	MicrobadgerURL string   `json:"MicrobadgerURL"`
	LayerCount     int      `json:"LayerCount"`
	Platform       string   `json:"platform,omitempty"`
	Confidence     string   `json:"confidence,omitempty"`
}

type apiLicense struct {
	Code string `json:"Code"`
	URL  string `json:"URL,omitempty"`
}

type apiVCS struct {
	Type   string `json:"Type"`
	URL    string `json:"URL,omitempty"`
	Commit string `json:"Commit,omitempty"`
}

type apiVersion struct {
	ImageName      string            `json:"ImageName"`
	SHA            string            `json:"SHA"`
	Tags           []apiTag          `json:"Tags"`
	Author         string            `json:"Author"`
	Labels         map[string]string `json:"Labels"`
	LayerCount     int               `json:"LayerCount"`
	DownloadSize   int64             `json:"DownloadSize"`
	Created        *time.Time        `json:"Created,omitempty"`
	Layers         []apiLayer        `json:"Layers"`
	Parents        []apiRelated      `json:"Parents"`
	Identical      []apiRelated      `json:"Identical"`
	License        *apiLicense       `json:"License,omitempty"`
	VersionControl *apiVCS           `json:"VersionControl,omitempty"`

	Reference    string          `json:"reference"`
	Platform     string          `json:"platform"`
	Platforms    []string        `json:"platforms"`
	IndexDigest  string          `json:"indexDigest,omitempty"`
	ConfigDigest string          `json:"configDigest"`
	LabelDetails []label         `json:"labelDetails"`
	Dockerfile   string          `json:"dockerfile"`
	From         lineage.Base    `json:"from"`
	Lineage      *lineage.Result `json:"lineage"`
	Notes        []string        `json:"notes"`
	FetchedAt    time.Time       `json:"fetchedAt"`
}

type apiImage struct {
	ImageName     string            `json:"ImageName"`
	LatestSHA     string            `json:"LatestSHA"`
	LatestVersion string            `json:"LatestVersion"`
	LayerCount    int               `json:"LayerCount"`
	DownloadSize  int64             `json:"DownloadSize"`
	Labels        map[string]string `json:"Labels"`
	UpdatedAt     time.Time         `json:"UpdatedAt"`
	Versions      []apiVersion      `json:"Versions"`
	Repository    string            `json:"repository"`
	TagList       []string          `json:"tagList"`
	Platforms     []string          `json:"platforms"`
}

type apiCatalogImage struct {
	ImageName      string    `json:"ImageName"`
	Tag            string    `json:"tag"`
	SHA            string    `json:"SHA"`
	Platform       string    `json:"platform"`
	LayerCount     int       `json:"LayerCount"`
	Added          time.Time `json:"added"`
	MicrobadgerURL string    `json:"MicrobadgerURL"`
}

type apiCatalog struct {
	CurrentPage int               `json:"CurrentPage"`
	Images      []apiCatalogImage `json:"Images"`
	Query       string            `json:"query"`
	HasMore     bool              `json:"hasMore"`
}

func toAPIVersion(v *version) apiVersion {
	img := v.img
	a := apiVersion{
		ImageName: v.name.FamiliarRepository(), SHA: img.ManifestDigest, Author: img.Config.Author,
		Labels: img.Config.Config.Labels, LayerCount: len(img.Layers), Created: img.Config.Created,
		Reference: v.name.Familiar(), Platform: v.platform, ConfigDigest: img.ID,
		LabelDetails: v.labels, Dockerfile: v.df.Text, From: v.lin.From, Lineage: v.lin,
		Notes: append(append([]string{}, v.notes...), v.df.Notes...), FetchedAt: v.fetched,
		Tags: []apiTag{}, Parents: []apiRelated{}, Identical: []apiRelated{}, Platforms: []string{},
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.LabelDetails == nil {
		a.LabelDetails = []label{}
	}
	if t := v.name.ExplicitTag(); t != "" {
		a.Tags = append(a.Tags, apiTag{t})
	}
	repo := v.name.FamiliarRepository()
	for _, t := range v.tags {
		if tag, ok := strings.CutPrefix(t, repo+":"); ok && tag != v.name.ExplicitTag() {
			a.Tags = append(a.Tags, apiTag{tag})
		}
	}
	a.DownloadSize, _ = history.TotalSizes(img.Layers)
	inBase := map[int]bool{}
	for _, r := range v.df.Records {
		inBase[r.Step] = r.InBase
	}
	for _, st := range v.steps {
		l := apiLayer{Command: st.Instruction, Step: st.Step, Layer: st.Layer, Empty: st.Layer == nil, DiffID: st.DiffID,
			UncompressedSize: st.UncompressedSize, CreatedAt: st.Created, InBase: inBase[st.Step], BlobSum: st.Digest}
		if st.Size > 0 {
			l.DownloadSize = st.Size
		}
		a.Layers = append(a.Layers, l)
	}
	if img.Index != nil {
		a.IndexDigest = img.Index.Digest
		for _, p := range img.Index.Platforms() {
			a.Platforms = append(a.Platforms, p.String())
		}
	}
	for _, st := range v.lin.Ancestry {
		for _, nm := range st.Names {
			a.Parents = append(a.Parents, related(nm, st.Layers, st.Confidence))
		}
	}
	for _, nm := range v.identical {
		a.Identical = append(a.Identical, related(nm, len(img.Layers), ""))
	}
	if l := licence(img); l != "" {
		a.License = &apiLicense{Code: l, URL: licenseURL(l)}
	}
	if src, rev := vcsSource(img.Config.Config.Labels), revision(img); src != "" || rev != "" {
		a.VersionControl = &apiVCS{Type: "git", URL: src, Commit: rev}
	}
	return a
}

func related(nm lineage.Name, layers int, confidence string) apiRelated {
	ref := nm.Ref
	if nm.Digest != "" && !strings.Contains(ref, "@") {
		ref += "@" + nm.Digest
	}
	r := apiRelated{ImageName: reference.Familiar(nm.Ref), Reference: reference.Familiar(nm.Ref), SHA: nm.Digest, Tags: []apiTag{},
		MicrobadgerURL: imageURL(reference.Familiar(ref)), LayerCount: layers, Platform: nm.Platform, Confidence: confidence}
	if n, err := reference.ParseName(nm.Ref); err == nil {
		r.ImageName = n.FamiliarRepository()
		if t := n.ExplicitTag(); t != "" {
			r.Tags = append(r.Tags, apiTag{t})
		}
	}
	return r
}

// repoImage is an image (repository) page's data: its tags, and the
// version its "latest" tag (else its last tag) points at.
type repoImage struct {
	name   reference.Name
	tags   []string
	latest string
	v      *version
}

func (s *Server) repository(ctx context.Context, n reference.Name, v view) (*repoImage, error) {
	if err := s.guard.CheckRegistry(ctx, n.Registry()); err != nil {
		return nil, err
	}
	if err := s.allowCold(ctx); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	tags, err := source.Tags(tctx, n, s.opts, 1000)
	s.metrics.upstream.WithLabelValues("tags", outcome(err)).Inc()
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, &httpError{http.StatusNotFound, "repository " + n.FamiliarRepository() + " has no tags"}
	}
	sort.Strings(tags)
	ri := &repoImage{name: n, tags: tags, latest: tags[len(tags)-1]}
	for _, t := range tags {
		if t == "latest" {
			ri.latest = t
		}
	}
	ri.v, err = s.version(ctx, n.WithTag(ri.latest), v.platform)
	return ri, err
}

func toAPIImage(ri *repoImage) apiImage {
	av := toAPIVersion(ri.v)
	return apiImage{ImageName: ri.name.FamiliarRepository(), LatestSHA: av.SHA, LatestVersion: ri.latest,
		LayerCount: av.LayerCount, DownloadSize: av.DownloadSize, Labels: av.Labels, UpdatedAt: ri.v.fetched,
		Versions: []apiVersion{av}, Repository: ri.name.FamiliarRepository(), TagList: ri.tags, Platforms: av.Platforms}
}

// imageAPI serves /v1/images/{ref}: the JSON twin of each page.
func (s *Server) imageAPI(w http.ResponseWriter, r *http.Request) {
	v, err := s.parseView(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	ctx := r.Context()
	switch v.kind {
	case "image":
		ri, err := s.repository(ctx, v.name, v)
		if err != nil {
			s.apiError(w, err)
			return
		}
		writeJSON(w, r, toAPIImage(ri), cacheTag)
	case "version":
		ver, err := s.version(ctx, v.name, v.platform)
		if err != nil {
			s.apiError(w, err)
			return
		}
		rd, err := ver.render("api", func() (*rendered, error) { return jsonRendered(toAPIVersion(ver)) })
		if err != nil {
			s.apiError(w, err)
			return
		}
		serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
	case "files", "waste":
		s.layerAPI(w, r, v)
	case "diff":
		res, err := s.diff(ctx, v)
		if err != nil {
			s.apiError(w, err)
			return
		}
		writeJSON(w, r, res, cachePolicy(v.name, cacheDigest))
	}
}

// cachePolicy: a tag may move at any time; a digest never does.
func cachePolicy(n reference.Name, forDigest string) string {
	if n.Digest() != "" {
		return forDigest
	}
	return cacheTag
}

func (s *Server) diff(ctx context.Context, v view) (*diff.Result, error) {
	a, err := s.version(ctx, v.name, v.platform)
	if err != nil {
		return nil, err
	}
	b, err := s.version(ctx, v.other, v.platform)
	if err != nil {
		return nil, err
	}
	return diff.Images(a.img, b.img, diff.Options{}), nil
}

func (s *Server) catalogAPI(w http.ResponseWriter, r *http.Request) {
	c, err := s.browse(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	writeJSON(w, r, c, cacheNone)
}

const pageSize = 50

// browse reads a page of the catalog, filtered by ?q=.
func (s *Server) browse(r *http.Request) (apiCatalog, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	out := apiCatalog{CurrentPage: page, Query: q, Images: []apiCatalogImage{}}
	if len(q) > 200 || page > 10000 {
		return out, &httpError{http.StatusBadRequest, "query too long or page too far"}
	}
	var es []catalog.Entry
	var err error
	if sr, ok := s.cat.(catalog.Searcher); ok {
		es, err = sr.Search(r.Context(), q, pageSize+1, (page-1)*pageSize)
	} else {
		es, err = s.cat.List(r.Context(), catalog.Filter{Name: q, Limit: page*pageSize + 1})
		es = es[min(len(es), (page-1)*pageSize):]
	}
	if err != nil {
		return out, err
	}
	out.HasMore = len(es) > pageSize
	for _, e := range es[:min(len(es), pageSize)] {
		ref := e.Name + "@" + e.ManifestDigest
		if e.ManifestDigest == "" {
			ref = e.Ref()
		}
		out.Images = append(out.Images, apiCatalogImage{ImageName: e.Name, Tag: e.Tag, SHA: e.ManifestDigest, Platform: e.Platform,
			LayerCount: e.Layers(), Added: e.Added, MicrobadgerURL: imageURL(ref)})
	}
	return out, nil
}

func jsonRendered(v any) (*rendered, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return newRendered(b.Bytes(), "application/json"), nil
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any, cacheControl string) {
	rd, err := jsonRendered(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	serveRendered(w, r, rd, cacheControl)
}

// apiError answers with {"error": …} and the error's status.
func (s *Server) apiError(w http.ResponseWriter, err error) {
	code := statusOf(err)
	if code >= 500 {
		s.log.Warn("request failed", "status", code, "error", err.Error())
	}
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheNone)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": errorMessage(err)})
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("openapi.json")
	if err != nil {
		http.Error(w, "missing", http.StatusInternalServerError)
		return
	}
	serveRendered(w, r, newRendered(b, "application/json"), "public, max-age=3600")
}
