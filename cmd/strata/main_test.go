package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// runCLI runs the command in-process, on a fresh command tree, and returns
// exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestErrorsAreOneLineExitOne(t *testing.T) {
	fixtures := testenv.Fixtures(t)
	bundle := filepath.Join(fixtures, "images", "ggcr", "tarball", "test_bundle.tar")
	cases := []struct {
		args []string
		say  string
	}{
		{[]string{"layers", "./no/such/file.tar"}, "no such file"},
		{[]string{"layers", bundle}, "test_image_1, test_image_2"},
		{[]string{"layers", "-o", "yaml", bundle + ":test_image_1"}, "want text or json"},
		{[]string{"layers", "--platform", "linux", bundle + ":test_image_1"}, "os/arch"},
		{[]string{"inspect", filepath.Join(fixtures, "images", "ggcr", "layout", "test_index_media_type")}, "not a container image config"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1", c.args, code)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "strata: ") || !strings.Contains(stderr, c.say) {
			t.Errorf("%v: stderr %q: want one 'strata: …' line saying %q", c.args, stderr, c.say)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stack trace on stderr", c.args)
		}
	}
}

func TestLayersJSONMatchesHistory(t *testing.T) {
	img := filepath.Join(testenv.Fixtures(t), "images", "dive", "test-docker-image.tar")
	code, out, stderr := runCLI(t, "layers", "-o", "json", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep layersReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// dive's test image: 15 history steps, 14 layers, step 2 is CMD ["sh"].
	if len(rep.Steps) != 15 || rep.Layers != 14 || !rep.Steps[1].Empty || rep.Steps[1].Instruction != `CMD ["sh"]` {
		t.Fatalf("report: %d steps, %d layers, step 2 %+v", len(rep.Steps), rep.Layers, rep.Steps[1])
	}
	if rep.Steps[3].Instruction != "RUN mkdir -p /root/example/really/nested" {
		t.Errorf("step 4 instruction %q", rep.Steps[3].Instruction)
	}
	var sum int64
	for _, s := range rep.Steps {
		if s.Layer != nil {
			sum += s.UncompressedSize
		}
	}
	if sum != rep.UncompressedSize || sum <= 0 {
		t.Errorf("total %d, sum of rows %d", rep.UncompressedSize, sum)
	}
	code, text, _ := runCLI(t, "layers", img)
	if code != 0 || !strings.Contains(text, "14 layers") || !strings.Contains(text, "(empty)") {
		t.Errorf("text output:\n%s", text)
	}
}
