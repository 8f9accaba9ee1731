package repoinfo

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/strata-tool/strata/image"
)

// rawStep is one "# <date>" + instruction pair of the dockerfile block.
type rawStep struct {
	created *time.Time
	text    string // as rendered: "RUN set -eux; …", "ADD file:… in / "
}

const buildkitSuffix = " # buildkit"

// BuildKit's history comment for Dockerfile steps.
const buildkitComment = "buildkit.dockerfile.v0"

func buildImage(f *File, sec *Section, raw []rawStep, cmd []string, hasCmd bool, layers []image.Layer) (*image.Image, error) {
	for _, r := range raw {
		if strings.HasSuffix(r.text, buildkitSuffix) {
			sec.BuildKit = true
			break
		}
	}
	hist := make([]image.History, len(raw))
	var produced, workdirs int
	for i, r := range raw {
		kw, _ := keyword(r.text)
		hist[i] = image.History{Created: r.created, CreatedBy: createdBy(r.text, sec.BuildKit)}
		if sec.BuildKit && !strings.HasPrefix(r.text, "RUN # ") {
			hist[i].Comment = buildkitComment
		}
		switch kw {
		case "RUN", "ADD", "COPY":
			produced++
		case "WORKDIR":
			workdirs++
			hist[i].EmptyLayer = true
		default:
			hist[i].EmptyLayer = true
		}
	}
	// BuildKit commits a layer for a WORKDIR that had to create its
	// directory; the text cannot say which did, so only the count decides.
	if sec.BuildKit && workdirs > 0 && produced+workdirs == len(layers) {
		for i, r := range raw {
			if kw, _ := keyword(r.text); kw == "WORKDIR" {
				hist[i].EmptyLayer = false
			}
		}
	}
	cfg := image.Config{
		Architecture:  sec.Platform.Architecture,
		OS:            sec.Platform.OS,
		Variant:       sec.Platform.Variant,
		OSVersion:     sec.Platform.OSVersion,
		DockerVersion: sec.DockerVersion,
		RootFS:        image.RootFS{Type: "layers", DiffIDs: []string{}},
	}
	if n := len(raw); n > 0 {
		cfg.Created = raw[n-1].created
	}
	if err := deriveConfig(&cfg.Config, raw); err != nil {
		return nil, err
	}
	if hasCmd {
		cfg.Config.Cmd = cmd
	}
	img := &image.Image{
		Reference:         f.Name,
		Transport:         Transport,
		ManifestDigest:    sec.ManifestDigest,
		ManifestMediaType: sec.ManifestMediaType,
		ID:                sec.ImageID,
		ConfigMediaType:   configMediaType(sec.ManifestMediaType),
		Platform:          sec.Platform,
		Config:            cfg,
		Layers:            layers,
		Notes:             []string{"rebuilt from docker-library/repo-info: blob digests only (no diff_ids); history text reconstructed from the rendered Dockerfile"},
	}
	var sum int64
	for _, l := range layers {
		sum += l.Size
	}
	if sec.TotalSize != 0 && sum != sec.TotalSize {
		img.Notes = append(img.Notes, fmt.Sprintf("layer sizes sum to %d bytes but Total Size says %d", sum, sec.TotalSize))
	}
	img.SetHistory(hist)
	return img, nil
}

func configMediaType(manifestType string) string {
	switch manifestType {
	case image.MediaTypeDockerManifest:
		return image.MediaTypeDockerConfig
	case image.MediaTypeOCIManifest:
		return image.MediaTypeOCIConfig
	}
	return ""
}

// keyword splits "RUN foo" into ("RUN", "foo").
func keyword(text string) (string, string) {
	kw, rest, _ := strings.Cut(text, " ")
	return strings.ToUpper(kw), rest
}

// createdBy rebuilds the config's created_by from repo-info's rendering.
// Classic builder: RUN → "/bin/sh -c <cmd>", ADD/COPY/WORKDIR →
// "/bin/sh -c #(nop) <INSTR>" (one space), other instructions →
// "/bin/sh -c #(nop)  <INSTR>" (two spaces), as moby's builder writes them.
// BuildKit: the instruction as written, RUN with its shell restored.
func createdBy(text string, buildkit bool) string {
	kw, rest := keyword(text)
	if kw == "RUN" && strings.HasPrefix(rest, "# ") {
		// Not a shell step: debuerreotype's "# debian.sh …" and similar,
		// which repo-info renders with a RUN prefix.
		return rest
	}
	if buildkit {
		if kw == "RUN" && !strings.HasPrefix(rest, "[") {
			return "RUN /bin/sh -c " + rest
		}
		return text
	}
	switch kw {
	case "RUN":
		return "/bin/sh -c " + rest
	case "ADD", "COPY", "WORKDIR":
		return "/bin/sh -c #(nop) " + text
	}
	return "/bin/sh -c #(nop)  " + text
}

