package secrets

import (
	"bytes"
	"encoding/base64"
	"math"
	"regexp"
	"strings"
	"sync"
)

// rule finds one kind of secret in text. Keywords gate the (slower)
// regular expression: a rule runs only on lines holding one of them, so
// scanning costs a few substring searches per file.
type rule struct {
	id, desc string
	// keywords are lower-case; the rule runs on a line holding any.
	keywords []string
	// re's group `group` (1 unless set) is the secret.
	re    *regexp.Regexp
	group int
	// entropy is the least Shannon entropy (bits per byte) a secret of
	// this rule has; below it the match is a word, not a key.
	entropy float64
	// check vets a match further (nil: none).
	check func(secret string) bool
	// generic rules match names and values people also use for
	// non-secrets: placeholders, hashes, UUIDs and variable references
	// are not flagged.
	generic bool
	// multiline rules run on a window of the text after a keyword, not
	// on the keyword's line.
	multiline bool
	// word rules run on the keyword's word and what follows it on its
	// line (at most 512 bytes), not on the whole line: their keywords are
	// common, and a long line would be matched again for each.
	word bool
	// needs lists bytes the text a rule runs on must hold one of (an
	// assignment's = or :, a URL password's @): a cheap test before the
	// expression.
	needs string
	// fallback ranks rules that name what more specific rules did not
	// recognise (0: a format rule; 1: a tool's token setting; 2: any
	// password/secret/token assignment): a match whose secret a rule of
	// lower rank found on the same line is left out.
	fallback int
}

