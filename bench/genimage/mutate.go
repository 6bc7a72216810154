package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
)

// Mutation names a change applied to a copy of the base image.
type Mutation string

// The mutations.
const (
	// Scattered rewrites 1 % of the image's 4 KiB blocks with random data at
	// seeded random, distinct block offsets anywhere in the image.
	Scattered Mutation = "scattered"
	// Clustered rewrites 1 % of the image as 1 MiB runs of random data at
	// seeded random, 4 KiB-aligned, non-overlapping offsets.
	Clustered Mutation = "clustered"
)

// RunSize is the length of one clustered run.
const RunSize = 1 << 20

// Write is one rewritten byte range.
type Write struct {
	Off, Len int64
}

// Plan lists the writes of a mutation, sorted by offset, deterministic for p.
func Plan(m Mutation, p Params) ([]Write, error) {
	blocks := p.Size / BlockSize
	switch m {
	case Scattered:
		return scatteredPlan(blocks, pcg(p.Seed, domainScatteredPlan, 0)), nil
	case Clustered:
		runBlocks := int64(RunSize / BlockSize)
		if blocks < 4*runBlocks {
			return nil, fmt.Errorf("clustered mutation: the image must be at least %d bytes", 4*RunSize)
		}
		k := (p.Size/100 + RunSize/2) / RunSize // 1 % in 1 MiB runs, rounded
		k = max(k, 1)
		r := pcg(p.Seed, domainClusteredPlan, 0)
		var ws []Write
		for int64(len(ws)) < k { // runs cover <= ~1 % of the image: rejection ends fast
			off := r.Int64N(blocks-runBlocks+1) * BlockSize
			if slices.ContainsFunc(ws, func(w Write) bool { return off < w.Off+w.Len && w.Off < off+RunSize }) {
				continue
			}
			ws = append(ws, Write{Off: off, Len: RunSize})
		}
		slices.SortFunc(ws, func(a, b Write) int { return cmp.Compare(a.Off, b.Off) })
		return ws, nil
	}
	return nil, fmt.Errorf("unknown mutation %q (want scattered or clustered)", m)
}

// scatteredPlan picks 1 % (rounded, at least one) of blocks distinct 4 KiB
// blocks uniformly with r, sorted by offset.
func scatteredPlan(blocks int64, r *rand.Rand) []Write {
	k := (blocks + 50) / 100 // 1 %, rounded
	if k == 0 && blocks > 0 {
		k = 1
	}
	// Floyd's algorithm: k distinct blocks out of blocks, uniformly.
	chosen := make(map[int64]bool, k)
	for j := blocks - k; j < blocks; j++ {
		t := r.Int64N(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
	}
	ws := make([]Write, 0, k)
	for b := range chosen {
		ws = append(ws, Write{Off: b * BlockSize, Len: BlockSize})
	}
	slices.SortFunc(ws, func(a, b Write) int { return cmp.Compare(a.Off, b.Off) })
	return ws
}

// ChainPlan is step k (1-based) of the chain: a fresh scattered 1 % of the
// image's 4 KiB blocks, drawn independently of the other steps and of
// scattered.img (a block may be hit again by a later step).
func ChainPlan(p Params, k int) []Write {
	return scatteredPlan(p.Size/BlockSize, pcg(p.Seed, domainChainPlan, uint64(k)))
}

// ChainName is the file name of chain step k.
func ChainName(k int) string { return fmt.Sprintf("chain-%d.img", k) }

// WriteChain writes chain-1.img ... chain-n.img into dir: chain-k is
// chain-(k-1) (base.img for k = 1) with ChainPlan(p, k) applied, so the
// changes accumulate like a disk's between nightly backups. A step whose file
// already exists with the image's size is kept (the content is
// deterministic for p), so a longer chain extends a shorter one. report is
// called after each step written.
func WriteChain(ctx context.Context, dir string, n int, p Params, report func(k int, path string, st MutationStats)) error {
	prev := filepath.Join(dir, "base.img")
	for k := 1; k <= n; k++ {
		out := filepath.Join(dir, ChainName(k))
		if fi, err := os.Stat(out); err == nil && fi.Size() == p.Size {
			prev = out
			continue
		}
		st, err := applyPlan(ctx, prev, out, ChainPlan(p, k), chacha(p.Seed, domainChainData, uint64(k)), p)
		if err != nil {
			return fmt.Errorf("chain step %d: %w", k, err)
		}
		if report != nil {
			report(k, out, st)
		}
		prev = out
	}
	return nil
}

// MutationStats describes a written mutation.
type MutationStats struct {
	Writes     int
	Bytes      int64
	CopyMethod string
}

// WriteMutation copies base to out (reflink or sparse copy) and applies m's
// plan in place, through a temporary name.
func WriteMutation(ctx context.Context, base, out string, m Mutation, p Params) (MutationStats, error) {
	plan, err := Plan(m, p)
	if err != nil {
		return MutationStats{}, err
	}
	var stream uint64 = 1
	if m == Clustered {
		stream = 2
	}
	st, err := applyPlan(ctx, base, out, plan, chacha(p.Seed, domainMutationData, stream), p)
	if err != nil {
		return st, fmt.Errorf("%s: %w", m, err)
	}
	return st, nil
}

// applyPlan copies base to out (reflink or sparse copy) and writes plan's
// ranges with bytes from src, through a temporary name.
func applyPlan(ctx context.Context, base, out string, plan []Write, src *rand.ChaCha8, p Params) (MutationStats, error) {
	var st MutationStats
	if fi, err := os.Stat(base); err != nil {
		return st, fmt.Errorf("the mutation needs %s: %w (write base.img first with -only base)", base, err)
	} else if fi.Size() != p.Size {
		return st, fmt.Errorf("image %s has %d bytes, want %d: regenerate it with the same -size", base, fi.Size(), p.Size)
	}
	tmp := out + ".tmp"
	method, err := copyImage(ctx, base, tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return st, fmt.Errorf("copy %s to %s: %w", base, tmp, err)
	}
	st.CopyMethod = method
	f, err := os.OpenFile(tmp, os.O_WRONLY, 0)
	if err != nil {
		_ = os.Remove(tmp)
		return st, fmt.Errorf("open %s: %w", tmp, err)
	}
	buf := make([]byte, RunSize)
	for _, w := range plan {
		if err := ctx.Err(); err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			return st, err
		}
		b := buf[:w.Len]
		_, _ = src.Read(b) // never fails
		if _, err := f.WriteAt(b, w.Off); err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			return st, fmt.Errorf("write %s at %d: %w", tmp, w.Off, err)
		}
		st.Writes++
		st.Bytes += w.Len
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return st, fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return st, fmt.Errorf("rename %s: %w", tmp, err)
	}
	return st, nil
}
