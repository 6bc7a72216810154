package archive

import (
	"encoding/json"
	"os"
	"path/filepath"

	"rb_module_rustack/internal/atomicfile"
)

// listCacheName is the pool's cache of what List read from the archive
// headers. Without it List opens every archive file of the pool, and an
// incremental backup lists the pool to find its parent: with 2 000
// archives that took 1.2 s with the files in the page cache and 2.7 s
// without (docs/benchmarks.md). With it, List reads the directory, stats
// each file and opens only the files the cache does not know at their
// current size and modification time.
//
// The cache holds nothing that the headers do not say in clear text, and
// everything taken from a listing is checked again when its archive is
// loaded (the manifest's tag, its VM id against the header's); a cache that
// is missing, unreadable or damaged is ignored and written again. Several
// processes may list at once: each writes a whole new cache and renames it
// into place, and an entry that is out of date only costs a read of its
// header.
const listCacheName = ".list-cache"

// listCacheVersion changes when Info or the entry's meaning changes.
const listCacheVersion = 1

type listCache struct {
	Version int                       `json:"version"`
	Files   map[string]listCacheEntry `json:"files"` // by file name in the pool
}

// listCacheEntry is one archive file's header as listed, valid while the
// file has this size and modification time. Unreadable headers
// ("damaged") are not cached: they may be a passing error.
type listCacheEntry struct {
	Size  int64 `json:"size"`
	MTime int64 `json:"mtime_ns"`
	Info  Info  `json:"info"` // without Path (the pool's path is not stored)
}

// parseListCache parses a cache file; nil when it is not one of this
// version.
func parseListCache(b []byte) map[string]listCacheEntry {
	var c listCache
	if json.Unmarshal(b, &c) != nil || c.Version != listCacheVersion || c.Files == nil {
		return nil
	}
	return c.Files
}

// readListCache reads the pool's cache (nil when there is none).
func (r *Repo) readListCache() map[string]listCacheEntry {
	b, err := os.ReadFile(filepath.Join(r.opts.Pool, listCacheName))
	if err != nil {
		return nil
	}
	return parseListCache(b)
}

// writeListCache replaces the pool's cache. Failures are ignored: a pool
// this process may not write (a read-only mount, another user's) is
// listed without a cache.
func (r *Repo) writeListCache(files map[string]listCacheEntry) {
	b, err := json.Marshal(listCache{Version: listCacheVersion, Files: files})
	if err != nil {
		return
	}
	_ = atomicfile.Write(filepath.Join(r.opts.Pool, listCacheName), b, 0o600)
}
