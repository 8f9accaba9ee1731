package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the soft heap limit when GOMEMLIMIT is unset: the
// garbage collector works harder as the heap nears it, so a large input
// costs time rather than ending in the kernel's out-of-memory kill. strata's
// own bounds keep hostile inputs far below it.
const defaultMemoryLimit = 1 << 30

// limitMemory sets the soft memory limit: GOMEMLIMIT when the user set it
// (the runtime has already read it), else 1 GiB or half the machine's
// memory, whichever is smaller.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(defaultMemoryLimit)
	if half := totalMemory() / 2; half > 0 && half < limit {
		limit = half
	}
	debug.SetMemoryLimit(limit)
}

// recoverInternal turns a panic on the main goroutine into one line on
// stderr and the verb's error exit code: images are hostile input, and a
// bug they find must not print a goroutine dump.
func recoverInternal(a *app, stderr io.Writer, code *int) {
	r := recover()
	if r == nil {
		return
	}
	fmt.Fprintln(stderr, "strata: internal error (a strata bug, please report): "+oneLine(fmt.Sprint(r)))
	*code = a.errorCode
}
