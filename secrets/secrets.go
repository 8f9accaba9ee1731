// Package secrets finds credentials an image leaks, on every surface
// strata reads, in one scan: the config's Env and Labels, every history
// entry's created_by (RUN text, the |N k=v build-arg prefixes, ARG
// lines), manifest, index and layer annotations, the build args a
// provenance attestation records, and the files of every layer —
// including files a later layer deleted or overwrote, which are still in
// the image for anyone who pulls it (a finding says which step added the
// file and which removed it).
//
// Rules cover well-known formats (AWS, GitHub, GitLab, Slack, Stripe,
// Google, npm, private keys, Docker config.json auths, .git-credentials,
// URLs with a password) and password=/secret=/token= assignments with an
// entropy check; documented placeholders (AKIAIOSFODNN7EXAMPLE,
// changeme…), hashes and UUIDs are not flagged. Files are chosen from the
// layer index by name, path and size, so a scan reads candidate files,
// not the image: binaries, large files and system paths are skipped, and
// on a first scan their content is scanned in the same pass that indexes
// the layer.
//
// Values are redacted (a prefix and the length) unless Options.Reveal.
package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Surfaces a finding can be on.
const (
	SurfaceEnv        = "env"
	SurfaceLabel      = "label"
	SurfaceHistory    = "history"
	SurfaceAnnotation = "annotation"
	SurfaceProvenance = "provenance"
	SurfaceFile       = "file"
)

// Finding is one secret at one place.
type Finding struct {
	Rule        string `json:"rule"`
	Description string `json:"description"`
	Surface     string `json:"surface"`
	// Step is the 1-based history step (strata layers' numbering) that
	// put the secret there; 0 when no step is known.
	Step int `json:"step,omitempty"`
	// Layer is the 0-based layer holding the file (files), or the layer
	// the step made; nil when none.
	Layer *int `json:"layer,omitempty"`
	// Path is the file's path in the image (files); Key the variable,
	// label, annotation or build-arg name.
	Path string `json:"path,omitempty"`
	Key  string `json:"key,omitempty"`
	Line int    `json:"line,omitempty"`
	// DeletedLater: a later layer deleted (whiteout) or overwrote the
	// file; it is still in the image's layers. RemovedStep is that layer's
	// step, RemovedBy "deleted" or "overwritten".
	DeletedLater bool   `json:"deletedLater"`
	RemovedStep  int    `json:"removedStep,omitempty"`
	RemovedBy    string `json:"removedBy,omitempty"`
	// Value is the secret, redacted unless revealed: its first characters
	// and its length.
	Value string `json:"value"`
	// Fingerprint identifies the finding across scans and rebuilds (rule,
	// surface, where, and a hash of the secret), for ignore files.
	Fingerprint string `json:"fingerprint"`
	secret      string
}

// Redact shows a secret's first characters (more for longer ones, none
// for short ones) and its length.
func Redact(s string) string {
	n := 0
	switch {
	case len(s) >= 32:
		n = 6
	case len(s) >= 16:
		n = 4
	case len(s) >= 10:
		n = 2
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		if i := strings.Index(s, "-----\n"); i > 0 {
			n = i + 5
		}
	}
	return fmt.Sprintf("%s…(%d chars)", s[:n], len(s))
}

// where is the location part of a fingerprint: what stays the same when
// the image is rebuilt (not step or layer numbers).
func (f *Finding) where() string {
	switch f.Surface {
	case SurfaceFile:
		return f.Path
	case SurfaceHistory:
		return fmt.Sprint(f.Line)
	}
	return f.Key
}

func (f *Finding) fingerprint() string {
	h := sha256.Sum256([]byte(f.Rule + "\x00" + f.Surface + "\x00" + f.where() + "\x00" + f.secret))
	return hex.EncodeToString(h[:8])
}

// Secret returns the value found (for --reveal).
func (f *Finding) Secret() string { return f.secret }

func newFinding(m match, surface string) Finding {
	f := Finding{Rule: m.rule.id, Description: m.rule.desc, Surface: surface, Line: m.line, secret: m.secret, Value: Redact(m.secret)}
	if m.rule.group == 2 && m.key != "" {
		f.Key = m.key
	}
	return f
}

// sortFindings orders findings by surface, step, path, key, line, rule.
func sortFindings(fs []Finding) {
	order := map[string]int{SurfaceEnv: 0, SurfaceLabel: 1, SurfaceAnnotation: 2, SurfaceProvenance: 3, SurfaceHistory: 4, SurfaceFile: 5}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		switch {
		case a.Surface != b.Surface:
			return order[a.Surface] < order[b.Surface]
		case a.Step != b.Step:
			return a.Step < b.Step
		case a.Path != b.Path:
			return a.Path < b.Path
		case a.Key != b.Key:
			return a.Key < b.Key
		case a.Line != b.Line:
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
}
