package testenv

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// Planted is one secret the corpus hides. Metadata secrets are found
// wherever the image's metadata holds their value; a file secret at
// Path, which a later step may delete or overwrite (Removed).
type Planted struct {
	Rule    string
	Value   string
	Path    string // file secrets: the path in the image
	Removed string // "", "deleted" or "overwritten"
}

// SecretsCorpus is the planted-secrets image as real builders built it.
type SecretsCorpus struct {
	// Refs maps a builder (classic, buildkit, buildah) to references that
	// open its image: "registry" and "archive".
	Refs    map[string]map[string]string
	Planted []Planted
	// Decoys look like secrets and must not be flagged.
	Decoys []string
}

// corpusRand makes the corpus's values: fixed, so the images are built
// once per registry, and generated, so no secret-shaped string sits in
// the repository.
type corpusRand struct{ r *rand.Rand }

func (c corpusRand) pick(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[c.r.Intn(len(alphabet))]
	}
	return string(b)
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64    = alnum + "+/"
	digits = "0123456789"
	hexd   = "0123456789abcdef"
)

func (c corpusRand) pem(kind string) string {
	var b strings.Builder
	b.WriteString("-----BEGIN " + kind + "-----\n")
	for i := 0; i < 12; i++ {
		b.WriteString(c.pick(64, b64) + "\n")
	}
	b.WriteString(c.pick(24, b64) + "==\n-----END " + kind + "-----\n")
	return b.String()
}

