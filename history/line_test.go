package history

import (
	"testing"

	"github.com/strata-tool/strata/image"
)

func TestLine(t *testing.T) {
	img := &image.Image{}
	img.SetHistory([]image.History{{CreatedBy: "/bin/sh -c #(nop)  ENV A=b"}})
	for _, c := range []struct{ createdBy, want string }{
		{"|1 VERSION=1.2.0 /bin/sh -c mkdir -p www  && echo hi", "RUN mkdir -p www && echo hi"},
		{"/bin/sh -c #(nop) COPY file:73e2b2d4 in /bin/busybox ", "COPY file:73e2b2d4 /bin/busybox"},
		{`/bin/sh -c #(nop)  CMD ["httpd" "-f"]`, `CMD ["httpd", "-f"]`},
		{`/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "wget -q -O- http://x/ || exit 1"] "30s" "3s" "0s" '\x03'}`, "HEALTHCHECK CMD wget -q -O- http://x/ || exit 1"},
		{"/bin/sh -c #(nop)  EXPOSE 8080/tcp", "EXPOSE 8080/tcp"},
		{"RUN /bin/sh -c apk add curl # buildkit", "RUN apk add curl"},
		{"COPY --chown=1000:1000 a.txt /a.txt # buildkit", "COPY --chown=1000:1000 a.txt /a.txt"},
	} {
		got := New(img).Translate(image.HistoryEntry{History: image.History{CreatedBy: c.createdBy}, Layer: -1}).Line()
		if got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.createdBy, got, c.want)
		}
	}
}
