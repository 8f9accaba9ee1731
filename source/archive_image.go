package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// emptyTarDiffID is the diff_id of a 1024-byte empty tar: what pre-1.10
// Docker stored for metadata-only steps.
const emptyTarDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

type dockerManifestEntry struct {
	Config       string                      `json:"Config"`
	RepoTags     []string                    `json:"RepoTags"`
	Layers       []string                    `json:"Layers"`
	LayerSources map[string]image.Descriptor `json:"LayerSources"`
}

// openArchive opens a docker save or oci-archive tarball of any vintage:
// one image, or with sel.all every platform of it, all served from one
// scan of the archive.
func openArchive(ctx context.Context, file, ref string, sel selector, spoolLimit int64) ([]Source, error) {
	a, err := scanArchive(ctx, file, spoolLimit)
	if err != nil {
		return nil, err
	}
	sel.tag = ref
	found, err := a.images(ctx, sel)
	if err != nil {
		a.close()
		return nil, err
	}
	shared := &sharedCloser{left: len(found), close: a.close}
	out := make([]Source, len(found))
	for i, f := range found {
		img := f.img
		img.Reference = file
		if ref != "" {
			img.Reference += ":" + ref
		}
		a.fillUncompressedSizes(img)
		out[i] = &storeSource{img: img, store: a, layerOpen: f.open, closer: shared.Close}
	}
	return out, nil
}

// fillUncompressedSizes: an uncompressed layer blob's size is its tar size.
func (a *archive) fillUncompressedSizes(img *image.Image) {
	for i := range img.Layers {
		l := &img.Layers[i]
		if l.UncompressedSize >= 0 || l.Digest == "" {
			continue
		}
		alg, h, _ := strings.Cut(l.Digest, ":")
		if c, size, ok := a.entryCompression("blobs/" + alg + "/" + h); ok && c == compNone {
			l.UncompressedSize = size
		}
	}
}

// layerOpener reads layer i of an image by path (docker save names layers
// by path, not digest).
type layerOpener func(ctx context.Context, i int) (io.ReadCloser, error)

// archived is one image found in an archive; open, if set, reads its
// layers by path.
type archived struct {
	img  *image.Image
	open layerOpener
}

func (a *archive) images(ctx context.Context, sel selector) ([]archived, error) {
	idx, err := a.meta(ctx, "index.json")
	hasIndex := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: index.json: %w", a.describe(), err)
	}
	mf, err := a.meta(ctx, "manifest.json")
	hasManifest := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: manifest.json: %w", a.describe(), err)
	}
	if hasIndex {
		imgs, err := openFromIndex(ctx, a, idx, sel)
		if err == nil {
			out := make([]archived, len(imgs))
			for i, img := range imgs {
				img.Transport = "oci-archive"
				if hasManifest {
					// Docker 25+ save: an OCI layout with manifest.json beside it.
					img.Transport = "docker-archive"
					img.RepoTags = a.repoTagsFor(mf, img.ID)
				}
				out[i] = archived{img: img}
			}
			return out, nil
		}
		if !hasManifest || !(errors.Is(err, ErrAmbiguous) || errors.Is(err, errNoSuchName)) {
			return nil, err
		}
		// Fall back to manifest.json: its RepoTags may name what index.json
		// annotations do not.
	}
	var img *image.Image
	var open layerOpener
	switch {
	case hasManifest:
		img, open, err = a.dockerImage(ctx, mf, sel.tag)
	default:
		repos, rerr := a.meta(ctx, "repositories")
		if rerr != nil {
			if errors.Is(rerr, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s has neither manifest.json, index.json nor repositories: not an image archive: %w", a.describe(), ErrUnsupported)
			}
			return nil, fmt.Errorf("%s: repositories: %w", a.describe(), rerr)
		}
		img, open, err = a.v1Image(ctx, repos, sel.tag)
	}
	if err != nil {
		return nil, err
	}
	return []archived{{img: img, open: open}}, nil
}

func (a *archive) repoTagsFor(mf []byte, configDigest string) []string {
	var entries []dockerManifestEntry
	if json.Unmarshal(mf, &entries) != nil {
		return nil
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Config, strings.TrimPrefix(configDigest, "sha256:")) || strings.HasSuffix(e.Config, strings.TrimPrefix(configDigest, "sha256:")+".json") {
			return e.RepoTags
		}
	}
	return nil
}

