// Command decompress is the baseline bench/secrets.sh puts strata beside:
// one decompression pass over every layer of an image — each blob fetched
// or read once, gunzipped where it is gzip, and walked with archive/tar,
// every file's content read and dropped — with nothing of strata's in the
// way (no digest checks, no index). It prints the bytes read.
//
//	go run ./bench/decompress REGISTRY/REPO:TAG   (plain HTTP, anonymous)
//	go run ./bench/decompress IMAGE.tar           (a legacy docker save)
//	go run ./bench/decompress -sha256 FILE...     (only sha256 each file: the cost of digest checks)
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-sha256" {
		n, err := hashFiles(os.Args[2:])
		if err != nil {
			fmt.Fprintln(os.Stderr, "decompress:", err)
			os.Exit(1)
		}
		fmt.Println(n)
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: decompress REGISTRY/REPO:TAG | IMAGE.tar | -sha256 FILE...")
		os.Exit(2)
	}
	var n int64
	var err error
	if strings.HasSuffix(os.Args[1], ".tar") {
		n, err = fromSave(os.Args[1])
	} else {
		n, err = fromRegistry(os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "decompress:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

// hashFiles is what checking digests costs: Go's sha256 (as strata's
// checks use it) of each file, one after the other, on one core.
func hashFiles(paths []string) (int64, error) {
	var n int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return n, err
		}
		h := sha256.New()
		k, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// walk decompresses (if gzip) and walks one layer, reading all content.
func walk(r io.Reader) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var src io.Reader = br
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		src = zr
	}
	tr := tar.NewReader(src)
	for {
		if _, err := tr.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return err
		}
	}
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func fromRegistry(ref string) (int64, error) {
	host, rest, _ := strings.Cut(ref, "/")
	repo, tag, _ := strings.Cut(rest, ":")
	req, _ := http.NewRequest("GET", "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	var m struct{ Layers []struct{ Digest string } }
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, l := range m.Layers {
		resp, err := http.Get("http://" + host + "/v2/" + repo + "/blobs/" + l.Digest)
		if err != nil {
			return 0, err
		}
		c := &counter{r: resp.Body}
		err = walk(c)
		resp.Body.Close()
		total += c.n
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

func fromSave(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// One pass over the archive: layer tars are walked where they lie.
	c := &counter{r: f}
	tr := tar.NewReader(c)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return c.n, nil
		}
		if err != nil {
			return 0, err
		}
		if strings.HasSuffix(h.Name, "/layer.tar") || strings.HasPrefix(h.Name, "blobs/") {
			if err := walk(tr); err != nil {
				return 0, fmt.Errorf("%s: %w", h.Name, err)
			}
		}
	}
}
