package archive

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"sync"
	"testing"

	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/dedup"
)

// checkImage reads every disk of archive id at random offsets and lengths
// (from several goroutines, with a small cache so that chunks are evicted
// and loaded again) and sequentially, comparing with want.
func checkImage(t *testing.T, r *Repo, id string, want map[string][]byte) {
	t.Helper()
	m, err := r.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ir, err := r.OpenImage(m, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer ir.Close()
	for _, d := range m.Disks {
		di, err := ir.Disk(d.Label)
		if err != nil {
			t.Fatal(err)
		}
		w := want[d.Label]
		if di.Size() != int64(len(w)) {
			t.Fatalf("%s %s: size %d, want %d", id, d.Label, di.Size(), len(w))
		}
		// Sequential, in reads of an odd size: also drives the read-ahead.
		got, err := io.ReadAll(io.NewSectionReader(di, 0, di.Size()+100))
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("%s %s: sequential read differs (err %v, %d of %d bytes)", id, d.Label, err, len(got), len(w))
		}
		if len(w) == 0 {
			continue
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rnd := mrand.New(mrand.NewPCG(uint64(g), 3))
				for range 40 {
					off := rnd.Int64N(int64(len(w)))
					n := 1 + rnd.IntN(200<<10)
					buf := make([]byte, n)
					for i := range buf {
						buf[i] = 0xAA // holes must be zeroed
					}
					k, err := di.ReadAt(buf, off)
					wantN := min(n, len(w)-int(off))
					if k != wantN || (err != nil && (err != io.EOF || wantN == n)) || !bytes.Equal(buf[:k], w[off:off+int64(k)]) {
						errs <- errors.New("random read differs")
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatalf("%s %s: %v", id, d.Label, err)
		}
		if _, err := di.ReadAt(make([]byte, 1), di.Size()); err != io.EOF {
			t.Fatalf("read at the end: %v, want io.EOF", err)
		}
	}
}

// TestImageReaderChain reads every archive of a full -> incremental ->
// differential chain, pool and store, at random offsets bit-exact.
func TestImageReaderChain(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			r := v.open(t, dir, testKey(t))
			random := make([]byte, 1<<20+77)
			rand.Read(random)
			disks := map[string][]byte{
				"vda":  mixImage(21, 3<<20+4097, 256<<10),
				"vdb":  random,
				"vdc":  {},
				"zero": make([]byte, 2<<20+3),
			}
			order := []string{"vda", "vdb", "vdc", "zero"}
			type point struct {
				id    string
				state map[string][]byte
			}
			var points []point
			for _, typ := range []Type{Full, Incremental, Differential} {
				s := backupDisks(t, r, "vm-img", typ, disks, order)
				if s.Type != typ {
					t.Fatalf("backup type %s, want %s", s.Type, typ)
				}
				points = append(points, point{s.ArchiveID, cloneDisks(disks)})
				scatter(disks["vda"], uint64(len(points)), 0.01)
				copy(disks["vdb"][len(points)*1000:], "changed")
			}
			for _, p := range points {
				checkImage(t, r, p.id, p.state)
			}
		})
	}
}

// TestImageReaderDamage flips a byte in a blob of a pool archive: the
// reads that need that chunk fail with an integrity error naming the
// archive, the disk and the chunk's byte range; every other read of the
// disk still returns the right bytes.
func TestImageReaderDamage(t *testing.T) {
	dir := t.TempDir()
	r := variant{name: "pool", cipher: "aes-256-gcm"}.open(t, dir, testKey(t))
	img := make([]byte, 4<<20)
	rand.Read(img) // no chunk twice: one damaged blob is one range
	s := backupDisks(t, r, "vm-dmg", Full, map[string][]byte{"vda": img}, []string{"vda"})
	f, err := container.OpenFile(s.Path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := f.BlobArea()
	f.Close()
	b, err := os.ReadFile(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[lo+(hi-lo)/2] ^= 0x01
	if err := os.WriteFile(s.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := r.Load(context.Background(), s.ArchiveID)
	if err != nil {
		t.Fatal(err)
	}
	ir, err := r.OpenImage(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ir.Close()
	di, _ := ir.Disk("vda")
	const step = 32 << 10
	var bad *dedup.RangeError
	failed, ok := 0, 0
	for off := int64(0); off < di.Size(); off += step {
		buf := make([]byte, step)
		_, err := di.ReadAt(buf, off)
		if err == nil {
			if !bytes.Equal(buf, img[off:off+step]) {
				t.Fatalf("read at %d returned wrong data", off)
			}
			ok++
			continue
		}
		var re *dedup.RangeError
		if !errors.Is(err, ErrIntegrity) || !errors.As(err, &re) {
			t.Fatalf("read at %d: %v: not an integrity error with a range", off, err)
		}
		for _, want := range []string{s.ArchiveID, "disk vda", "disk bytes"} {
			if !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Fatalf("error %q does not name %q", err, want)
			}
		}
		if bad != nil && (re.Off != bad.Off || re.End != bad.End) {
			t.Fatalf("two damaged ranges %d-%d and %d-%d for one flipped byte", bad.Off, bad.End, re.Off, re.End)
		}
		bad = re
		if off+step <= re.Off || off >= re.End {
			t.Fatalf("read %d-%d failed for damage at %d-%d it does not touch", off, off+step, re.Off, re.End)
		}
		failed++
	}
	if bad == nil || ok == 0 {
		t.Fatalf("%d reads failed, %d succeeded: want some of each", failed, ok)
	}
	// Every read that touches the range failed (the loop above checked
	// that no other did).
	if want := int((bad.End+step-1)/step - bad.Off/step); failed != want {
		t.Fatalf("%d reads failed, want the %d that touch %d-%d", failed, want, bad.Off, bad.End)
	}
}
