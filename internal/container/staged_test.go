package container

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/enginetest"
)

func TestStagedWriter(t *testing.T) {
	enginetest.CheckDirectReturned(t)
	for _, direct := range []bool{true, false} {
		for _, total := range []int{0, 100, stageSize, 3*stageSize + 4097, 2*stageSize - 1} {
			p := filepath.Join(t.TempDir(), "f")
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			s := newStagedWriter(f, p, direct, nil)
			if direct && s.d == nil {
				t.Log("no O_DIRECT here: the direct case runs buffered")
			}
			want := make([]byte, total)
			rand.Read(want)
			r := mrand.New(mrand.NewPCG(uint64(total), 1))
			for off := 0; off < total; {
				n := min(total-off, 1+r.IntN(300000))
				if err := s.write(want[off : off+n]); err != nil {
					t.Fatal(err)
				}
				off += n
			}
			if total >= 50 {
				head := bytes.Repeat([]byte{'h'}, 50)
				if err := s.rewrite(head, 0); err != nil {
					t.Fatal(err)
				}
				copy(want, head)
			}
			if err := s.finish(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, _ := os.ReadFile(p)
			if !bytes.Equal(got, want) {
				t.Fatalf("direct %v, %d bytes: content differs (got %d bytes)", direct, total, len(got))
			}
		}
	}
}

func TestStagedWriterHash(t *testing.T) {
	enginetest.CheckDirectReturned(t)
	// The flusher hashes every byte in file order, the tail included.
	for _, total := range []int{0, 1, stageSize, 2*stageSize + 12345} {
		p := filepath.Join(t.TempDir(), "f")
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		h := blake3.New()
		s := newStagedWriter(f, p, true, h)
		want := make([]byte, total)
		rand.Read(want)
		for off := 0; off < total; {
			n := min(total-off, 70000)
			if err := s.write(want[off : off+n]); err != nil {
				t.Fatal(err)
			}
			off += n
		}
		if total > 0 && s.rewrite([]byte{1}, 0) == nil {
			t.Fatal("rewrite of a hashed file accepted")
		}
		if err := s.finish(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, _ := os.ReadFile(p)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: content differs", total)
		}
		if sum, ref := h.Sum(nil), blake3.Sum256(want); !bytes.Equal(sum, ref[:]) {
			t.Fatalf("%d bytes: hash %x, want %x", total, sum[:8], ref[:8])
		}
	}
}
