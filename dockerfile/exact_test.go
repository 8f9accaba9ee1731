package dockerfile

import (
	"testing"

	"github.com/strata-tool/strata/image"
)

func TestExact(t *testing.T) {
	img := &image.Image{Layers: make([]image.Layer, 3)}
	img.SetHistory([]image.History{
		{CreatedBy: "COPY busybox /bin/busybox # buildkit", Comment: "buildkit.dockerfile.v0"},
		{CreatedBy: "RUN /bin/sh -c echo hi # buildkit", Comment: "buildkit.dockerfile.v0"},
		{CreatedBy: "RUN /bin/sh -c echo extra # buildkit", Comment: "buildkit.dockerfile.v0"},
	})
	tests := []struct {
		name, text, want string
		notes            int
	}{
		{name: "comment first", text: "FROM scratch\nCOPY busybox /bin/busybox\nRUN echo hi\nRUN echo extra\n",
			want: "# from provenance\nFROM scratch\nCOPY busybox /bin/busybox\nRUN echo hi\nRUN echo extra\n"},
		{name: "directives stay first", text: "# escape=`\n# check=skip=all\nFROM scratch\nRUN echo hi\nRUN echo extra\n",
			want: "# escape=`\n# check=skip=all\n# from provenance\nFROM scratch\nRUN echo hi\nRUN echo extra\n"},
		{name: "history RUN missing from the Dockerfile is noted", text: "FROM scratch\nRUN echo hi\n",
			want: "# from provenance\nFROM scratch\nRUN echo hi\n", notes: 1},
		{name: "Dockerfile RUN missing from history is noted", text: "FROM scratch\nRUN echo hi\nRUN echo extra\nRUN echo never\n",
			want: "# from provenance\nFROM scratch\nRUN echo hi\nRUN echo extra\nRUN echo never\n", notes: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Exact(img, []byte(tc.text), "from provenance")
			if res.Text != tc.want {
				t.Errorf("got\n%s\nwant\n%s", res.Text, tc.want)
			}
			if len(res.Notes) != tc.notes {
				t.Errorf("notes %q, want %d", res.Notes, tc.notes)
			}
			if err := Validate(res.Text); err != nil {
				t.Error(err)
			}
		})
	}
}
