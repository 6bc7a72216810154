// Command genimage writes the benchmark's seeded raw disk image and its
// mutations, deterministic for a seed:
//
//	base.img       SIZE bytes in 1 MiB extents: 50 % zeros (holes), 30 % random,
//	               20 % text, the extent kinds in a seeded shuffled order
//	scattered.img  base.img with 1 % of its 4 KiB blocks rewritten with random
//	               data at seeded random block offsets across the whole image
//	clustered.img  base.img with 1 % of the image rewritten as 1 MiB runs of
//	               random data at seeded random 4 KiB-aligned offsets
//	chain-K.img    with -chain N, K = 1..N: chain-(K-1).img (base.img for
//	               K = 1) with a fresh scattered 1 % of its 4 KiB blocks
//	               rewritten, so the changes accumulate step by step
//
// Each mutation is a copy of base.img (a reflink where the file system can,
// otherwise a sparse copy) modified in place; both differ from base.img only.
//
//	go run ./bench/genimage -dir bench/work/images -size 2G -seed 1
//	go run ./bench/genimage -dir bench/work/images -size 2G -seed 1 -only '' -chain 10
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"rb_module_rustack/internal/units"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "genimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("genimage", flag.ContinueOnError)
	dir := fs.String("dir", "", "output directory (created if missing); required")
	sizeStr := fs.String("size", "2G", "image size: bytes or a number with K, M, G (binary units)")
	seed := fs.Uint64("seed", 1, "seed; the same seed and size give the same bytes")
	only := fs.String("only", "base,scattered,clustered", "comma-separated files to write (mutations need base.img)")
	chain := fs.Int("chain", 0, "also write chain-1.img ... chain-N.img, each the one before with a fresh scattered 1 %; steps already written are kept")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required (for example -dir bench/work/images)")
	}
	if *chain < 0 {
		return fmt.Errorf("-chain: want 0 or more steps")
	}
	size, err := parseSize(*sizeStr)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		w = strings.TrimSpace(w)
		switch w {
		case "base", "scattered", "clustered":
			want[w] = true
		case "":
		default:
			return fmt.Errorf("-only: unknown file %q (want base, scattered or clustered)", w)
		}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	p := Params{Size: size, Seed: *seed}
	base := filepath.Join(*dir, "base.img")
	if want["base"] {
		t0 := time.Now()
		st, err := WriteBase(ctx, base, p)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes, %d extents: %d zero, %d random, %d text (%.1fs)\n",
			base, size, st.Extents, st.Zero, st.Random, st.Text, time.Since(t0).Seconds())
	}
	for _, m := range []Mutation{Scattered, Clustered} {
		if !want[string(m)] {
			continue
		}
		t0 := time.Now()
		out := filepath.Join(*dir, string(m)+".img")
		st, err := WriteMutation(ctx, base, out, m, p)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d writes, %d bytes rewritten (%.2f %% of the image), copied by %s (%.1fs)\n",
			out, st.Writes, st.Bytes, 100*float64(st.Bytes)/float64(size), st.CopyMethod, time.Since(t0).Seconds())
	}
	if *chain > 0 {
		t0 := time.Now()
		err := WriteChain(ctx, *dir, *chain, p, func(k int, out string, st MutationStats) {
			fmt.Printf("%s: %d writes, %d bytes rewritten (%.2f %% of the image), copied by %s (%.1fs)\n",
				out, st.Writes, st.Bytes, 100*float64(st.Bytes)/float64(size), st.CopyMethod, time.Since(t0).Seconds())
			t0 = time.Now()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// parseSize reads "2G", "256M", "64K", "2GiB" or a plain byte count.
func parseSize(s string) (int64, error) {
	v, err := units.ParseSize(s)
	if err != nil || v <= 0 || v > 1<<50 {
		return 0, fmt.Errorf("size %q: want a positive byte count or a number with K, M, G or T", s)
	}
	return v, nil
}
