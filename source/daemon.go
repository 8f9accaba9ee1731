package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/strata-tool/strata/image"
)

// daemonSource is an image in a Docker-API daemon (dockerd, or podman's
// compatible service). Metadata comes from image inspect + history only;
// a full `docker save` is spooled to a temp file the first time a layer is
// asked for, never buffered in memory.
type daemonSource struct {
	img    *image.Image
	client *engineClient
	ref    string

	once     sync.Once
	spooled  *archive
	spool    string
	openErr  error
	index    map[string]int // diff_id -> layer index within the save
	saveImg  *image.Image
	saveOpen layerOpener
}

type engineClient struct {
	http *http.Client
	base string // http://docker or http://host:port
	host string // for messages
}

func newEngineClient(host string, t Timeouts) (*engineClient, error) {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %w", host, err)
	}
	c := &engineClient{host: host}
	var tr *http.Transport
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr = baseTransport(t, func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: t.Connect}
			return d.DialContext(ctx, "unix", sock)
		})
		tr.Proxy = nil // a socket is never reached through HTTP_PROXY
		c.base = "http://docker"
	case "tcp", "http":
		tr = baseTransport(t, nil)
		c.base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("DOCKER_HOST %q: only unix:// and tcp:// are supported: %w", host, ErrUnsupported)
	}
	c.http = &http.Client{Transport: &deadlineTransport{next: tr, peer: "Docker daemon " + host, header: t.Header, idle: t.Idle}}
	return c, nil
}

func (c *engineClient) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var te *TimeoutError
		if errors.As(err, &te) {
			return nil, te
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("cannot reach the Docker daemon at %s: %w", c.host, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var msg struct {
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &msg)
	if msg.Message == "" {
		msg.Message = strings.TrimSpace(string(b))
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("daemon %s: %s: %w", c.host, msg.Message, ErrNotFound)
	}
	return nil, fmt.Errorf("daemon %s answered HTTP %d: %s", c.host, resp.StatusCode, msg.Message)
}

func (c *engineClient) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := readAllLimited(resp.Body, maxMetadata, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("daemon %s: %s: %w (%w)", c.host, path, err, ErrCorrupt)
	}
	return nil
}

type engineInspect struct {
	ID            string                `json:"Id"`
	RepoTags      []string              `json:"RepoTags"`
	RepoDigests   []string              `json:"RepoDigests"`
	Created       string                `json:"Created"`
	Author        string                `json:"Author"`
	Comment       string                `json:"Comment"`
	DockerVersion string                `json:"DockerVersion"`
	Architecture  string                `json:"Architecture"`
	Variant       string                `json:"Variant"`
	Os            string                `json:"Os"`
	OsVersion     string                `json:"OsVersion"`
	Config        image.ContainerConfig `json:"Config"`
	RootFS        struct {
		Type   string   `json:"Type"`
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
}

type engineHistory struct {
	ID        string `json:"Id"`
	Created   int64  `json:"Created"`
	CreatedBy string `json:"CreatedBy"`
	Size      int64  `json:"Size"`
	Comment   string `json:"Comment"`
}

// openDaemon opens an image of a Docker-API daemon. A daemon resolves a
// name to one image, so there is one Source, whatever the platforms.
func openDaemon(ctx context.Context, ref string, opts Options) ([]Source, error) {
	t := opts.Timeouts.withDefaults()
	c, err := newEngineClient(opts.DockerHost, t)
	if err != nil {
		return nil, err
	}
	mctx, cancel, timedOut := metadataContext(ctx, t, "Docker daemon "+c.host)
	defer cancel()
	q := url.PathEscape(ref)
	var in engineInspect
	if err := c.getJSON(mctx, "/images/"+q+"/json", &in); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", ref, timedOut(err))
	}
	var hist []engineHistory
	if err := c.getJSON(mctx, "/images/"+q+"/history", &hist); err != nil {
		return nil, fmt.Errorf("history of %s: %w", ref, timedOut(err))
	}
	img := daemonImage(in, hist)
	img.Reference = "docker-daemon:" + ref
	return []Source{&daemonSource{img: img, client: c, ref: ref}}, nil
}

