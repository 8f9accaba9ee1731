package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

// The files and waste views of a version: /images/REF/-/files and
// /-/waste, and their JSON twins under /v1/images/. Both read inside the
// image's layers (layers.go).

// apiStep is a step a list blames, with its instruction.
type apiStep struct {
	Step        int    `json:"step"`
	Instruction string `json:"instruction"`
}

// apiFiles is one page of the merged file system: the rows are `strata
// files -o json`'s.
type apiFiles struct {
	Reference string `json:"reference"`
	SHA       string `json:"SHA"`
	Platform  string `json:"platform"`
	// Path is the glob asked for ("**": every path).
	Path string `json:"path"`
	// Changes: the rows are what each layer changed (strata files
	// --changes), only layer Layer's when it is set (--layer).
	Changes bool `json:"changes"`
	Layer   *int `json:"layer,omitempty"`
	// Total is how many paths match Path; AllPaths how many the image has.
	Total    int `json:"total"`
	AllPaths int `json:"allPaths"`
	Page     int `json:"page"`
	Pages    int `json:"pages"`
	PageSize int `json:"pageSize"`
	// Next is the URL of the next page, when there is one.
	Next  string         `json:"next,omitempty"`
	Files []filelist.Row `json:"files"`
	// Steps are the steps this page's rows blame, with instructions.
	Steps []apiStep `json:"steps"`
	// Orphans counts paths written below a symlink or file, left out.
	Orphans int `json:"orphans"`
}

// apiWaste is `strata waste -o json` (without CI verdicts) and which
// manifest it describes.
type apiWaste struct {
	Image    string `json:"image"`
	SHA      string `json:"SHA"`
	Platform string `json:"platform"`
	*waste.Report
}

// layerRequest is a files or waste request, resolved to its version and
// layer view.
type layerRequest struct {
	v   view
	ver *version
	lv  *layerView
}

func (s *Server) layerRequest(ctx context.Context, v view, q url.Values) (*layerRequest, error) {
	ver, err := s.version(ctx, v.name, v.platform)
	if err != nil {
		return nil, err
	}
	changes := v.kind == "files" && (q.Get("changes") != "" || q.Get("layer") != "" || q.Get("step") != "")
	lv, err := s.layers(ctx, ver, changes)
	if err != nil {
		return nil, err
	}
	return &layerRequest{v: v, ver: ver, lv: lv}, nil
}

// files pages the merged file system (or the layers' changes: ?changes=1,
// ?layer=N) by ?path= and ?page=.
func (s *Server) files(lr *layerRequest, q url.Values, base string) (apiFiles, error) {
	ver := lr.ver
	out := apiFiles{Reference: ver.name.Familiar(), SHA: ver.img.ManifestDigest, Platform: ver.platform,
		PageSize: s.cfg.FilesPageSize, Orphans: lr.lv.orphans, Files: []filelist.Row{}, Steps: []apiStep{}}
	layer, err := layerParam(ver, q)
	if err != nil {
		return out, err
	}
	rows, err := pickLayer(&out, lr, layer)
	if err != nil {
		return out, err
	}
	out.AllPaths = len(rows)
	glob := q.Get("path")
	if len(glob) > 1024 {
		return out, &httpError{http.StatusBadRequest, "path: a glob over 1024 characters"}
	}
	pat, err := layerindex.ParsePattern(glob)
	if err != nil {
		return out, &httpError{http.StatusBadRequest, "path: " + err.Error()}
	}
	out.Path = pat.String()
	page, _ := strconv.Atoi(q.Get("page"))
	out.Page = min(max(page, 1), 1<<20)
	// Only the page's rows are copied: BIG has 101,101 paths.
	from := (out.Page - 1) * out.PageSize
	for _, r := range rows {
		if !pat.Match(r.Path) {
			continue
		}
		if out.Total >= from && out.Total < from+out.PageSize {
			out.Files = append(out.Files, r)
		}
		out.Total++
	}
	out.Pages = max(1, (out.Total+out.PageSize-1)/out.PageSize)
	if out.Page > out.Pages {
		return out, &httpError{http.StatusNotFound, fmt.Sprintf("page %d: %d paths make %d pages", out.Page, out.Total, out.Pages)}
	}
	if out.Page < out.Pages {
		next := url.Values{"page": {strconv.Itoa(out.Page + 1)}}
		for _, k := range []string{"path", "platform", "changes", "layer", "step"} {
			if q.Get(k) != "" {
				next.Set(k, q.Get(k))
			}
		}
		out.Next = base + "?" + next.Encode()
	}
	out.Steps = stepsOf(ver, out.Files)
	return out, nil
}

// layerParam is ?layer=, or the layer ?step= (1-based, as strata layers
// numbers steps) made: strata files --step.
func layerParam(ver *version, q url.Values) (string, error) {
	layer, step := q.Get("layer"), q.Get("step")
	switch {
	case step == "":
		return layer, nil
	case layer != "":
		return "", &httpError{http.StatusBadRequest, "layer and step both name a layer; give one"}
	}
	n, err := strconv.Atoi(step)
	if err != nil || n < 1 || n > len(ver.steps) {
		return "", &httpError{http.StatusBadRequest, fmt.Sprintf("step %q: the image has %d steps (1–%d)", step, len(ver.steps), len(ver.steps))}
	}
	l := ver.steps[n-1].Layer
	if l == nil {
		return "", &httpError{http.StatusBadRequest, fmt.Sprintf("step %d made no layer (it changed only the config)", n)}
	}
	return strconv.Itoa(*l), nil
}

