package archive

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

// memDisk is a disk image in memory that is also an io.WriterAt target.
type memDisk struct{ b []byte }

func (m *memDisk) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, fmt.Errorf("read past end")
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, fmt.Errorf("short read")
	}
	return n, nil
}

func (m *memDisk) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(m.b)) {
		return 0, fmt.Errorf("write past end: %d+%d > %d", off, len(p), len(m.b))
	}
	return copy(m.b[off:], p), nil
}

// textBlock returns pseudo text: words from a small vocabulary.
func textBlock(r *mrand.Rand, n int) []byte {
	words := strings.Fields("the quick brown fox jumps over lazy dog backup restore volume snapshot cloud archive chunk store index manifest lorem ipsum dolor sit amet")
	var sb bytes.Buffer
	for sb.Len() < n {
		sb.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			sb.WriteByte('\n')
		} else {
			sb.WriteByte(' ')
		}
	}
	return sb.Bytes()[:n]
}

// mixImage builds an image of size bytes from extents of ext bytes:
// zeros, random and text, deterministic for a seed.
func mixImage(seed uint64, size, ext int) []byte {
	r := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := make([]byte, size)
	for off := 0; off < size; off += ext {
		n := min(ext, size-off)
		switch k := r.IntN(10); {
		case k < 5: // zeros
		case k < 8:
			for i := off; i < off+n; i += 8 {
				v := r.Uint64()
				for b := i; b < min(i+8, off+n); b++ {
					img[b] = byte(v)
					v >>= 8
				}
			}
		default:
			copy(img[off:], textBlock(r, n))
		}
	}
	return img
}

// scatter overwrites fraction of the 4 KiB blocks of img with random data
// (deterministic for a seed).
func scatter(img []byte, seed uint64, frac float64) {
	r := mrand.New(mrand.NewPCG(seed, 7))
	blocks := len(img) / 4096
	for i := 0; i < int(float64(blocks)*frac); i++ {
		b := r.IntN(blocks)
		for k := b * 4096; k < b*4096+4096; k++ {
			img[k] = byte(r.Uint32())
		}
	}
}

func testKey(t testing.TB) []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func vmJSON(name string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"name": name, "flavor": "m1.small", "metadata": map[string]string{"a": "b"}})
	return b
}

func backupDisks(t testing.TB, r *Repo, vmID string, typ Type, disks map[string][]byte, order []string) *Summary {
	t.Helper()
	ctx := context.Background()
	b, err := r.Begin(ctx, BackupSpec{VMID: vmID, VMName: "vm " + vmID, Type: typ, VM: vmJSON(vmID)})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	for _, l := range order {
		d := disks[l]
		if err := b.AddDisk(ctx, l, &memDisk{d}, int64(len(d)), nil); err != nil {
			b.Abort()
			t.Fatalf("AddDisk %s: %v", l, err)
		}
	}
	s, err := b.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return s
}

func restoreAll(t testing.TB, r *Repo, id string, disks map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	m, err := r.Load(ctx, id)
	if err != nil {
		t.Fatalf("Load %s: %v", id, err)
	}
	if len(m.Disks) != len(disks) {
		t.Fatalf("archive %s has %d disks, want %d", id, len(m.Disks), len(disks))
	}
	for _, d := range m.Disks {
		want, ok := disks[d.Label]
		if !ok || d.Size != int64(len(want)) {
			t.Fatalf("disk %s size %d unexpected", d.Label, d.Size)
		}
		for _, skip := range []bool{true, false} {
			out := &memDisk{make([]byte, d.Size)}
			if !skip {
				for i := range out.b {
					out.b[i] = 0xAA // holes must be written as zeros
				}
			}
			if err := r.RestoreDisk(ctx, m, d.Label, out, RestoreOptions{SkipHoles: skip}); err != nil {
				t.Fatalf("RestoreDisk %s/%s: %v", id, d.Label, err)
			}
			if !bytes.Equal(out.b, want) {
				t.Fatalf("archive %s disk %s (skipHoles %v): restored data differs", id, d.Label, skip)
			}
		}
	}
}
