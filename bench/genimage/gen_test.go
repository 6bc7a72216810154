package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const testSize = 16<<20 + 12345 // not a multiple of an extent or a block

func TestExtentKindsProportionsAndSeed(t *testing.T) {
	p := Params{Size: 2 << 30, Seed: 7}
	kinds := ExtentKinds(p)
	if len(kinds) != 2048 {
		t.Fatalf("got %d extents, want 2048", len(kinds))
	}
	count := map[Kind]int{}
	for _, k := range kinds {
		count[k]++
	}
	if count[Zero] != 1024 || count[Random] != 614 || count[Text] != 410 {
		t.Fatalf("kinds %v, want 1024 zero, 614 random, 410 text", count)
	}
	// Shuffled: the first 1024 extents are not all zeros (sorted order would be).
	firstZeros := 0
	for _, k := range kinds[:1024] {
		if k == Zero {
			firstZeros++
		}
	}
	if firstZeros > 700 || firstZeros < 324 {
		t.Fatalf("%d of the first 1024 extents are zero: not shuffled", firstZeros)
	}
	other := ExtentKinds(Params{Size: p.Size, Seed: 8})
	if bytes.Equal(kindBytes(kinds), kindBytes(other)) {
		t.Fatal("seeds 7 and 8 give the same layout")
	}
	if !bytes.Equal(kindBytes(kinds), kindBytes(ExtentKinds(p))) {
		t.Fatal("the same seed gives different layouts")
	}
}

func kindBytes(ks []Kind) []byte {
	b := make([]byte, len(ks))
	for i, k := range ks {
		b[i] = byte(k)
	}
	return b
}

func TestTextCompressesLikeProse(t *testing.T) {
	v := newVocab(1)
	buf := make([]byte, ExtentSize)
	v.fill(buf, pcgSource(1, domainExtent, 3))
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
	_, _ = w.Write(buf)
	_ = w.Close()
	ratio := float64(len(buf)) / float64(z.Len())
	t.Logf("gzip -6 ratio %.2f", ratio)
	if ratio < 3 || ratio > 4 {
		t.Fatalf("text compresses %.2fx with gzip; want prose-like 3-4x", ratio)
	}
	lines := bytes.Split(buf, []byte("\n"))
	for i, l := range lines[:len(lines)-1] {
		if len(l) > lineWidth {
			t.Fatalf("line %d has %d characters (> %d): %q", i, len(l), lineWidth, l)
		}
	}
	if n := len(lines); n < len(buf)/(lineWidth+1) {
		t.Fatalf("%d lines in %d bytes: lines not wrapped", n, len(buf))
	}
	other := make([]byte, ExtentSize)
	v.fill(other, pcgSource(1, domainExtent, 4))
	if bytes.Equal(buf[:4096], other[:4096]) {
		t.Fatal("two text extents start alike")
	}
}