// dockerImage reads the manifest.json form (legacy and Docker 25+).
func (a *archive) dockerImage(ctx context.Context, mf []byte, ref string) (*image.Image, layerOpener, error) {
	var entries []dockerManifestEntry
	if err := json.Unmarshal(mf, &entries); err != nil {
		return nil, nil, fmt.Errorf("%s: manifest.json: %w (%w)", a.describe(), err, ErrCorrupt)
	}
	var picked []dockerManifestEntry
	for _, e := range entries {
		if ref == "" {
			picked = append(picked, e)
			continue
		}
		for _, t := range e.RepoTags {
			if reference.MatchesStored(ref, t) {
				picked = append(picked, e)
				break
			}
		}
	}
	var all []string
	for _, e := range entries {
		if len(e.RepoTags) == 0 {
			all = append(all, "(untagged) "+e.Config)
		}
		all = append(all, e.RepoTags...)
	}
	sort.Strings(all)
	switch {
	case len(picked) == 0 && ref != "":
		return nil, nil, fmt.Errorf("%s has no image named %q (it has: %s): %w", a.describe(), ref, strings.Join(all, ", "), ErrNotFound)
	case len(picked) == 0:
		return nil, nil, fmt.Errorf("%s: manifest.json lists no images: %w", a.describe(), ErrCorrupt)
	case len(picked) > 1:
		return nil, nil, &kindError{msg: fmt.Sprintf("%s holds %d images; name one as %s:NAME (names: %s)", a.describe(), len(picked), a.path, strings.Join(all, ", ")), kind: ErrAmbiguous}
	}
	e := picked[0]
	cfg, err := a.meta(ctx, e.Config)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: config %s named by manifest.json is missing: %w", a.describe(), e.Config, ErrCorrupt)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: config %s named by manifest.json: %w", a.describe(), e.Config, err)
	}
	img := &image.Image{Transport: "docker-archive", RepoTags: e.RepoTags}
	sum := sha256.Sum256(cfg)
	img.ID = "sha256:" + hex.EncodeToString(sum[:])
	if err := applyConfig(img, cfg); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", a.describe(), err)
	}
	if want := configDigestFromPath(e.Config); want != "" && want != img.ID {
		// Edited archives exist in the wild (and in go-containerregistry's
		// test data); the content is what the image is, so say so and go on.
		img.Notes = append(img.Notes, fmt.Sprintf("config file %s is named for %s but its content is %s", e.Config, want, img.ID))
	}
	if len(e.Layers) != len(img.Config.RootFS.DiffIDs) {
		return nil, nil, fmt.Errorf("%s: manifest.json lists %d layers but the config has %d diff_ids: %w", a.describe(), len(e.Layers), len(img.Config.RootFS.DiffIDs), ErrCorrupt)
	}
	paths := make([]string, len(e.Layers))
	for i, p := range e.Layers {
		diffID := img.Config.RootFS.DiffIDs[i]
		l := image.Layer{DiffID: diffID, Size: -1, UncompressedSize: -1}
		ent, err := a.resolve(p)
		if err != nil {
			if src, ok := e.LayerSources[diffID]; ok {
				// A foreign layer (Windows base) that docker save leaves out.
				l.Digest, l.Size, l.MediaType, l.URLs = src.Digest, src.Size, src.MediaType, nil
				img.Layers = append(img.Layers, l)
				paths[i] = ""
				continue
			}
			return nil, nil, fmt.Errorf("%s: layer %s named by manifest.json is missing: %w", a.describe(), p, ErrCorrupt)
		}
		paths[i] = ent.name
		l.Size = ent.size
		if d := configDigestFromPath(ent.name); strings.HasPrefix(ent.name, "blobs/") && d != "" {
			l.Digest = d
		}
		if c := detect(ent.head); c == compNone {
			l.UncompressedSize = ent.size
			l.MediaType = image.MediaTypeOCILayer
		} else if c == compGzip {
			l.MediaType = image.MediaTypeOCILayerGzip
		} else if c == compZstd {
			l.MediaType = image.MediaTypeOCILayerZstd
		}
		if l.Digest == "" && l.UncompressedSize >= 0 {
			// The stored blob is the uncompressed tar: its digest is the diff_id.
			l.Digest = diffID
		}
		img.Layers = append(img.Layers, l)
	}
	img.Pair()
	open := func(ctx context.Context, i int) (io.ReadCloser, error) {
		if paths[i] == "" {
			return nil, fmt.Errorf("foreign layer %s is not in the archive: %w", img.Layers[i].Digest, ErrNotFound)
		}
		return a.openEntry(ctx, paths[i])
	}
	return img, open, nil
}

