package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
)

const (
	// ExtentSize is the unit of the base image's layout.
	ExtentSize = 1 << 20
	// BlockSize is the unit of the scattered mutation (a file system block).
	BlockSize = 4096
)

// Kind is what one extent of the base image holds.
type Kind uint8

// Extent kinds.
const (
	Zero Kind = iota
	Random
	Text
)

func (k Kind) String() string {
	switch k {
	case Zero:
		return "zero"
	case Random:
		return "random"
	case Text:
		return "text"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Params fix an image: the same Params give the same bytes.
type Params struct {
	Size int64
	Seed uint64
}

// Stream domains: every random decision draws from its own stream, so changing
// one part of the layout does not move the others.
const (
	domainLayout uint64 = iota + 1
	domainExtent
	domainVocab
	domainScatteredPlan
	domainClusteredPlan
	domainMutationData
	domainChainPlan
	domainChainData
)

// mix64 is splitmix64's finalizer; it spreads (seed, domain, index) into
// independent-looking stream seeds.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func pcgSource(seed, domain, index uint64) *rand.PCG {
	a := mix64(seed ^ mix64(domain<<32|1))
	return rand.NewPCG(a, mix64(a^mix64(index+0x51ed27)))
}

func pcg(seed, domain, index uint64) *rand.Rand {
	return rand.New(pcgSource(seed, domain, index))
}

func chacha(seed, domain, index uint64) *rand.ChaCha8 {
	var k [32]byte
	x := mix64(seed ^ mix64(domain<<32|2))
	for i := 0; i < 4; i++ {
		x = mix64(x ^ index ^ uint64(i)<<56)
		binary.LittleEndian.PutUint64(k[8*i:], x)
	}
	return rand.NewChaCha8(k)
}

// ExtentKinds is the base image's layout: one kind per 1 MiB extent (the last
// one may be shorter), 50 % zero, 30 % random and 20 % text, shuffled.
func ExtentKinds(p Params) []Kind {
	n := int((p.Size + ExtentSize - 1) / ExtentSize)
	zeros := (n*50 + 50) / 100
	random := (n*30 + 50) / 100
	if zeros+random > n {
		random = n - zeros
	}
	kinds := make([]Kind, n)
	for i := range kinds {
		switch {
		case i < zeros:
			kinds[i] = Zero
		case i < zeros+random:
			kinds[i] = Random
		default:
			kinds[i] = Text
		}
	}
	r := pcg(p.Seed, domainLayout, 0)
	r.Shuffle(n, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	return kinds
}

// BaseStats counts the extents written.
type BaseStats struct {
	Extents, Zero, Random, Text int
}

// fillExtent writes extent i's content into buf (len(buf) <= ExtentSize).
func fillExtent(buf []byte, k Kind, i int, p Params, v *vocab) {
	switch k {
	case Zero:
		clear(buf)
	case Random:
		_, _ = chacha(p.Seed, domainExtent, uint64(i)).Read(buf) // never fails
	case Text:
		v.fill(buf, pcgSource(p.Seed, domainExtent, uint64(i)))
	}
}

// WriteBase writes the base image to path (through a temporary name, so a
// half-written image never carries the final name). Zero extents are holes.
func WriteBase(ctx context.Context, path string, p Params) (BaseStats, error) {
	kinds := ExtentKinds(p)
	st := BaseStats{Extents: len(kinds)}
	for _, k := range kinds {
		switch k {
		case Zero:
			st.Zero++
		case Random:
			st.Random++
		case Text:
			st.Text++
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return st, fmt.Errorf("create image: %w", err)
	}
	defer func() {
		if f != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Truncate(p.Size); err != nil {
		return st, fmt.Errorf("size image %s: %w", tmp, err)
	}
	v := newVocab(p.Seed)

	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, ExtentSize, ExtentSize+textSlack)
			for i := range work {
				off := int64(i) * ExtentSize
				b := buf[:min(ExtentSize, p.Size-off)]
				fillExtent(b, kinds[i], i, p, v)
				if _, err := f.WriteAt(b, off); err != nil {
					select {
					case errs <- fmt.Errorf("write extent %d of %s: %w", i, tmp, err):
					default:
					}
				}
			}
		}()
	}
	var ferr error
feed:
	for i, k := range kinds {
		if k == Zero {
			continue
		}
		select {
		case work <- i:
		case ferr = <-errs:
			break feed
		case <-ctx.Done():
			ferr = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if ferr == nil {
		select {
		case ferr = <-errs:
		default:
		}
	}
	if ferr != nil {
		return st, ferr
	}
	if err := f.Close(); err != nil {
		return st, fmt.Errorf("close %s: %w", tmp, err)
	}
	f = nil
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return st, fmt.Errorf("rename %s: %w", tmp, err)
	}
	return st, nil
}
