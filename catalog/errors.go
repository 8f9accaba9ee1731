package catalog

import (
	"errors"
	"fmt"
)

// ErrNoCatalog is returned by a read-only open of a catalog that does not
// exist yet (a missing or empty file, a database without strata's
// tables): reading verbs then report that nothing is catalogued.
var ErrNoCatalog = errors.New("no catalog")

// ErrReadOnly is returned by writes to a catalog opened read-only.
var ErrReadOnly = errors.New("catalog opened read-only")

// NotCatalogError says a file or database holds something other than a
// strata catalog. strata leaves it exactly as it found it, so the message
// never suggests removing it: it may be another program's data.
type NotCatalogError struct {
	// Where is the file or (redacted) database.
	Where string
	// What describes what was found instead.
	What string
}

func (e *NotCatalogError) Error() string {
	return fmt.Sprintf("%s is not a strata catalog (%s); strata has left it unchanged — name another catalog", e.Where, e.What)
}

// SchemaError says a catalog was written by another version of strata
// whose storage layout this one cannot read.
type SchemaError struct {
	Where   string
	Version int // the catalog's
	Want    int // this strata's
}

func (e *SchemaError) Error() string {
	if e.Version < e.Want {
		// Only a positively recognised strata catalog gets here, so the
		// advice to rebuild it cannot destroy someone else's data.
		return fmt.Sprintf("%s: catalog written by an older strata (schema version %d); this strata reads version %d: move it aside and add the images again", e.Where, e.Version, e.Want)
	}
	return fmt.Sprintf("%s: catalog written by a newer strata (schema version %d); this strata reads version %d: use that strata, or another catalog", e.Where, e.Version, e.Want)
}
