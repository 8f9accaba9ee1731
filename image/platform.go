package image

import (
	"fmt"
	"runtime"
	"strings"
)

// HostPlatform is the default platform, chosen as docker does: images run
// on Linux, so a macOS or Windows host still wants linux/<its arch>.
func HostPlatform() Platform {
	p := Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// Satisfies reports whether an image of platform p runs where want is
// asked for: os and architecture must match, and a requested variant must
// match too (arm64's implicit v8 included).
func (p Platform) Satisfies(want Platform) bool {
	if p.OS != want.OS || p.Architecture != want.Architecture {
		return false
	}
	return want.Variant == "" || p.NormVariant() == want.NormVariant()
}

// NormVariant is the variant with arm64's implicit "v8" made explicit.
func (p Platform) NormVariant() string {
	if p.Architecture == "arm64" && (p.Variant == "" || p.Variant == "v8") {
		return "v8"
	}
	return p.Variant
}

// ParsePlatform reads os/arch[/variant] ("linux/arm64/v8").
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return Platform{}, fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/arm64/v8", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}
