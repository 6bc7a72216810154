package store

import (
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

// Store size of BenchmarkPrune: benchChunks random blobs of benchBlob
// bytes, cipher none, in benchSessions sessions.
// RB_BENCH_PRUNE_CHUNKS changes benchChunks.
var (
	benchChunks   = 200_000
	benchBlob     = 512
	benchSessions = 4
)

func init() {
	if n, err := strconv.Atoi(os.Getenv("RB_BENCH_PRUNE_CHUNKS")); err == nil && n > 0 {
		benchChunks = n
	}
}

// benchStore writes the benchmark's store into dir and returns the ids
// of each session.
func benchStore(b *testing.B, dir string) [][]chunk.ID {
	st, err := OpenDir(dir, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	c := enginetest.Codec(b, "none", "", 1<<20, 1)
	h := chunk.NewIDHasher(crypt.ChunkIDKey(nil))
	var out [][]chunk.ID
	data := make([]byte, benchBlob)
	var blob []byte
	for range benchSessions {
		w, err := st.NewWriter(crypt.None, nil)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]chunk.ID, 0, benchChunks/benchSessions)
		for range benchChunks / benchSessions {
			rand.Read(data)
			id := h.Sum(data)
			blob, _ = container.SealBlob(c, w.Sealer(), id, data, nil, blob[:0])
			if err := w.Put(id, blob, len(data)); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := w.Commit(); err != nil {
			b.Fatal(err)
		}
		out = append(out, ids)
	}
	return out
}

// linkTree makes to a copy of from by hard links: Prune never changes a
// file, it only creates and removes names.
func linkTree(b *testing.B, from, to string) {
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		return os.Link(p, filepath.Join(to, rel))
	})
	if err != nil {
		b.Fatal(err)
	}
}

// heapPeak samples the bytes of live and not yet collected heap objects
// until stop is called, and returns the largest value seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// BenchmarkPrune prunes a store of benchChunks chunks of which half are
// referenced: "rewrite" references every other chunk of every session
// (every pack is rewritten), "delete" every chunk of half the sessions
// (the other packs are deleted whole). Besides time and allocations per
// prune it reports, from one run made with the collector at GOGC=10:
// B/chunk, the peak heap above the heap before the prune per chunk held
// (sampled every 200 µs; the 56-byte entries of the loaded index are part
// of it), and alloc-B/chunk, every byte allocated per chunk.
func BenchmarkPrune(b *testing.B) {
	template := filepath.Join(b.TempDir(), "store")
	sessions := benchStore(b, template)
	for _, kind := range []string{"rewrite", "delete"} {
		b.Run(kind, func(b *testing.B) {
			var refs []chunk.ID
			for i, ids := range sessions {
				for j, id := range ids {
					if kind == "rewrite" && j%2 == 0 || kind == "delete" && i%2 == 0 {
						refs = append(refs, id)
					}
				}
			}
			mark := func(m func(chunk.ID)) error {
				for _, id := range refs {
					m(id)
				}
				return nil
			}
			prune := func() (rep *PruneReport, peakPer, allocPer float64) {
				dir := filepath.Join(b.TempDir(), "store")
				linkTree(b, template, dir)
				st, err := OpenDir(dir, nil, false)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				stop := heapPeak()
				b.StartTimer()
				rep, err = st.Prune(context.Background(), mark, PruneOptions{Cipher: crypt.None, TempGrace: -1})
				b.StopTimer()
				peak := stop()
				if err != nil {
					b.Fatal(err)
				}
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				return rep, float64(int64(peak)-int64(before.HeapAlloc)) / float64(benchChunks), float64(after.TotalAlloc-before.TotalAlloc) / float64(benchChunks)
			}
			b.StopTimer()
			// The memory figures, from a run with a collector that keeps
			// the heap close to what is live.
			old := debug.SetGCPercent(10)
			rep, peakPer, allocPer := prune()
			debug.SetGCPercent(old)
			if rep.ChunksUsed != benchChunks/2 || rep.ChunksRemoved != benchChunks/2 {
				b.Fatalf("report: %+v", rep)
			}
			b.Logf("%s: %+v", kind, *rep)
			b.ReportAllocs()
			b.ResetTimer()
			b.StopTimer()
			for range b.N {
				prune()
			}
			b.ReportMetric(peakPer, "B/chunk")
			b.ReportMetric(allocPer, "alloc-B/chunk")
		})
	}
}