var rules = []*rule{
	{id: "aws-access-key-id", desc: "AWS access key ID",
		keywords: []string{"akia", "asia", "abia", "acca"},
		re:       regexp.MustCompile(`\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`)},
	{id: "aws-secret-access-key", desc: "AWS secret access key",
		keywords: []string{"aws"}, entropy: 4.0, word: true, needs: "=:",
		re: regexp.MustCompile(`(?i)aws[a-z0-9_.-]{0,25}?(?:secret|sk)[a-z0-9_.-]{0,20}["']?\s*(?:=|:=|:|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`)},
	{id: "github-token", desc: "GitHub token (classic)",
		keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
		re:       regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36})\b`)},
	{id: "github-fine-grained-token", desc: "GitHub fine-grained personal access token",
		keywords: []string{"github_pat_"},
		re:       regexp.MustCompile(`\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b`)},
	{id: "gitlab-token", desc: "GitLab access token",
		keywords: []string{"glpat-", "glptt-", "gldt-", "glrt-"},
		re:       regexp.MustCompile(`\b((?:glpat|glptt|gldt|glrt)-[A-Za-z0-9_-]{20,})\b`)},
	{id: "slack-token", desc: "Slack token",
		keywords: []string{"xox"}, entropy: 3.0,
		re: regexp.MustCompile(`\b(xox[abposr]-[0-9A-Za-z]{8,}-[0-9A-Za-z-]{8,})\b`)},
	{id: "slack-webhook", desc: "Slack incoming webhook URL",
		keywords: []string{"hooks.slack.com"},
		re:       regexp.MustCompile(`(https://hooks\.slack\.com/services/T[A-Za-z0-9]{6,}/B[A-Za-z0-9]{6,}/[A-Za-z0-9]{20,})`)},
	{id: "stripe-live-key", desc: "Stripe live secret or restricted key",
		keywords: []string{"sk_live_", "rk_live_"},
		re:       regexp.MustCompile(`\b((?:sk|rk)_live_[0-9A-Za-z]{24,})\b`)},
	{id: "google-api-key", desc: "Google API key",
		keywords: []string{"aiza"},
		re:       regexp.MustCompile(`\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`)},
	{id: "npm-token", desc: "npm access token",
		keywords: []string{"npm_"},
		re:       regexp.MustCompile(`\b(npm_[A-Za-z0-9]{36})\b`)},
	{id: "npmrc-auth-token", desc: "npm registry auth token (.npmrc _authToken)",
		keywords: []string{"_authtoken"}, entropy: 3.0, generic: true, fallback: 1, word: true, needs: "=",
		re: regexp.MustCompile(`_authToken\s*=\s*["']?([^\s"']{16,})`)},
	{id: "private-key", desc: "private key (PEM or OpenSSH)",
		keywords: []string{"private key-----"}, multiline: true,
		re: regexp.MustCompile(`(-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----\r?\n(?:[A-Za-z0-9-]+: [^\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=\r\n]{64,}?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)`)},
	{id: "docker-config-auth", desc: "registry credentials in a Docker config.json (auths)",
		keywords: []string{`"auth"`}, check: dockerAuth,
		re: regexp.MustCompile(`"auth"\s*:\s*"([A-Za-z0-9+/]{6,}={0,2})"`)},
	{id: "url-password", desc: "URL with a password",
		keywords: []string{"://"}, generic: true, word: true, needs: "@",
		re: regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@'"<>]{1,64}:([^\s@/'"<>]{3,128})@[A-Za-z0-9.-]+`)},
	{id: "password-assignment", desc: "password, secret or token assigned a value",
		keywords: []string{"pass", "pwd", "secret", "token", "api_key", "apikey", "api-key", "access_key", "auth_key", "credential"},
		entropy:  3.0, generic: true, group: 2, fallback: 2, word: true, needs: "=:",
		re: regexp.MustCompile(`(?i)\b([a-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|credentials?))["']?\s*(?:=|:=|:|=>)\s*["']?([^\s"'` + "`" + `,;()<>]{8,128})`)},
}

// Rules lists the rule IDs and what each finds.
func Rules() map[string]string {
	out := map[string]string{}
	for _, r := range rules {
		out[r.id] = r.desc
	}
	out[gitCredentials] = "credentials in a .git-credentials file"
	return out
}

const gitCredentials = "git-credentials"

// match is one secret found in a text.
type match struct {
	rule   *rule
	secret string
	line   int // 1-based
	// key is the name a generic assignment gives the value.
	key string
}

// scanText runs every rule on text: one pass finds the rules' keywords
// (case-insensitive), then each rule runs on the lines holding one.
func scanText(text []byte) []match {
	var out []match
	seen := map[string]bool{}
	done := map[[2]int]bool{} // rule index, line start
	// Hits come in text order: lines are counted as the hits advance.
	counted, lines := 0, 0
	keywordsOnce.Do(func() { keywords = newKeywordSet() })
	keywords.each(text, func(ri, at int) {
		r := rules[ri]
		start, end := lineAround(text, at, r.multiline)
		if r.word {
			start, end = wordAround(text, start, at, end)
		}
		if done[[2]int{ri, start}] {
			return
		}
		done[[2]int{ri, start}] = true
		if start >= counted {
			lines += bytes.Count(text[counted:start], []byte{'\n'})
			counted = start
		}
		for _, m := range r.find(text[start:end]) {
			m.line = 1 + lines + m.line
			k := r.id + "\x00" + m.secret
			if !seen[k] {
				seen[k] = true
				out = append(out, m)
			}
		}
	})
	return dropFallbacks(out)
}

// keywordSet finds every rule keyword in a text in one pass: a bitmap of
// the keywords' first three bytes (lower case) says where to look closer,
// so ordinary text costs a table lookup a byte.
type keywordSet struct {
	trigram []uint64 // 1<<24 bits
	byTri   map[uint32][]kwRule
}

type kwRule struct {
	kw   string
	rule int
}

// keywords is made on first use: its bitmap is 2 MiB, which other verbs
// need not pay for.
var (
	keywords     *keywordSet
	keywordsOnce sync.Once
)

func newKeywordSet() *keywordSet {
	k := &keywordSet{trigram: make([]uint64, 1<<24/64), byTri: map[uint32][]kwRule{}}
	for ri, r := range rules {
		for _, kw := range r.keywords {
			t := uint32(kw[0])<<16 | uint32(kw[1])<<8 | uint32(kw[2])
			k.trigram[t/64] |= 1 << (t % 64)
			k.byTri[t] = append(k.byTri[t], kwRule{kw, ri})
		}
	}
	return k
}

var lowerTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// each calls fn(rule index, offset) for every keyword occurrence.
func (k *keywordSet) each(text []byte, fn func(rule, at int)) {
	if len(text) < 3 {
		return
	}
	t := uint32(lowerTab[text[0]])<<8 | uint32(lowerTab[text[1]])
	for i := 2; i < len(text); i++ {
		t = (t<<8 | uint32(lowerTab[text[i]])) & 0xffffff
		if k.trigram[t/64]&(1<<(t%64)) == 0 {
			continue
		}
		at := i - 2
		for _, c := range k.byTri[t] {
			if hasPrefixFold(text[at:], c.kw) {
				fn(c.rule, at)
			}
		}
	}
}

// hasPrefixFold: b starts with the lower-case keyword kw, ignoring ASCII
// case.
func hasPrefixFold(b []byte, kw string) bool {
	if len(b) < len(kw) {
		return false
	}
	for i := 0; i < len(kw); i++ {
		if lowerTab[b[i]] != kw[i] {
			return false
		}
	}
	return true
}

// dropFallbacks leaves out a fallback rule's match where a more specific
// rule found the same secret on the same line: one secret, one finding.
func dropFallbacks(ms []match) []match {
	out := ms[:0]
	for _, m := range ms {
		dup := false
		for _, n := range ms {
			if n.rule.fallback < m.rule.fallback && n.line == m.line && strings.Contains(n.secret, m.secret) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

// wordAround narrows a line to the word holding the keyword at at (back
// over name and scheme characters) and at most 512 bytes after it.
func wordAround(text []byte, lineStart, at, lineEnd int) (int, int) {
	start := at
	for start > lineStart && wordByte(text[start-1]) {
		start--
	}
	return start, min(lineEnd, at+512)
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '+'
}

// lineAround bounds the line holding at, or for a multiline rule a window
// from that line's start on.
func lineAround(text []byte, at int, multi bool) (int, int) {
	start := bytes.LastIndexByte(text[:at], '\n') + 1
	if multi {
		return start, min(len(text), at+64<<10)
	}
	end := bytes.IndexByte(text[at:], '\n')
	if end < 0 {
		return start, len(text)
	}
	return start, at + end
}

// find runs the rule's expression on a piece of text; line is the
// 0-based line of the match within it.
func (r *rule) find(s []byte) []match {
	if r.needs != "" && !bytes.ContainsAny(s, r.needs) {
		return nil
	}
	var out []match
	g := r.group
	if g == 0 {
		g = 1
	}
	for _, loc := range r.re.FindAllSubmatchIndex(s, 8) {
		secret := string(s[loc[2*g]:loc[2*g+1]])
		key := ""
		if r.group == 2 {
			key = string(s[loc[2]:loc[3]])
		}
		if !r.accept(secret, key) {
			continue
		}
		out = append(out, match{rule: r, secret: secret, key: key, line: bytes.Count(s[:loc[0]], []byte{'\n'})})
	}
	return out
}

// accept applies the rule's checks and the allow-list.
func (r *rule) accept(secret, key string) bool {
	if allowed(secret) {
		return false
	}
	if r.entropy > 0 && entropy(secret) < r.entropy {
		return false
	}
	if r.generic && (notASecret(secret) || nonSecretKey(key)) {
		return false
	}
	return r.check == nil || r.check(secret)
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// placeholders are documented example values and the words people put
// where a secret will go.
var placeholders = []string{"akiaiosfodnn7example", "wjalrxutnfemi/k7mdeng/bpxrficyexamplekey", "changeme", "change_me",
	"change-me", "example", "placeholder", "dummy", "redacted", "your_", "your-", "xxxxxx", "******", "<", "${", "$(", "{{",
	"%(", "%s", "replace_me", "replaceme", "insert_", "todo", "fixme", "notasecret", "not-a-secret", "sample"}

// allowed: a documented placeholder, not a secret.
func allowed(secret string) bool {
	l := strings.ToLower(secret)
	for _, p := range placeholders {
		if strings.Contains(l, p) {
			return true
		}
	}
	return false
}

var (
	hexHash  = regexp.MustCompile(`^(?:sha(?:1|224|256|384|512):|md5:)?(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$`)
	uuid     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	varRef   = regexp.MustCompile(`^\\?\$[A-Za-z_{(]|^%[A-Za-z_(]|^\{\{|^@[A-Za-z_]`)
	pathLike = regexp.MustCompile(`^(?:/|\./|\.\./|~/|[A-Za-z]:\\)|://`)
)

// notASecret: hashes, UUIDs, variable references and paths look like
// values but are none.
func notASecret(v string) bool {
	return hexHash.MatchString(v) || uuid.MatchString(v) || varRef.MatchString(v) || pathLike.MatchString(v)
}

// nonSecretKey: names that hold a secret's location, size or kind, not
// the secret.
func nonSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"_file", "_path", "_url", "_uri", "_name", "_dir", "_env", "_length", "_len", "_size", "_type",
		"_id", "_ttl", "_expiry", "_expires", "_endpoint", "_header", "_policy", "_hash", "_sha", "_digest", "_format", "_version"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// dockerAuth: base64 of user:password, both non-empty.
func dockerAuth(v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	u, p, ok := strings.Cut(string(b), ":")
	return ok && u != "" && p != "" && !allowed(p)
}
