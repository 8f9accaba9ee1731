package waste

import "strings"

// cacheRule recognises what a package manager or build tool leaves behind
// that the running image never reads, and says how to avoid shipping it.
type cacheRule struct {
	kind string
	// prefixes are matched at the root, fragments anywhere (after a "/"),
	// both against "/"+path.
	prefixes, fragments []string
	fix                 string
}

var cacheRules = []cacheRule{
	{kind: "apt-lists", prefixes: []string{"/var/lib/apt/lists/"},
		fix: "run apt-get update, install and `rm -rf /var/lib/apt/lists/*` in one RUN, or use RUN --mount=type=cache,target=/var/lib/apt/lists"},
	{kind: "apt-archives", prefixes: []string{"/var/cache/apt/"},
		fix: "run `apt-get clean` in the RUN that installs, or use RUN --mount=type=cache,target=/var/cache/apt"},
	{kind: "apk", prefixes: []string{"/var/cache/apk/", "/etc/apk/cache/"},
		fix: "use `apk add --no-cache`, or RUN --mount=type=cache,target=/var/cache/apk"},
	{kind: "dnf/yum", prefixes: []string{"/var/cache/dnf/", "/var/cache/yum/"},
		fix: "run `dnf clean all` (yum clean all) in the RUN that installs, or use RUN --mount=type=cache,target=/var/cache/dnf"},
	{kind: "pip", fragments: []string{"/.cache/pip/"},
		fix: "use `pip install --no-cache-dir`, or RUN --mount=type=cache,target=/root/.cache/pip"},
	{kind: "npm", fragments: []string{"/.npm/_cacache/"},
		fix: "run `npm cache clean --force` in the RUN that installs, or use RUN --mount=type=cache,target=/root/.npm"},
	{kind: "yarn", fragments: []string{"/.cache/yarn/", "/.yarn/berry/cache/"},
		fix: "run `yarn cache clean` in the RUN that installs, or use RUN --mount=type=cache,target=/usr/local/share/.cache/yarn"},
	{kind: "go-build", fragments: []string{"/.cache/go-build/", "/go/pkg/mod/cache/download/"},
		fix: "use RUN --mount=type=cache,target=/root/.cache/go-build (and /go/pkg/mod), or build in another stage and COPY only the binary"},
}

// cacheKind names the cache a path belongs to ("" for none).
func cacheKind(p string) string {
	if !maybeCache(p) {
		return ""
	}
	s := "/" + p
	for _, r := range cacheRules {
		for _, pre := range r.prefixes {
			if strings.HasPrefix(s, pre) {
				return r.kind
			}
		}
		for _, f := range r.fragments {
			if strings.Contains(s, f) {
				return r.kind
			}
		}
	}
	return ""
}

// maybeCache is a cheap first test (most paths hold none of the words).
func maybeCache(p string) bool {
	return strings.Contains(p, "cache") || strings.Contains(p, "apt/lists") || strings.Contains(p, ".npm/")
}

// cacheFix is the fix for a cache kind.
func cacheFix(kind string) string {
	for _, r := range cacheRules {
		if r.kind == kind {
			return r.fix
		}
	}
	return ""
}