// deriveConfig replays the metadata instructions into the runtime config,
// since repo-info prints only the default command of the real config.
func deriveConfig(c *image.ContainerConfig, raw []rawStep) error {
	for _, r := range raw {
		kw, rest := keyword(r.text)
		rest = strings.TrimSuffix(strings.TrimSpace(rest), buildkitSuffix)
		switch kw {
		case "ENV":
			for _, kv := range pairs(rest) {
				c.Env = setEnv(c.Env, kv[0], kv[1])
			}
		case "LABEL":
			for _, kv := range pairs(rest) {
				if c.Labels == nil {
					c.Labels = map[string]string{}
				}
				c.Labels[kv[0]] = kv[1]
			}
		case "EXPOSE":
			for _, p := range listOrMap(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				if c.ExposedPorts == nil {
					c.ExposedPorts = map[string]struct{}{}
				}
				c.ExposedPorts[p] = struct{}{}
			}
		case "VOLUME":
			for _, v := range listOrMap(rest) {
				if c.Volumes == nil {
					c.Volumes = map[string]struct{}{}
				}
				c.Volumes[v] = struct{}{}
			}
		case "ENTRYPOINT":
			ep, err := execOrShell(rest, c.Shell)
			if err != nil {
				return fmt.Errorf("ENTRYPOINT %q: %w", rest, err)
			}
			c.Entrypoint = ep
		case "CMD":
			cmd, err := execOrShell(rest, c.Shell)
			if err != nil {
				return fmt.Errorf("CMD %q: %w", rest, err)
			}
			c.Cmd = cmd
		case "SHELL":
			var sh []string
			if err := json.Unmarshal([]byte(rest), &sh); err != nil {
				return fmt.Errorf("SHELL %q: %w", rest, err)
			}
			c.Shell = sh
		case "WORKDIR":
			if path.IsAbs(rest) || c.WorkingDir == "" {
				c.WorkingDir = path.Clean("/" + rest)
			} else {
				c.WorkingDir = path.Join(c.WorkingDir, rest)
			}
		case "USER":
			c.User = rest
		case "STOPSIGNAL":
			c.StopSignal = rest
		case "ONBUILD":
			c.OnBuild = append(c.OnBuild, rest)
		}
	}
	return nil
}

// pairs reads "k=v" / "k1=v1 k2=v2" / legacy "k v". A value with spaces is
// printed unquoted by both builders, so several pairs are only assumed when
// every space-separated word is itself a pair.
func pairs(s string) [][2]string {
	words := strings.Fields(s)
	all := len(words) > 1
	for _, w := range words {
		if !strings.Contains(w, "=") {
			all = false
		}
	}
	if !all {
		words = []string{s}
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			k, v, _ = strings.Cut(w, " ")
		}
		out = append(out, [2]string{k, unquote(v)})
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// listOrMap reads "80 443/udp", a JSON array, the classic "[/data]" or
// the old "map[80/tcp:{}]" rendering.
func listOrMap(s string) []string {
	var arr []string
	if json.Unmarshal([]byte(s), &arr) == nil {
		return arr
	}
	if strings.HasPrefix(s, "map[") && strings.HasSuffix(s, "]") {
		var out []string
		for _, f := range strings.Fields(s[4 : len(s)-1]) {
			k, _, _ := strings.Cut(f, ":")
			out = append(out, k)
		}
		return out
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	return strings.Fields(s)
}

func execOrShell(s string, shell []string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var arr []string
		if err := json.Unmarshal([]byte(s), &arr); err == nil {
			return arr, nil
		}
		// The classic builder prints exec form with Go's %q slice
		// formatting: ["nginx" "-g" "daemon off;"].
		return goQuotedList(s)
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), s), nil
}

// goQuotedList reads `["a" "b c"]`, a []string printed with %q.
func goQuotedList(s string) ([]string, error) {
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	var out []string
	for body != "" {
		q, err := strconv.QuotedPrefix(body)
		if err != nil {
			return nil, fmt.Errorf("exec form %q: %w", s, err)
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			return nil, fmt.Errorf("exec form %q: %w", s, err)
		}
		out = append(out, v)
		body = strings.TrimSpace(body[len(q):])
	}
	return out, nil
}
