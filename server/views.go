package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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

func (s *Server) layerRequest(ctx context.Context, v view) (*layerRequest, error) {
	ver, err := s.version(ctx, v.name, v.platform)
	if err != nil {
		return nil, err
	}
	lv, err := s.layers(ctx, ver)
	if err != nil {
		return nil, err
	}
	return &layerRequest{v: v, ver: ver, lv: lv}, nil
}

// files pages the merged file system by ?path= and ?page=.
func (s *Server) files(lr *layerRequest, q url.Values, base string) (apiFiles, error) {
	ver := lr.ver
	out := apiFiles{Reference: ver.name.Familiar(), SHA: ver.img.ManifestDigest, Platform: ver.platform,
		AllPaths: len(lr.lv.files), PageSize: s.cfg.FilesPageSize, Orphans: lr.lv.orphans, Files: []filelist.Row{}, Steps: []apiStep{}}
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
	out.Page = max(page, 1)
	var match []filelist.Row
	for _, r := range lr.lv.files {
		if pat.Match(r.Path) {
			match = append(match, r)
		}
	}
	out.Total = len(match)
	out.Pages = max(1, (out.Total+out.PageSize-1)/out.PageSize)
	if out.Page > out.Pages {
		return out, &httpError{http.StatusNotFound, fmt.Sprintf("page %d: %d paths make %d pages", out.Page, out.Total, out.Pages)}
	}
	from := (out.Page - 1) * out.PageSize
	out.Files = append(out.Files, match[from:min(from+out.PageSize, len(match))]...)
	if out.Page < out.Pages {
		next := url.Values{"page": {strconv.Itoa(out.Page + 1)}}
		for _, k := range []string{"path", "platform"} {
			if q.Get(k) != "" {
				next.Set(k, q.Get(k))
			}
		}
		out.Next = base + "?" + next.Encode()
	}
	out.Steps = stepsOf(ver, out.Files)
	return out, nil
}

// stepsOf lists the steps rows blame, with their instructions.
func stepsOf(ver *version, rows []filelist.Row) []apiStep {
	used := map[int]bool{}
	for _, r := range rows {
		used[r.Step] = true
	}
	out := []apiStep{}
	for _, st := range ver.steps {
		if used[st.Step] && st.Step > 0 {
			out = append(out, apiStep{Step: st.Step, Instruction: st.Instruction})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}

func toAPIWaste(lr *layerRequest) apiWaste {
	return apiWaste{Image: lr.ver.name.Familiar(), SHA: lr.ver.img.ManifestDigest, Platform: lr.ver.platform, Report: lr.lv.waste}
}

// layerViewURL is the page of view what (files, waste) of a version.
func layerViewURL(ref, what string) string { return imageURL(ref) + "/-/" + what }

// filesPage serves /images/REF/-/files.
func (s *Server) filesPage(w http.ResponseWriter, r *http.Request, v view) {
	lr, err := s.layerRequest(r.Context(), v)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f, err := s.files(lr, r.URL.Query(), layerViewURL(v.name.Familiar(), "files"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rd, err := renderPage("files", "files of "+f.Reference, filesView{apiFiles: f, VersionURL: imageURL(f.Reference),
		WasteURL: layerViewURL(f.Reference, "waste"), APIURL: "/v1" + r.URL.RequestURI()})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
}

// filesView is the files page's data.
type filesView struct {
	apiFiles
	VersionURL, WasteURL, APIURL string
}

// First is the 1-based position of the page's first row.
func (f filesView) First() int { return (f.Page-1)*f.PageSize + 1 }

// Last is the position of its last row.
func (f filesView) Last() int { return (f.Page-1)*f.PageSize + len(f.Files) }

// wastePage serves /images/REF/-/waste.
func (s *Server) wastePage(w http.ResponseWriter, r *http.Request, v view) {
	lr, err := s.layerRequest(r.Context(), v)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ref := lr.ver.name.Familiar()
	rd, err := lr.ver.render("waste-page", func() (*rendered, error) {
		return renderPage("waste", "waste of "+ref, wasteView{apiWaste: toAPIWaste(lr), VersionURL: imageURL(ref),
			FilesURL: layerViewURL(ref, "files"), APIURL: "/v1" + layerViewURL(ref, "waste"), Steps: lr.ver.steps})
	})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	serveRendered(w, r, rd, cachePolicy(v.name, cacheDigest))
}

// layerAPI serves /v1/images/REF/-/files and /-/waste.
func (s *Server) layerAPI(w http.ResponseWriter, r *http.Request, v view) {
	lr, err := s.layerRequest(r.Context(), v)
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
	out := []apiStep{}
	for _, st := range w.Steps {
		if used[st.Step] && st.Step > 0 {
			out = append(out, apiStep{Step: st.Step, Instruction: st.Instruction})
		}
	}
	return out
}
