package diff

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/strata-tool/strata/image"
)

// labelled is an image with n LABEL steps (the same in every image) and
// the labels in its config with value.
func labelled(n int, value string) *image.Image {
	cc := image.ContainerConfig{Labels: map[string]string{}}
	var h []image.History
	for i := range n {
		cc.Labels[fmt.Sprintf("l%d", i)] = value
		h = append(h, image.History{CreatedBy: fmt.Sprintf("LABEL l%d=x", i), Comment: "buildkit.dockerfile.v0", EmptyLayer: true})
	}
	h = append(h, image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: "buildkit.dockerfile.v0"})
	img := &image.Image{Config: image.Config{OS: "linux", Config: cc}, Layers: []image.Layer{{DiffID: "sha256:" + value}}}
	img.SetHistory(h)
	return img
}

// TestDiffMemoryLinear: diffing images with four times the labels (each
// differing in the config, each set by a step both histories share)
// allocates about four times the memory. The history was read again for every differing label: a
// 16,000-step image took 44 s to diff.
func TestDiffMemoryLinear(t *testing.T) {
	alloc := func(n int) uint64 {
		a, b := labelled(n, "a"), labelled(n, "b")
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		Images(a, b, Options{})
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, big := alloc(250), alloc(1000)
	if ratio := float64(big) / float64(small); ratio > 6 {
		t.Errorf("250 labels allocate %d bytes, 1000 labels %d: ×%.1f for ×4", small, big, ratio)
	}
}
