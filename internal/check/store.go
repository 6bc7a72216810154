package check

import (
	"context"
	"strings"

	"rb_module_rustack/internal/objstore"
)

// StoreCheck is the name of the dedup store's check line.
const StoreCheck = "store"

// Store checks the dedup store location loc: for an object store, that it
// is reachable with its credentials, that the container or bucket exists
// (it is not created here: a backup creates it), and that a probe object
// can be written, read back and deleted. A directory store or pool mode
// only says so (backups create the directory).
func Store(ctx context.Context, r *Run, loc, pool string, s objstore.Settings) {
	switch {
	case loc == "" || strings.EqualFold(loc, "none"):
		r.OK(StoreCheck, "none: archive pool mode (pool %s)", pool)
		return
	case !objstore.IsObjectStore(loc):
		r.OK(StoreCheck, "directory %s (a backup creates it)", loc)
		return
	}
	l, err := objstore.ParseLocation(loc)
	if err != nil {
		r.Fail(StoreCheck, "%v", err)
		return
	}
	b, err := objstore.Open(ctx, l, s.WithSpool(pool), false)
	if err != nil {
		r.Fail(StoreCheck, "%v", err)
		return
	}
	what, err := b.Probe(ctx)
	if err != nil {
		r.Fail(StoreCheck, "%s: %v", l, err)
		return
	}
	r.OK(StoreCheck, "%s reachable, %s", l, what)
}