// pickLayer narrows a changes listing to ?layer=N (0-based, as in JSON).
func pickLayer(out *apiFiles, lr *layerRequest, layer string) ([]filelist.Row, error) {
	rows := lr.lv.files
	out.Changes = lr.lv.changes
	if layer == "" {
		return rows, nil
	}
	n, err := strconv.Atoi(layer)
	if err != nil || n < 0 || n >= len(lr.ver.img.Layers) {
		return nil, &httpError{http.StatusBadRequest, fmt.Sprintf("layer %q: the image has %d layers (0–%d)", layer, len(lr.ver.img.Layers), len(lr.ver.img.Layers)-1)}
	}
	out.Layer = &n
	var only []filelist.Row
	for _, r := range rows {
		if r.Layer == n {
			only = append(only, r)
		}
	}
	return only, nil
}

// stepsOf lists the steps rows blame, with their instructions.
func stepsOf(ver *version, rows []filelist.Row) []apiStep {
	used := map[int]bool{}
	for _, r := range rows {
		used[r.Step] = true
	}
	return legend(ver.steps, used)
}

// legend lists the used steps, in order, with their instructions.
func legend(steps []history.Step, used map[int]bool) []apiStep {
	out := []apiStep{}
	for _, st := range steps {
		if used[st.Step] && st.Step > 0 {
			out = append(out, apiStep{Step: st.Step, Instruction: st.Instruction})
		}
	}
	return out
}

func toAPIWaste(lr *layerRequest) apiWaste {
	return apiWaste{Image: lr.ver.name.Familiar(), SHA: lr.ver.img.ManifestDigest, Platform: lr.ver.platform, Report: lr.lv.waste}
}

// layerViewURL is the page of view what (files, waste) of a version.
func layerViewURL(ref, what string) string { return imageURL(ref) + "/-/" + what }

// withQuery adds ?platform= and ?changes= to u when given.
func withQuery(u, platform, changes string) string {
	q := url.Values{}
	if platform != "" {
		q.Set("platform", platform)
	}
	if changes != "" {
		q.Set("changes", changes)
	}
	if len(q) == 0 {
		return u
	}
	return u + "?" + q.Encode()
}

// filesPage serves /images/REF/-/files.
func (s *Server) filesPage(w http.ResponseWriter, r *http.Request, v view) {
	lr, err := s.layerRequest(r.Context(), v, r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f, err := s.files(lr, r.URL.Query(), layerViewURL(v.name.Familiar(), "files"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pl := r.URL.Query().Get("platform")
	files := layerViewURL(f.Reference, "files")
	rd, err := renderPage("files", "files of "+f.Reference, filesView{apiFiles: f, VersionURL: withQuery(imageURL(f.Reference), pl, ""),
		FilesURL: withQuery(files, pl, ""), ChangesURL: withQuery(files, pl, "1"), WasteURL: withQuery(layerViewURL(f.Reference, "waste"), pl, ""),
		APIURL: "/v1" + r.URL.RequestURI()})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
}

// filesView is the files page's data.
type filesView struct {
	apiFiles
	VersionURL, FilesURL, ChangesURL, WasteURL, APIURL string
}

// First is the 1-based position of the page's first row.
func (f filesView) First() int { return (f.Page-1)*f.PageSize + 1 }

// Last is the position of its last row.
func (f filesView) Last() int { return (f.Page-1)*f.PageSize + len(f.Files) }

// wastePage serves /images/REF/-/waste.
func (s *Server) wastePage(w http.ResponseWriter, r *http.Request, v view) {
	lr, err := s.layerRequest(r.Context(), v, r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ref, pl := lr.ver.name.Familiar(), r.URL.Query().Get("platform")
	rd, err := lr.ver.render("waste-page", func() (*rendered, error) {
		return renderPage("waste", "waste of "+ref, wasteView{apiWaste: toAPIWaste(lr), VersionURL: withQuery(imageURL(ref), pl, ""),
			FilesURL: withQuery(layerViewURL(ref, "files"), pl, ""), APIURL: withQuery("/v1"+layerViewURL(ref, "waste"), pl, ""), Steps: lr.ver.steps})
	})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
}

// layerAPI serves /v1/images/REF/-/files and /-/waste.
func (s *Server) layerAPI(w http.ResponseWriter, r *http.Request, v view) {
	lr, err := s.layerRequest(r.Context(), v, r.URL.Query())
	if err != nil {
		s.apiError(w, err)
		return
	}
	if v.kind == "waste" {
		rd, err := lr.ver.render("waste-api", func() (*rendered, error) { return jsonRendered(toAPIWaste(lr)) })
		if err != nil {
			s.apiError(w, err)
			return
		}
		serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
		return
	}
	f, err := s.files(lr, r.URL.Query(), "/v1"+layerViewURL(v.name.Familiar(), "files"))
	if err != nil {
		s.apiError(w, err)
		return
	}
	writeJSON(w, r, f, cachePolicy(v.name, cacheDigest))
}

// wasteView is the waste page's data.
type wasteView struct {
	apiWaste
	VersionURL, FilesURL, APIURL string
	Steps                        []history.Step
}

// Legend lists the steps the page names, with their instructions.
func (w wasteView) Legend() []apiStep {
	used := map[int]bool{}
	for _, f := range w.Findings {
		used[f.Step] = true
		for _, s := range f.ShippedSteps {
			used[s] = true
		}
	}
	for _, o := range w.Top {
		used[o.Step] = true
	}
	for _, g := range w.Avoidable.Duplicates.Top {
		for _, p := range g.Paths {
			used[p.Step] = true
		}
	}
	for _, c := range w.Avoidable.Caches {
		for _, s := range c.Steps {
			used[s] = true
		}
	}
	return legend(w.Steps, used)
}
