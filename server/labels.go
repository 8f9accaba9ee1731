package server

import (
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
)

// Label origins.
const (
	originOwn       = "own"       // a LABEL step of the image's own sets it
	originInherited = "inherited" // a LABEL step of the base sets it
	originUnknown   = ""          // no LABEL step in the history names it
)

// label is one config label as a page shows it.
type label struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Origin string `json:"origin,omitempty"`
	// Link is the value as a link where the key is an OCI or label-schema
	// URL key (or a licence, a commit) and the result is http(s) only.
	Link string `json:"link,omitempty"`
}

// classifyLabels orders the config labels and tells own from inherited
// by the last LABEL step that set each key: on the image's own steps or
// on the base's (what lineage says the base accounts for). A label a
// child inherits can be wrong for it (the parent's vcs-ref), which is why
// MicroBadger's users asked to see the difference.
func classifyLabels(img *image.Image, df *dockerfile.Result) []label {
	origin := map[string]string{}
	for _, r := range df.Records {
		if r.Parsed.Keyword != "LABEL" {
			continue
		}
		for _, p := range r.Parsed.Pairs {
			if r.InBase {
				origin[p.Key] = originInherited
			} else {
				origin[p.Key] = originOwn
			}
		}
	}
	labels := img.Config.Config.Labels
	out := make([]label, 0, len(labels))
	for k, v := range labels {
		out = append(out, label{Key: k, Value: v, Origin: origin[k], Link: labelLink(k, v, labels)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Well-known keys: OCI annotations (also used as labels) and the older
// label-schema.org ones MicroBadger read.
const (
	ociURL      = "org.opencontainers.image.url"
	ociSource   = "org.opencontainers.image.source"
	ociDocs     = "org.opencontainers.image.documentation"
	ociLicenses = "org.opencontainers.image.licenses"
	ociRevision = "org.opencontainers.image.revision"
	ociVersion  = "org.opencontainers.image.version"
	lsURL       = "org.label-schema.url"
	lsVCSURL    = "org.label-schema.vcs-url"
	lsVCSRef    = "org.label-schema.vcs-ref"
	lsLicense   = "org.label-schema.license"
	lsVersion   = "org.label-schema.version"
	lsUsage     = "org.label-schema.usage"
)

var urlKeys = map[string]bool{ociURL: true, ociSource: true, ociDocs: true, lsURL: true, lsVCSURL: true, lsUsage: true}

// labelLink is where a label's value links to, "" for none.
func labelLink(key, value string, labels map[string]string) string {
	switch {
	case urlKeys[key]:
		return safeURL(vcsWeb(value))
	case key == ociLicenses || key == lsLicense:
		return licenseURL(value)
	case key == ociRevision || key == lsVCSRef:
		return commitURL(vcsSource(labels), value)
	}
	return ""
}

// safeURL returns s when it is an absolute http or https URL with a host,
// else "": a label saying javascript:… or data:… is shown, never linked.
func safeURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// vcsWeb turns a git remote into its web page: git@github.com:o/r.git
// becomes https://github.com/o/r, as MicroBadger did.
func vcsWeb(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		host, path, ok := strings.Cut(rest, ":")
		if ok {
			s = "https://" + host + "/" + path
		}
	}
	s = strings.TrimPrefix(s, "git+")
	if strings.HasPrefix(s, "git://") {
		s = "https://" + strings.TrimPrefix(s, "git://")
	}
	return strings.TrimSuffix(s, ".git")
}

func vcsSource(labels map[string]string) string {
	for _, k := range []string{ociSource, lsVCSURL} {
		if v := labels[k]; v != "" {
			return safeURL(vcsWeb(v))
		}
	}
	return ""
}

var (
	spdxID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$`)
	commitID = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
)

// licenseURL links a single SPDX identifier to its SPDX page.
func licenseURL(v string) string {
	v = strings.TrimSpace(v)
	if !spdxID.MatchString(v) {
		return ""
	}
	return "https://spdx.org/licenses/" + v + ".html"
}

// commitURL links a commit on a GitHub or GitLab source repository.
func commitURL(src, rev string) string {
	rev = strings.TrimSpace(rev)
	if src == "" || !commitID.MatchString(rev) {
		return ""
	}
	u, err := url.Parse(src)
	if err != nil || u.Scheme != "https" {
		return ""
	}
	switch u.Host {
	case "github.com":
		return src + "/commit/" + rev
	case "gitlab.com":
		return src + "/-/commit/" + rev
	}
	return ""
}

// firstLabel is the value of the first key set.
func firstLabel(labels map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(labels[k]); v != "" {
			return v
		}
	}
	return ""
}

// licence is the image's declared licence (OCI, then label-schema).
func licence(img *image.Image) string {
	return firstLabel(img.Config.Config.Labels, ociLicenses, lsLicense)
}

// revision is the image's declared source commit.
func revision(img *image.Image) string {
	return firstLabel(img.Config.Config.Labels, ociRevision, lsVCSRef)
}

// declaredVersion is the version the image's labels declare.
func declaredVersion(img *image.Image) string {
	return firstLabel(img.Config.Config.Labels, ociVersion, lsVersion)
}
