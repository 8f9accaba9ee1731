package image

import "runtime"

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
