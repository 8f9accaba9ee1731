package testenv

import (
	"os"
	"path/filepath"
	"sort"
)

// rpm builds the spec files with rpmbuild, installs them with Debian's
// rpm into two roots (install; then upgrade one and add another) and
// copies the roots in two steps.
func (b pkgBuilder) rpm(ref string) [2]string {
	b.t.Helper()
	ctx := filepath.Join(b.dir, "rpm")
	roots := [2]string{filepath.Join(ctx, "state1"), filepath.Join(ctx, "state2")}
	if _, err := os.Stat(filepath.Join(roots[1], "var/lib/rpm/rpmdb.sqlite")); err != nil {
		os.RemoveAll(ctx)
		top := filepath.Join(ctx, "build")
		specs, _ := filepath.Glob(filepath.Join(b.src, "rpm", "*.spec"))
		sort.Strings(specs)
		if len(specs) == 0 {
			b.t.Fatal("no rpm spec files in testdata/packages/rpm")
		}
		for _, s := range specs {
			run(b.t, "rpmbuild", "--quiet", "-bb", "--define", "_topdir "+top, s)
		}
		rpm := func(name string) string { return filepath.Join(top, "RPMS", "noarch", name+".noarch.rpm") }
		db := []string{"--dbpath", "/var/lib/rpm"}
		run(b.t, "rpm", append([]string{"--root", roots[0], "--initdb"}, db...)...)
		run(b.t, "rpm", append([]string{"--root", roots[0], "-i", "--nodeps", rpm("strata-r1-1.0-1"), rpm("strata-r2-0.9-3")}, db...)...)
		run(b.t, "cp", "-a", roots[0], roots[1])
		run(b.t, "rpm", append([]string{"--root", roots[1], "-U", "--nodeps", rpm("strata-r1-1.1-1"), rpm("strata-r3-5.2-1")}, db...)...)
		write(b.t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nCOPY state1/ /\nCOPY state2/ /\n")
	}
	b.build(ref, ctx, "Dockerfile")
	return roots
}

// node installs testdata/packages/node/package.json with npm from the
// npm registry and copies the tree FROM scratch.
func (b pkgBuilder) node(ref string) string {
	b.t.Helper()
	ctx := filepath.Join(b.dir, "node")
	app := filepath.Join(ctx, "app")
	if _, err := os.Stat(filepath.Join(app, "node_modules", "express", "package.json")); err != nil {
		os.RemoveAll(ctx)
		mkdir(b.t, app)
		pj, err := os.ReadFile(filepath.Join(b.src, "node", "package.json"))
		if err != nil {
			b.t.Fatal(err)
		}
		write(b.t, filepath.Join(app, "package.json"), string(pj))
		output(b.t, app, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error")
		write(b.t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nCOPY app/ /srv/app/\n")
	}
	b.build(ref, ctx, "Dockerfile")
	return app
}

// gobin builds gohello, and copies it, crane (a Go binary from the tool
// cache) and busybox (a large executable that is not Go) FROM scratch.
func (b pkgBuilder) gobin(ref string) map[string]string {
	b.t.Helper()
	ctx := filepath.Join(b.dir, "go")
	bins := map[string]string{
		"usr/local/bin/gohello": filepath.Join(ctx, "gohello"),
		"usr/bin/crane":         filepath.Join(ctx, "crane"),
	}
	if _, err := os.Stat(bins["usr/bin/crane"]); err != nil {
		os.RemoveAll(ctx)
		mkdir(b.t, ctx)
		tools := os.Getenv("STRATA_TOOLS")
		if tools == "" {
			home, _ := os.UserHomeDir()
			tools = filepath.Join(home, ".cache", "strata", "tools")
		}
		run(b.t, "go", "-C", filepath.Join(b.src, "gohello"), "build", "-trimpath", "-o", bins["usr/local/bin/gohello"], ".")
		run(b.t, "cp", filepath.Join(tools, "bin", "crane"), bins["usr/bin/crane"])
		run(b.t, "cp", "/bin/busybox", filepath.Join(ctx, "busybox"))
		write(b.t, filepath.Join(ctx, "Dockerfile"),
			"FROM scratch\nCOPY gohello /usr/local/bin/gohello\nCOPY crane /usr/bin/crane\nCOPY busybox /bin/busybox\n")
	}
	b.build(ref, ctx, "Dockerfile")
	return bins
}
