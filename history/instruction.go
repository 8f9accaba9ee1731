// Package history turns one image history entry (created_by, comment,
// author) into a structured Dockerfile instruction, knowing the formats every
// builder writes: the classic Docker builder, BuildKit, buildah/podman,
// kaniko, ko, Jib, Bazel, apko, buildpacks and base-image root file systems.
// It does no I/O; text it cannot read becomes a comment, never a fake RUN.
package history

// Builder names the tool that wrote a history entry.
type Builder string

// Builders strata recognises.
const (
	Classic    Builder = "classic"
	BuildKit   Builder = "buildkit"
	Buildah    Builder = "buildah"
	Kaniko     Builder = "kaniko"
	Ko         Builder = "ko"
	Jib        Builder = "jib"
	Bazel      Builder = "bazel"
	Apko       Builder = "apko"
	Buildpacks Builder = "buildpacks"
	// BaseRootFS is a root file system made outside any Dockerfile
	// (debuerreotype, Windows base layers).
	BaseRootFS Builder = "base-rootfs"
	Commit     Builder = "commit"
	Import     Builder = "import"
	// Squash is the classic builder's `--squash` merge entry.
	Squash Builder = "squash"
	// Filler is an entry an exporter added to match the layer count
	// (BuildKit's buildkit.exporter.image.v0, Jib's placeholders).
	Filler  Builder = "filler"
	Unknown Builder = "unknown"
)

// Confidence says how much of an instruction the history really recorded.
type Confidence string

const (
	// Exact: the text is the instruction as built (modulo values the
	// config supplies).
	Exact Confidence = "exact"
	// Partial: the keyword and intent are certain, some detail is lost
	// (COPY sources, --from, RUN --mount flags, heredoc bodies).
	Partial Confidence = "partial"
	// Guess: the reading depends on a heuristic (exec-form argv split on
	// spaces, build-arg values with spaces).
	Guess Confidence = "guess"
	// None: not a Dockerfile step; shown only as a comment.
	None Confidence = "none"
)

// KV is one name=value pair in recorded order.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// NoValue marks `ARG name` with no default.
	NoValue bool `json:"noValue,omitempty"`
}

// Instruction is one history entry read as a Dockerfile instruction.
type Instruction struct {
	Builder Builder `json:"builder"`
	// Keyword is the upper-case Dockerfile keyword, or "" when the entry is
	// not a Dockerfile step (it is then rendered as a comment).
	Keyword string `json:"keyword,omitempty"`
	// Flags are the instruction flags the history kept (--chown=1000,
	// --mount=…), in order.
	Flags []string `json:"flags,omitempty"`
	// Args is the instruction's argument text as recorded, after keyword,
	// flags and any build-arg prefix or shell prefix; for RUN, the script
	// (shell form) or the joined argv (exec form).
	Args string `json:"args,omitempty"`
	// Argv is the argument list where the format records one (exec-form
	// RUN/CMD/ENTRYPOINT, SHELL, VOLUME, EXPOSE).
	Argv []string `json:"argv,omitempty"`
	// ExecForm is true for exec-form RUN/CMD/ENTRYPOINT.
	ExecForm bool `json:"execForm,omitempty"`
	// BuildArgs is the `|N k=v …` prefix of a RUN, in recorded order.
	BuildArgs []KV `json:"buildArgs,omitempty"`
	// Pairs are ENV/LABEL/ARG pairs parsed from the text (values as the
	// history wrote them: unquoted, possibly ambiguous).
	Pairs []KV `json:"pairs,omitempty"`
	// Shell is the shell in effect for this entry (RUN shell form).
	Shell []string `json:"shell,omitempty"`
	// Source and Dest are the COPY/ADD source text and destination.
	Source []string `json:"source,omitempty"`
	Dest   string   `json:"dest,omitempty"`
	// ContentHash is the classic/buildah COPY/ADD summary (file:…, dir:…,
	// multi:…) that replaces the real source names.
	ContentHash string `json:"contentHash,omitempty"`
	// Metadata are buildah's `|key=value` suffixes.
	Metadata []string `json:"metadata,omitempty"`
	// Lost lists what the history does not keep for this entry.
	Lost []string `json:"lost,omitempty"`
	// Unparsed is true when the keyword is known but its argument text
	// could not be read (EXPOSE struct dumps, odd HEALTHCHECK forms); the
	// renderer then relies on the config.
	Unparsed   bool       `json:"unparsed,omitempty"`
	Raw        string     `json:"raw"`
	Confidence Confidence `json:"confidence"`
	// Note explains the reading in a few words when it is not obvious.
	Note string `json:"note,omitempty"`
}

// IsStep reports whether the instruction is a Dockerfile step (as opposed to
// a comment-only entry).
func (in Instruction) IsStep() bool { return in.Keyword != "" }