func TestImagesDeterministicAndMutationsExact(t *testing.T) {
	ctx := context.Background()
	p := Params{Size: testSize, Seed: 42}
	dirs := []string{t.TempDir(), t.TempDir()}
	var sums [][3][32]byte
	for _, d := range dirs {
		var s [3][32]byte
		base := filepath.Join(d, "base.img")
		if _, err := WriteBase(ctx, base, p); err != nil {
			t.Fatal(err)
		}
		s[0] = fileSum(t, base)
		for i, m := range []Mutation{Scattered, Clustered} {
			out := filepath.Join(d, string(m)+".img")
			st, err := WriteMutation(ctx, base, out, m, p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Bytes != int64(st.Writes)*map[Mutation]int64{Scattered: BlockSize, Clustered: RunSize}[m] {
				t.Fatalf("%s: %d writes but %d bytes", m, st.Writes, st.Bytes)
			}
			s[i+1] = fileSum(t, out)
		}
		sums = append(sums, s)
	}
	if sums[0] != sums[1] {
		t.Fatal("the same seed wrote different images")
	}

	base := readFile(t, filepath.Join(dirs[0], "base.img"))
	if int64(len(base)) != p.Size {
		t.Fatalf("base has %d bytes, want %d", len(base), p.Size)
	}
	kinds := ExtentKinds(p)
	for i, k := range kinds {
		e := base[i*ExtentSize : min(len(base), (i+1)*ExtentSize)]
		if isZero(e) != (k == Zero) {
			t.Fatalf("extent %d (%s): all-zero=%v", i, k, isZero(e))
		}
	}
	for _, m := range []Mutation{Scattered, Clustered} {
		mut := readFile(t, filepath.Join(dirs[0], string(m)+".img"))
		plan, err := Plan(m, p)
		if err != nil {
			t.Fatal(err)
		}
		changed := make([]bool, len(base)/BlockSize+1)
		for _, w := range plan {
			if w.Off%BlockSize != 0 || w.Off+w.Len > p.Size {
				t.Fatalf("%s: write %+v not block-aligned or past the end", m, w)
			}
			for o := w.Off; o < w.Off+w.Len; o += BlockSize {
				if changed[o/BlockSize] {
					t.Fatalf("%s: block %d written twice", m, o/BlockSize)
				}
				changed[o/BlockSize] = true
			}
		}
		nChanged := 0
		for b := 0; b*BlockSize < len(base); b++ {
			lo, hi := b*BlockSize, min(len(base), (b+1)*BlockSize)
			differs := !bytes.Equal(base[lo:hi], mut[lo:hi])
			if differs != changed[b] {
				t.Fatalf("%s: block %d differs=%v, planned=%v", m, b, differs, changed[b])
			}
			if differs {
				nChanged++
			}
		}
		pct := 100 * float64(nChanged*BlockSize) / float64(p.Size)
		if pct < 0.9 || pct > 7 { // 16 MiB: clustered rounds up to one 1 MiB run (6 %)
			t.Fatalf("%s changed %.2f %% of the image", m, pct)
		}
	}
}

func TestPlanScatteredCoversTheImage(t *testing.T) {
	p := Params{Size: 2 << 30, Seed: 1}
	plan, err := Plan(Scattered, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 5243 {
		t.Fatalf("%d writes, want 1 %% of 524288 blocks = 5243", len(plan))
	}
	// Every eighth of the image gets roughly its share.
	var per [8]int
	for _, w := range plan {
		per[w.Off*8/p.Size]++
	}
	for i, n := range per {
		if n < 500 || n > 810 {
			t.Fatalf("eighth %d got %d of %d writes: not spread", i, n, len(plan))
		}
	}
	cl, err := Plan(Clustered, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl) != 20 {
		t.Fatalf("clustered: %d runs, want 20 (1 %% of 2 GiB in 1 MiB runs)", len(cl))
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"2G": 2 << 30, "256M": 256 << 20, "64k": 64 << 10, "2GiB": 2 << 30, "1000": 1000} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1M", "1.5G", "12Q"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fileSum(t *testing.T, p string) [32]byte {
	return sha256.Sum256(readFile(t, p))
}

func BenchmarkRandomExtent(b *testing.B) {
	buf := make([]byte, ExtentSize)
	b.SetBytes(ExtentSize)
	for i := 0; b.Loop(); i++ {
		fillExtent(buf, Random, i, Params{Seed: 1}, nil)
	}
}

func BenchmarkTextExtent(b *testing.B) {
	buf := make([]byte, ExtentSize, ExtentSize+textSlack)
	v := newVocab(1)
	b.SetBytes(ExtentSize)
	for i := 0; b.Loop(); i++ {
		fillExtent(buf, Text, i, Params{Seed: 1}, v)
	}
}

func BenchmarkNewVocab(b *testing.B) {
	for b.Loop() {
		newVocab(1)
	}
}

func TestChainAccumulatesFreshScatteredWrites(t *testing.T) {
	ctx := context.Background()
	p := Params{Size: testSize, Seed: 42}
	d := t.TempDir()
	if _, err := WriteBase(ctx, filepath.Join(d, "base.img"), p); err != nil {
		t.Fatal(err)
	}
	if err := WriteChain(ctx, d, 2, p, nil); err != nil {
		t.Fatal(err)
	}
	// Extending the chain keeps the steps written and adds the third.
	var wrote []int
	if err := WriteChain(ctx, d, 3, p, func(k int, _ string, _ MutationStats) { wrote = append(wrote, k) }); err != nil {
		t.Fatal(err)
	}
	if len(wrote) != 1 || wrote[0] != 3 {
		t.Fatalf("extending the chain to 3 wrote steps %v, want [3]", wrote)
	}
	scattered, _ := Plan(Scattered, p)
	prev := readFile(t, filepath.Join(d, "base.img"))
	base := prev
	everChanged := map[int]bool{}
	for k := 1; k <= 3; k++ {
		cur := readFile(t, filepath.Join(d, ChainName(k)))
		plan := ChainPlan(p, k)
		if len(plan) != len(scattered) {
			t.Fatalf("step %d: %d writes, want %d (1 %% as scattered.img)", k, len(plan), len(scattered))
		}
		if slices.Equal(plan, scattered) || (k > 1 && slices.Equal(plan, ChainPlan(p, k-1))) {
			t.Fatalf("step %d repeats another plan", k)
		}
		planned := map[int]bool{}
		for _, w := range plan {
			planned[int(w.Off/BlockSize)] = true
			everChanged[int(w.Off/BlockSize)] = true
		}
		for b := 0; b*BlockSize < len(cur); b++ {
			lo, hi := b*BlockSize, min(len(cur), (b+1)*BlockSize)
			if differs := !bytes.Equal(prev[lo:hi], cur[lo:hi]); differs != planned[b] {
				t.Fatalf("step %d: block %d differs from step %d: %v, planned %v", k, b, k-1, differs, planned[b])
			}
			if differs := !bytes.Equal(base[lo:hi], cur[lo:hi]); differs != everChanged[b] {
				t.Fatalf("step %d: block %d differs from base: %v, changed by a step so far: %v", k, b, differs, everChanged[b])
			}
		}
		prev = cur
	}
}
