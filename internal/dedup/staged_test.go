package dedup

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestStagedWriter(t *testing.T) {
	for _, direct := range []bool{true, false} {
		for _, total := range []int{0, 100, stageSize, 3*stageSize + 4097, 2*stageSize - 1} {
			p := filepath.Join(t.TempDir(), "f")
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			s := newStagedWriter(f, p, direct)
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
