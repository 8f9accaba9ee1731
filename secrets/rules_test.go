package secrets

import (
	"strings"
	"testing"
)

// tok builds a token-shaped string of n characters cycling through a
// mixed alphabet (built here so no secret-shaped literal sits in the
// repository).
func tok(n int) string {
	const a = "q7WmZ2xK9pLr4TvB8nYc3HsJ6fGd5AeU1oIi0"
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(a[(i*7+i/5)%len(a)])
	}
	return b.String()
}

func TestRules(t *testing.T) {
	pem := "-----BEGIN EC PRIVATE KEY-----\n" + tok(64) + "\n" + tok(40) + "\n-----END EC PRIVATE KEY-----"
	cases := []struct {
		text string
		rule string // "" = nothing may be found
		want string // the secret
	}{
		{"key=" + "AKIA" + strings.ToUpper("QX7ZM2KP4LRT5VBN"), "aws-access-key-id", "AKIAQX7ZM2KP4LRT5VBN"},
		{"id AKIAIOSFODNN7EXAMPLE", "", ""},
		{"aws_secret_access_key = " + tok(40), "aws-secret-access-key", tok(40)},
		{"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", ""},
		{"GITHUB=" + "ghp_" + tok(36), "github-token", "ghp_" + tok(36)},
		{"t: github_pat_" + tok(22) + "_" + tok(59), "github-fine-grained-token", "github_pat_" + tok(22) + "_" + tok(59)},
		{"CI_TOKEN glpat-" + tok(20), "gitlab-token", "glpat-" + tok(20)},
		{"xoxb-123456789012-" + tok(24), "slack-token", "xoxb-123456789012-" + tok(24)},
		{"url: https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + tok(24), "slack-webhook", "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + tok(24)},
		{`stripe = "sk_` + `live_` + tok(24) + `"`, "stripe-live-key", "sk_live_" + tok(24)},
		{`stripe = "sk_` + `test_` + tok(24) + `"`, "", ""},
		{"maps AIza" + tok(35) + " end", "google-api-key", "AIza" + tok(35)},
		{"npm_" + tok(36), "npm-token", "npm_" + tok(36)},
		{"//r/:_authToken=" + tok(30), "npmrc-auth-token", tok(30)},
		{"//r/:_authToken=${NPM_TOKEN}", "", ""},
		{pem, "private-key", pem},
		{"docs: -----BEGIN RSA PRIVATE KEY----- goes here", "", ""},
		{`{"auths":{"r.io":{"auth":"ZGVwbG95OnMzY3JldFBhc3M="}}}`, "docker-config-auth", "ZGVwbG95OnMzY3JldFBhc3M="},
		{`{"auths":{"r.io":{"auth":"ZGVwbG95Og=="}}}`, "", ""}, // "deploy:" — no password
		{"DATABASE_URL=postgres://app:" + tok(14) + "@db:5432/app", "url-password", tok(14)},
		{"postgres://app:${DB_PASS}@db/app https://user@example.com", "", ""},
		{"DB_PASSWORD=" + tok(18), "password-assignment", tok(18)},
		{"DB_PASSWORD=changeme", "", ""},
		{"PASSWORD=aaaaaaaaaaaa", "", ""}, // no entropy
		{"TOKEN_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", ""},
		{"session_token: 123e4567-e89b-12d3-a456-426614174000", "", ""},
		{"API_KEY=$API_KEY SECRET=${SECRET} PASSWORD_FILE=/run/secrets/pw SECRET_NAME=db-credentials", "", ""},
		{"git commit e3b0c44298fc1c149afbf4c8996fb92427ae41e4", "", ""},
	}
	for _, c := range cases {
		ms := scanText([]byte(c.text))
		if c.rule == "" {
			for _, m := range ms {
				t.Errorf("%q: flagged by %s: %q", c.text, m.rule.id, m.secret)
			}
			continue
		}
		found := false
		for _, m := range ms {
			if m.rule.id == c.rule && m.secret == c.want {
				found = true
			} else if m.rule.fallback > 0 {
				t.Errorf("%q: fallback %s beside %s", c.text, m.rule.id, c.rule)
			}
		}
		if !found {
			t.Errorf("%q: %s not found (got %v)", c.text, c.rule, ms)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"short": "…(5 chars)",
		tok(12): tok(2) + "…(12 chars)",
		tok(20): tok(4) + "…(20 chars)",
		tok(40): tok(6) + "…(40 chars)",
		"-----BEGIN RSA PRIVATE KEY-----\n" + tok(80): "-----BEGIN RSA PRIVATE KEY-----…(112 chars)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%.20q) = %q, want %q", in, got, want)
		}
	}
}

func TestCandidates(t *testing.T) {
	for p, want := range map[string]bool{
		"app/.env": true, "root/.ssh/id_rsa": true, "root/.docker/config.json": true, "srv/app/settings.py": true,
		"etc/nginx/nginx.conf": true, "home/u/.bash_history": true, "app/.env.production": true,
		"usr/bin/python3": false, "usr/lib/libc.so.6": false, "usr/share/doc/x/README.txt": false,
		"etc/ssl/certs/ca.pem": false, "app/logo.png": false, "usr/share/zoneinfo/UTC": false,
	} {
		if got := candidate(p, 100, DefaultMaxFileSize); got != want {
			t.Errorf("candidate(%s) = %v, want %v", p, got, want)
		}
	}
	if candidate("app/.env", DefaultMaxFileSize+1, DefaultMaxFileSize) || candidate("app/.env", 0, DefaultMaxFileSize) {
		t.Error("size bounds not applied")
	}
}
