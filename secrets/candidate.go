package secrets

import (
	"path"
	"strings"
)

// Which files a scan reads is decided from the layer index alone — name,
// path, size — so the cost follows candidate bytes, not image size.

// secretNames are file names that hold credentials by purpose.
var secretNames = map[string]bool{
	".env": true, ".envrc": true, ".npmrc": true, ".yarnrc": true, ".yarnrc.yml": true, ".pypirc": true, ".netrc": true,
	"_netrc": true, ".git-credentials": true, ".gitconfig": true, ".dockercfg": true, "config.json": true,
	"credentials": true, "credentials.json": true, "id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true,
	".htpasswd": true, ".pgpass": true, ".my.cnf": true, ".s3cfg": true, ".boto": true, "kubeconfig": true,
	"wp-config.php": true, "settings.py": true, "secrets": true, "secret": true, "token": true, ".bashrc": true,
	".profile": true, ".bash_history": true, ".zsh_history": true, ".ash_history": true, ".sh_history": true,
	"dockerfile": true, "makefile": true,
}

// textExt are extensions of text files where credentials turn up.
var textExt = map[string]bool{
	".env": true, ".sh": true, ".bash": true, ".zsh": true, ".conf": true, ".cfg": true, ".cnf": true, ".ini": true,
	".json": true, ".yaml": true, ".yml": true, ".toml": true, ".properties": true, ".xml": true, ".txt": true,
	".py": true, ".js": true, ".mjs": true, ".cjs": true, ".ts": true, ".rb": true, ".go": true, ".php": true,
	".java": true, ".kt": true, ".scala": true, ".cs": true, ".pl": true, ".ps1": true, ".tf": true, ".tfvars": true,
	".tfstate": true, ".sql": true, ".pem": true, ".key": true, ".p8": true, ".ppk": true, ".ovpn": true,
	".kubeconfig": true, ".npmrc": true, ".netrc": true, ".credentials": true, ".secret": true, ".secrets": true,
	".token": true, ".gradle": true, ".log": true, ".service": true, ".list": true,
}

// skipDirs hold system files that are large in number and hold no
// credentials of the image's own (documentation, locales, time zones,
// public CA certificates, package manager metadata).
var skipDirs = []string{
	"proc/", "sys/", "dev/", "usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/",
	"usr/share/i18n/", "usr/share/zoneinfo/", "usr/lib/locale/", "usr/share/mime/", "usr/share/icons/",
	"usr/share/fonts/", "usr/share/terminfo/", "lib/terminfo/", "etc/ssl/certs/", "usr/share/ca-certificates/",
	"etc/ca-certificates/", "var/lib/dpkg/info/", "var/cache/", "usr/share/common-licenses/", "usr/share/perl",
	"usr/lib/x86_64-linux-gnu/perl", "usr/share/X11/", "usr/share/bash-completion/", ".git/objects/",
}

// candidate decides from the index whether a file's content is scanned.
func candidate(p string, size, max int64) bool {
	if size <= 0 || size > max {
		return false
	}
	for _, d := range skipDirs {
		if strings.HasPrefix(p, d) || strings.Contains(p, "/"+d) && strings.HasPrefix(d, ".") {
			return false
		}
	}
	base := strings.ToLower(path.Base(p))
	if secretNames[base] || strings.HasPrefix(base, ".env.") {
		return true
	}
	ext := path.Ext(base)
	if ext == "" {
		// Dotfiles (.bashrc, .npmrc) and configuration under etc/ and
		// home directories; extensionless files elsewhere are mostly
		// executables.
		return strings.HasPrefix(base, ".") || strings.HasPrefix(p, "etc/") || strings.HasPrefix(p, "root/") || strings.HasPrefix(p, "home/")
	}
	return textExt[ext]
}