// corpus lays out the build context and says what it plants.
func corpus() (files map[string]string, planted []Planted, decoys []string, buildArg, annotation string) {
	c := corpusRand{rand.New(rand.NewSource(20261202))}
	v := map[string]string{
		"akid": "AKIA" + c.pick(16, upper), "ghp": "ghp_" + c.pick(36, alnum), "glpat": "glpat-" + c.pick(20, alnum),
		"npm": "npm_" + c.pick(36, alnum), "dbpw": c.pick(20, alnum) + "#!", "xoxb": "xoxb-" + c.pick(12, digits) + "-" + c.pick(13, digits) + "-" + c.pick(24, alnum),
		"rklive": "rk_live_" + c.pick(32, alnum), "envpw": c.pick(18, alnum) + "%", "webhook": "https://hooks.slack.com/services/T" + c.pick(10, upper) + "/B" + c.pick(10, upper) + "/" + c.pick(24, alnum),
		"google": "AIza" + c.pick(35, alnum), "sklive": "sk_live_" + c.pick(32, alnum), "urlpw": c.pick(16, alnum), "npm2": "npm_" + c.pick(36, alnum),
		"pat": "github_pat_" + c.pick(22, alnum) + "_" + c.pick(59, alnum), "akid2": "AKIA" + c.pick(16, upper), "awssecret": c.pick(40, b64),
		"rsa": c.pem("RSA PRIVATE KEY"), "openssh": c.pem("OPENSSH PRIVATE KEY"), "dockerpw": c.pick(20, alnum), "gitcred": "ghp_" + c.pick(36, alnum),
	}
	sha := c.pick(40, hexd)
	uuid := c.pick(8, hexd) + "-" + c.pick(4, hexd) + "-4" + c.pick(3, hexd) + "-a" + c.pick(3, hexd) + "-" + c.pick(12, hexd)
	sum := c.pick(64, hexd)
	dockerAuth := base64.StdEncoding.EncodeToString([]byte("deploy:" + v["dockerpw"]))
	decoys = []string{"AKIAIOSFODNN7EXAMPLE", "changeme", sha, uuid, sum, "sk_test_" + c.pick(24, alnum), "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"$API_KEY", "/run/secrets/db_password", "db-credentials", "AIza-too-short"}
	files = map[string]string{
		"Dockerfile": fmt.Sprintf(`FROM scratch
ARG NPM_TOKEN=%s
ARG DB_PASSWORD
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV AWS_ACCESS_KEY_ID=%s GITHUB_TOKEN=%s
ENV EXAMPLE_KEY_ID=AKIAIOSFODNN7EXAMPLE ADMIN_PASSWORD=changeme SESSION_ID=%s TOKEN_SHA256=%s API_KEY=\$API_KEY PASSWORD_FILE=/run/secrets/db_password SECRET_NAME=db-credentials
LABEL com.example.deploy-token="%s" org.opencontainers.image.revision="%s" com.example.build-id="%s"
COPY app/ /app/
COPY root/ /root/
RUN echo "%s" > /dev/null && echo "$DB_PASSWORD $NPM_TOKEN" | wc -c > /app/len
RUN rm /root/.ssh/id_rsa /root/.docker/config.json && echo "https://ci-bot:changeme@git.example.com" > /root/.git-credentials
CMD ["/bin/sh"]
`, v["npm"], v["akid"], v["ghp"], uuid, sum, v["glpat"], sha, uuid, v["xoxb"]),
		"app/.env":        "DB_HOST=db\nDB_PASSWORD=" + v["envpw"] + "\nDB_PASSWORD_PREVIOUS=changeme\n",
		"app/config.yaml": "alerts:\n  slack_webhook: " + v["webhook"] + "\nmaps:\n  google_api_key: " + v["google"] + "\nbuild_id: " + uuid + "\nsecret_sha256: " + sum + "\n",
		"app/settings.py": "STRIPE_KEY = \"" + v["sklive"] + "\"\nSTRIPE_TEST_KEY = \"" + decoys[5] + "\"\nDATABASE_URL = \"postgres://app:" + v["urlpw"] +
			"@db:5432/app\"\nREPLICA_URL = \"postgres://app:${DB_PASS}@replica/app\"\nDOCS = \"https://user@example.com/docs\"\n",
		"app/.npmrc":    "//registry.npmjs.org/:_authToken=" + v["npm2"] + "\n",
		"app/notes.txt": "deploy token: " + v["pat"] + "\nput your key between -----BEGIN RSA PRIVATE KEY----- and the END line\nexample: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nmaps key AIza-too-short\n",
		"root/.aws/credentials": "[default]\naws_access_key_id = " + v["akid2"] + "\naws_secret_access_key = " + v["awssecret"] + "\n" +
			"[example]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
		"root/.ssh/id_rsa":         v["rsa"],
		"root/.ssh/id_ed25519":     v["openssh"],
		"root/.docker/config.json": `{"auths": {"registry.example.com": {"auth": "` + dockerAuth + `"}}}` + "\n",
		"root/.git-credentials":    "https://ci-bot:" + v["gitcred"] + "@git.example.com\n",
	}
	planted = []Planted{
		{Rule: "npm-token", Value: v["npm"]}, {Rule: "password-assignment", Value: v["dbpw"]}, {Rule: "aws-access-key-id", Value: v["akid"]},
		{Rule: "github-token", Value: v["ghp"]}, {Rule: "gitlab-token", Value: v["glpat"]}, {Rule: "slack-token", Value: v["xoxb"]},
		{Rule: "stripe-live-key", Value: v["rklive"]},
		{Rule: "password-assignment", Value: v["envpw"], Path: "/app/.env"},
		{Rule: "slack-webhook", Value: v["webhook"], Path: "/app/config.yaml"}, {Rule: "google-api-key", Value: v["google"], Path: "/app/config.yaml"},
		{Rule: "stripe-live-key", Value: v["sklive"], Path: "/app/settings.py"}, {Rule: "url-password", Value: v["urlpw"], Path: "/app/settings.py"},
		{Rule: "npm-token", Value: v["npm2"], Path: "/app/.npmrc"}, {Rule: "github-fine-grained-token", Value: v["pat"], Path: "/app/notes.txt"},
		{Rule: "aws-access-key-id", Value: v["akid2"], Path: "/root/.aws/credentials"}, {Rule: "aws-secret-access-key", Value: v["awssecret"], Path: "/root/.aws/credentials"},
		{Rule: "private-key", Value: strings.TrimSuffix(v["rsa"], "\n"), Path: "/root/.ssh/id_rsa", Removed: "deleted"},
		{Rule: "private-key", Value: strings.TrimSuffix(v["openssh"], "\n"), Path: "/root/.ssh/id_ed25519"},
		{Rule: "docker-config-auth", Value: dockerAuth, Path: "/root/.docker/config.json", Removed: "deleted"},
		{Rule: "git-credentials", Value: v["gitcred"], Path: "/root/.git-credentials", Removed: "overwritten"},
	}
	return files, planted, decoys, "DB_PASSWORD=" + v["dbpw"], "com.example.signing-key=" + v["rklive"]
}

// corpusRecipe changes when how the corpus is built changes.
const corpusRecipe = 2

// SecretsImages builds the planted-secrets corpus with the classic
// builder (dockerd), BuildKit (buildctl, provenance mode=max, an
// annotation) and buildah (--layers, so later steps delete in layers of their own; an annotation), FROM scratch with Debian's
// busybox and no network, pushes each to the registry and saves it as an
// archive — once per registry: the tags carry a hash of the corpus.
func SecretsImages(t testing.TB) *SecretsCorpus {
	t.Helper()
	reg := Service(t, "STRATA_TEST_REGISTRY")
	out := Service(t, "STRATA_TEST_IMAGES")
	files, planted, decoys, buildArg, annotation := corpus()
	h := sha256.New()
	fmt.Fprintf(h, "recipe %d\x00", corpusRecipe)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, files[k])
	}
	tag := hex.EncodeToString(h.Sum(nil))[:12]
	dir := filepath.Join(out, "secrets-corpus", tag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(out, ".secrets.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	sc := &SecretsCorpus{Refs: map[string]map[string]string{}, Planted: planted, Decoys: decoys}
	ctx := corpusContext(t, files)
	for _, b := range []string{"classic", "buildkit", "buildah"} {
		ref := reg + "/strata-test/secrets:" + tag + "-" + b
		archive := filepath.Join(dir, b+".tar")
		if _, err := os.Stat(archive); err != nil || !registryHas(reg, "strata-test/secrets", tag+"-"+b) {
			buildImage(t, b, ref, archive, ctx, []string{buildArg}, annotation)
		}
		sc.Refs[b] = map[string]string{"registry": ref, "archive": archive}
	}
	return sc
}

func corpusContext(t testing.TB, files map[string]string) string {
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed to build the secrets corpus: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildImage builds ctx with one real builder — the classic builder in
// dockerd, BuildKit through buildctl (with a max-mode provenance
// attestation), buildah with --layers — pushes it as ref and writes an
// archive of it (docker save, BuildKit's OCI tarball, buildah's
// oci-archive). An annotation ("k=v", may be empty) goes on the manifest
// where the builder can put one.
func buildImage(t testing.TB, builder, ref, archive, ctx string, buildArgs []string, annotation string) {
	t.Helper()
	tmp := archive + ".tmp"
	var dargs, bargs []string
	for _, a := range buildArgs {
		dargs = append(dargs, "--build-arg", a)
		bargs = append(bargs, "--opt", "build-arg:"+a)
	}
	switch builder {
	case "classic":
		host := Service(t, "STRATA_TEST_DOCKER_HOST")
		docker := os.Getenv("STRATA_DOCKER_CLASSIC")
		if docker == "" {
			docker = "/usr/local/bin/docker"
		}
		env := []string{"DOCKER_HOST=" + host, "DOCKER_BUILDKIT=0"}
		runEnv(t, env, docker, append(append([]string{"build", "-q"}, dargs...), "-t", ref, ctx)...)
		runEnv(t, env, docker, "push", "-q", ref)
		runEnv(t, env, docker, "save", "-o", tmp, ref)
	case "buildkit":
		bk := Service(t, "STRATA_TEST_BUILDKIT_ADDR")
		buildctl := os.Getenv("STRATA_TEST_BUILDCTL")
		if buildctl == "" {
			buildctl = "buildctl"
		}
		ann := ""
		if annotation != "" {
			ann = ",annotation." + annotation
		}
		args := append([]string{"--addr", bk, "build", "--progress=quiet", "--frontend", "dockerfile.v0",
			"--local", "context=" + ctx, "--local", "dockerfile=" + ctx, "--opt", "attest:provenance=mode=max"}, bargs...)
		run(t, buildctl, append(args, "--output", "type=image,name="+ref+",push=true,registry.insecure=true"+ann,
			"--output", "type=oci,name="+ref+",dest="+tmp+ann)...)
	case "buildah":
		Service(t, "CONTAINERS_STORAGE_CONF")
		args := append([]string{"bud", "-q", "--layers", "--network=none"}, dargs...)
		if annotation != "" {
			args = append(args, "--annotation", annotation)
		}
		run(t, "buildah", append(args, "-t", ref, ctx)...)
		run(t, "buildah", "push", "-q", "--tls-verify=false", ref, "docker://"+ref)
		run(t, "buildah", "push", "-q", ref, "oci-archive:"+tmp)
		run(t, "buildah", "rmi", "-f", ref)
	}
	if err := os.Rename(tmp, archive); err != nil {
		t.Fatal(err)
	}
}
