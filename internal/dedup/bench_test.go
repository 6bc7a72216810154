package dedup

import (
	"context"
	"sync"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

// Per-stage benchmarks; each reports MB/s (go test -bench . -run ^$).

// discardTarget claims every chunk once and drops the blobs.
type discardTarget struct {
	sealer *crypt.Sealer
	mu     sync.Mutex
	seen   map[chunk.ID]bool
}

func (d *discardTarget) Claim(id chunk.ID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[id] {
		return false
	}
	d.seen[id] = true
	return true
}
func (d *discardTarget) Put(chunk.ID, []byte, int) error { return nil }
func (d *discardTarget) Sealer() *crypt.Sealer           { return d.sealer }

// BenchmarkPipeline runs the whole backup pipeline (zero detection, CDC,
// BLAKE3, zstd, AES-GCM) over a 256 MiB mix on all cores; blobs are dropped.
func BenchmarkPipeline(b *testing.B) {
	img := enginetest.Mix(256 << 20)
	c := enginetest.Chunker(b, chunker.DefaultChunkMin, chunker.DefaultChunkAvg, chunker.DefaultChunkMax)
	codec := enginetest.Codec(b, "zstd", "fastest", c.Max(), 2)
	s, _ := crypt.NewSealer(crypt.AES256GCM, [32]byte{1})
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2}, &discardTarget{sealer: s, seen: map[chunk.ID]bool{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkRestore reads back the 256 MiB mix (AES-GCM open, zstd decode,
// BLAKE3 check, aligned pieces) into memory on all cores.
func BenchmarkRestore(b *testing.B) {
	img := enginetest.Mix(256 << 20)
	c := enginetest.Chunker(b, chunker.DefaultChunkMin, chunker.DefaultChunkAvg, chunker.DefaultChunkMax)
	codec := enginetest.Codec(b, "zstd", "fastest", c.Max(), 2)
	tgt := newMemTarget(b)
	p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2}, tgt)
	if err != nil {
		b.Fatal(err)
	}
	runs, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil)
	p.Close()
	if err != nil {
		b.Fatal(err)
	}
	out := writerAt(make([]byte, len(img)))
	rd := &Reader{Codec: codec, Parallelism: 2}
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		if err := rd.Restore(context.Background(), runs, memSource{tgt}, out, true, 4096, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineUnchanged runs the pipeline over the 256 MiB mix a
// second time: every chunk is already in the target, as in an unchanged
// re-backup (zero detection, CDC and BLAKE3 only).
func BenchmarkPipelineUnchanged(b *testing.B) {
	img := enginetest.Mix(256 << 20)
	c := enginetest.Chunker(b, chunker.DefaultChunkMin, chunker.DefaultChunkAvg, chunker.DefaultChunkMax)
	codec := enginetest.Codec(b, "zstd", "fastest", c.Max(), 2)
	s, _ := crypt.NewSealer(crypt.AES256GCM, [32]byte{1})
	t := &discardTarget{sealer: s, seen: map[chunk.ID]bool{}}
	var parent []chunk.Run
	run := func(withParent bool) {
		p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2}, t)
		if err != nil {
			b.Fatal(err)
		}
		var from []chunk.Run
		if withParent {
			from = parent
		}
		runs, err := p.AddDiskFrom(context.Background(), bytesAt{img}, int64(len(img)), from, nil)
		if err != nil {
			b.Fatal(err)
		}
		parent = runs
		p.Close()
	}
	run(false)
	// The parent's runs given (an incremental): unchanged chunks are
	// found by hashing at the parent's boundaries, without the chunker.
	for _, withParent := range []bool{false, true} {
		b.Run(map[bool]string{false: "cdc", true: "parent"}[withParent], func(b *testing.B) {
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				run(withParent)
			}
		})
	}
}
