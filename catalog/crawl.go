package catalog

import (
	"context"
	"time"
)

// Crawler is the crawl state a server keeps in its catalog's store, beside
// the images: the repositories it watches, the digest each watched tag was
// last seen at, and the work queue of digests to index. Both stores
// implement it (catalog/sqlite for one node; catalog/postgres for several
// servers sharing one queue and one catalog), so every replica's pollers
// and workers coordinate through the database alone.
//
// Guarantees: a tag's new digest is queued once however many replicas see
// it (SawTag is one conditional upsert); a queued job is done by one worker
// at a time, and its catalog entries and its completion commit in one
// transaction, so a job is never lost by a worker that dies (it is claimed
// again) nor recorded twice.
type Crawler interface {
	// EnsureCrawl creates the crawl tables if missing (idempotent).
	EnsureCrawl(ctx context.Context) error
	// Watch adds repositories to the watch list; an existing one is kept
	// as it is (its schedule and token).
	Watch(ctx context.Context, ws ...Watch) error
	// Watched lists the watch list in order.
	Watched(ctx context.Context) ([]Watch, error)
	// ClaimPoll claims one watched repository whose poll is due at now,
	// leasing it until now+lease: of several replicas asking at once, one
	// gets it, and if that one dies mid-poll the poll is due again when
	// the lease ends (a poll is idempotent: see SawTag).
	ClaimPoll(ctx context.Context, now time.Time, lease time.Duration) (Watch, bool, error)
	// PollDone records the outcome of a poll ("" for success) and when the
	// repository is due next.
	PollDone(ctx context.Context, w Watch, now, next time.Time, problem string) error
	// Poke makes every watch entry of repo due now (the webhook) and
	// reports whether repo is watched.
	Poke(ctx context.Context, repo string) (bool, error)
	// SetToken stores the hash of repo's webhook token, replacing any.
	SetToken(ctx context.Context, repo string, hash string) error
	// TokenHash returns the stored hash of repo's webhook token ("" none).
	TokenHash(ctx context.Context, repo string) (string, error)
	// SawTag records that repo:tag is at digest. When that is new for the
	// tag it queues a job to index it and reports true.
	SawTag(ctx context.Context, repo, tag, digest string, now time.Time) (bool, error)
	// Work claims one due job and calls fn with it. The entries fn returns
	// are added to the catalog, and the job completed, in one transaction;
	// an error from fn puts the job back with a delay (and gives it up,
	// recorded, after MaxAttempts). It reports whether there was a job.
	Work(ctx context.Context, worker string, now time.Time, fn func(context.Context, Job) ([]Entry, error)) (bool, error)
	// CrawlStats counts the queue, for metrics and status pages.
	CrawlStats(ctx context.Context) (CrawlStats, error)
	// Done lists completed jobs, oldest first (status pages, tests).
	Done(ctx context.Context, limit int) ([]DoneJob, error)
}

// MaxAttempts is how many times a failing job is tried before it is given
// up (and recorded as such in Done).
const MaxAttempts = 5

// Watch is one watched repository: all its tags (Tag ""), or one tag.
type Watch struct {
	// Repo is the repository as reference.Name.Repository spells it
	// (index.docker.io/library/nginx, 127.0.0.1:5000/o/r).
	Repo     string    `json:"repo"`
	Tag      string    `json:"tag,omitempty"`
	NextPoll time.Time `json:"nextPoll"`
	LastPoll time.Time `json:"lastPoll"`
	Problem  string    `json:"problem,omitempty"`
}

// Job is one digest to index, as the tag it was seen under.
type Job struct {
	ID       int64
	Repo     string
	Tag      string
	Digest   string
	Attempts int
	Queued   time.Time
}

// DoneJob is a completed job: indexed (Entries added) or given up (Error).
type DoneJob struct {
	Repo     string    `json:"repo"`
	Tag      string    `json:"tag"`
	Digest   string    `json:"digest"`
	Worker   string    `json:"worker"`
	Entries  int       `json:"entries"`
	Error    string    `json:"error,omitempty"`
	Finished time.Time `json:"finished"`
}

// CrawlStats counts the crawl state.
type CrawlStats struct {
	Watched int `json:"watched"`
	Queued  int `json:"queued"`
	Done    int `json:"done"`
	Failed  int `json:"failed"`
}

// Searcher finds catalogued images by a substring of their name, newest
// first, for browsing a large catalog without reading all of it.
type Searcher interface {
	Search(ctx context.Context, q string, limit, offset int) ([]Entry, error)
}