// configDigestFromPath recovers a digest from "<hex>.json" or
// "blobs/sha256/<hex>", so a config can be checked against its own name.
func configDigestFromPath(p string) string {
	base := p[strings.LastIndex(p, "/")+1:]
	base = strings.TrimSuffix(base, ".json")
	if len(base) != 64 || strings.Trim(base, "0123456789abcdef") != "" {
		return ""
	}
	if strings.HasPrefix(p, "blobs/") && !strings.HasPrefix(p, "blobs/sha256/") {
		return ""
	}
	return "sha256:" + base
}

// v1Image reads the pre-Docker-1.10 layout: repositories names the top
// layer, each <id>/json links to its parent and holds that step's config,
// each <id>/layer.tar is that step's tar. diff_ids were never recorded, so
// they are computed by hashing the layer tars (local files, streamed).
func (a *archive) v1Image(ctx context.Context, reposJSON []byte, ref string) (*image.Image, layerOpener, error) {
	var repos map[string]map[string]string
	if err := json.Unmarshal(reposJSON, &repos); err != nil {
		return nil, nil, fmt.Errorf("%s: repositories: %w (%w)", a.describe(), err, ErrCorrupt)
	}
	type named struct{ name, id string }
	var all []named
	for repo, tags := range repos {
		for tag, id := range tags {
			all = append(all, named{repo + ":" + tag, id})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	var picked []named
	for _, n := range all {
		if ref == "" || reference.MatchesStored(ref, n.name) {
			picked = append(picked, n)
		}
	}
	var names []string
	for _, n := range all {
		names = append(names, n.name)
	}
	if len(picked) == 0 {
		return nil, nil, fmt.Errorf("%s has no image named %q (it has: %s): %w", a.describe(), ref, strings.Join(names, ", "), ErrNotFound)
	}
	if len(picked) > 1 && !allSame(picked, func(n named) string { return n.id }) {
		return nil, nil, &kindError{msg: fmt.Sprintf("%s holds %d images; name one as %s:NAME (names: %s)", a.describe(), len(picked), a.path, strings.Join(names, ", ")), kind: ErrAmbiguous}
	}
	// Walk from the top layer to the base, then reverse.
	var chain []v1Compat
	for id := picked[0].id; id != ""; {
		b, err := a.meta(ctx, id+"/json")
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: layer %s/json is missing: %w", a.describe(), id, ErrCorrupt)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: layer %s/json: %w", a.describe(), id, err)
		}
		var v v1Compat
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, nil, fmt.Errorf("%s: %s/json: %w (%w)", a.describe(), id, err, ErrCorrupt)
		}
		if v.ID == "" {
			v.ID = id
		}
		chain = append(chain, v)
		id = v.Parent
		if len(chain) > 1000 {
			return nil, nil, fmt.Errorf("%s: parent chain loops: %w", a.describe(), ErrCorrupt)
		}
	}
	img := &image.Image{Transport: "docker-archive", RepoTags: []string{picked[0].name}}
	var paths []string
	for i := len(chain) - 1; i >= 0; i-- {
		v := chain[i]
		diffID, size, err := a.hashEntry(ctx, v.ID+"/layer.tar")
		if err != nil {
			return nil, nil, err
		}
		empty := diffID == emptyTarDiffID
		img.History = append(img.History, image.HistoryEntry{History: image.History{Created: v.Created, Author: v.Author, Comment: v.Comment, CreatedBy: strings.Join(v.ContainerConfig.Cmd, " "), EmptyLayer: empty}})
		if !empty {
			img.Config.RootFS.DiffIDs = append(img.Config.RootFS.DiffIDs, diffID)
			img.Layers = append(img.Layers, image.Layer{Digest: diffID, DiffID: diffID, Size: size, UncompressedSize: size, MediaType: image.MediaTypeOCILayer})
			paths = append(paths, v.ID+"/layer.tar")
		}
		if i == 0 {
			if err := schema1Config(img, v); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", a.describe(), err)
			}
		}
	}
	img.Platform = image.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
	img.Notes = append(img.Notes, "pre-1.10 docker save: config rebuilt from the top layer's json; diff_ids computed from the layer tars")
	img.Pair()
	return img, func(ctx context.Context, i int) (io.ReadCloser, error) { return a.openEntry(ctx, paths[i]) }, nil
}

// allSame reports whether every element has the same id as the first.
func allSame[T any](xs []T, id func(T) string) bool {
	for _, x := range xs[1:] {
		if id(x) != id(xs[0]) {
			return false
		}
	}
	return true
}

func (a *archive) hashEntry(ctx context.Context, name string) (string, int64, error) {
	rc, err := a.openEntry(ctx, name)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrCorrupt
		}
		return "", 0, fmt.Errorf("%s: %s: %w", a.describe(), name, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, fmt.Errorf("%s: read %s: %w (%w)", a.describe(), name, err, ErrCorrupt)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, ctx.Err()
}