// daemonImage rebuilds the model from inspect + history. The history API
// has no empty_layer flag, so which steps made layers is inferred: steps
// with a size made one; among zero-size steps, RUN/COPY/ADD/WORKDIR-like
// ones are taken before metadata-only ones until the counts agree.
func daemonImage(in engineInspect, hist []engineHistory) *image.Image {
	img := &image.Image{Transport: "daemon", ID: in.ID, RepoTags: in.RepoTags}
	c := &img.Config
	if t, err := time.Parse(time.RFC3339Nano, in.Created); err == nil {
		c.Created = &t
	}
	c.Author, c.Comment, c.DockerVersion = in.Author, in.Comment, in.DockerVersion
	c.Architecture, c.Variant, c.OS, c.OSVersion = in.Architecture, in.Variant, in.Os, in.OsVersion
	c.Config = in.Config
	c.RootFS = image.RootFS{Type: firstNonEmpty(in.RootFS.Type, "layers"), DiffIDs: in.RootFS.Layers}
	img.Platform = image.Platform{OS: in.Os, Architecture: in.Architecture, Variant: in.Variant, OSVersion: in.OsVersion}
	for _, id := range in.RootFS.Layers {
		img.Layers = append(img.Layers, image.Layer{DiffID: id, Size: -1, UncompressedSize: -1})
	}
	// History arrives newest first.
	n := len(hist)
	stored := make([]image.History, n)
	for i, h := range hist {
		t := time.Unix(h.Created, 0).UTC()
		stored[n-1-i] = image.History{Created: &t, CreatedBy: h.CreatedBy, Comment: h.Comment}
	}
	sizes := make([]int64, n)
	for i, h := range hist {
		sizes[n-1-i] = h.Size
	}
	empty := inferEmpty(stored, sizes, len(img.Layers))
	for i := range stored {
		stored[i].EmptyLayer = empty[i]
	}
	img.Notes = append(img.Notes, "daemon API: empty_layer inferred from history sizes and instructions (the API does not report it)")
	img.SetHistory(stored)
	return img
}

func inferEmpty(h []image.History, sizes []int64, layers int) []bool {
	empty := make([]bool, len(h))
	need := layers
	for i := range h {
		if sizes[i] > 0 {
			need--
		} else {
			empty[i] = true
		}
	}
	// Zero-size steps most likely to have made a layer go first: RUN, COPY
	// and ADD (a RUN that only deletes has size 0), then WORKDIR (a layer in
	// BuildKit, an empty step in buildah), then metadata-only keywords.
	for rank := 0; rank < 3; rank++ {
		for i := range h {
			if need <= 0 {
				return empty
			}
			if empty[i] && layerLikelihood(h[i].CreatedBy) == rank {
				empty[i] = false
				need--
			}
		}
	}
	return empty
}

// layerLikelihood ranks a zero-size step: 0 most likely made a layer.
func layerLikelihood(createdBy string) int {
	word := instructionWord(createdBy)
	if strings.EqualFold(word, "WORKDIR") {
		return 1
	}
	for _, k := range metadataKeywords {
		if strings.EqualFold(word, k) {
			return 2
		}
	}
	return 0
}

var metadataKeywords = []string{"ENV", "LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "VOLUME", "USER", "ARG", "HEALTHCHECK", "SHELL", "STOPSIGNAL", "ONBUILD", "MAINTAINER"}

// instructionWord is the Dockerfile keyword a created_by starts with
// (after the classic builder's "/bin/sh -c #(nop)" marker), or "".
func instructionWord(createdBy string) string {
	s := strings.TrimSpace(createdBy)
	if i := strings.Index(s, "#(nop)"); i >= 0 {
		s = strings.TrimSpace(s[i+len("#(nop)"):])
	}
	word, _, _ := strings.Cut(s, " ")
	return word
}

func (d *daemonSource) Image() *image.Image { return d.img }

// OpenLayer spools `docker save` to a temp file once and serves layers from
// it, matched by diff_id.
func (d *daemonSource) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(d.img.Layers) {
		return nil, fmt.Errorf("layer %d: image has %s", i, image.Count(len(d.img.Layers), "layer"))
	}
	d.once.Do(func() { d.openErr = d.spoolSave(ctx) })
	if d.openErr != nil {
		return nil, d.openErr
	}
	j, ok := d.index[d.img.Layers[i].DiffID]
	if !ok {
		return nil, fmt.Errorf("daemon save of %s lacks layer %s: %w", d.ref, d.img.Layers[i].DiffID, ErrNotFound)
	}
	src := &storeSource{img: d.saveImg, store: d.spooled, layerOpen: d.saveOpen}
	return src.OpenLayer(ctx, j)
}

func (d *daemonSource) spoolSave(ctx context.Context) error {
	resp, err := d.client.get(ctx, "/images/"+url.PathEscape(d.ref)+"/get")
	if err != nil {
		return fmt.Errorf("save %s: %w", d.ref, err)
	}
	defer resp.Body.Close()
	f, err := os.CreateTemp("", "strata-save-*.tar")
	if err != nil {
		return err
	}
	d.spool = f.Name()
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("save %s: %w", d.ref, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	a, err := scanArchive(ctx, d.spool, -1)
	if err != nil {
		return err
	}
	found, err := a.images(ctx, selector{platform: &d.img.Platform})
	if err != nil {
		return fmt.Errorf("daemon save of %s: %w", d.ref, err)
	}
	img, open := found[0].img, found[0].open
	d.spooled, d.saveImg, d.saveOpen = a, img, open
	d.index = map[string]int{}
	for j, l := range img.Layers {
		d.index[l.DiffID] = j
	}
	return nil
}

func (d *daemonSource) ReadBlob(ctx context.Context, desc image.Descriptor, max int64) ([]byte, error) {
	return nil, fmt.Errorf("daemon images have no blobs to read (%s): %w", desc.Digest, ErrNotFound)
}

func (d *daemonSource) Close() error {
	if d.spool != "" {
		return os.Remove(d.spool)
	}
	return nil
}
