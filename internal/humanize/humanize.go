// Package humanize formats sizes for people, the way docker does (SI units).
package humanize

import "fmt"

// Bytes renders n as "512 B", "2.1 MB", …; "?" for a negative (unknown) size.
func Bytes(n int64) string {
	if n < 0 {
		return "?"
	}
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
