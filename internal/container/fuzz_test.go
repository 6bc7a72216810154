package container

import (
	"bytes"
	"os"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

// FuzzReadFile feeds arbitrary bytes to the container parser with a fixed
// key and reads everything the file claims to hold.
func FuzzReadFile(f *testing.F) {
	master := bytes.Repeat([]byte{7}, 32)
	dir := f.TempDir()
	for _, c := range []string{crypt.AES256GCM, crypt.None} {
		keys, _ := NewKeys(c, master)
		if c == crypt.None {
			keys, _ = NewKeys(c, nil)
		}
		w, err := CreateFile(dir, "seed", KindPack, keys, map[string]int{"a": 1}, FileOpts{})
		if err != nil {
			f.Fatal(err)
		}
		cdc, _ := codec.New("zstd", "", 1<<20, 1)
		h := chunk.NewIDHasher(crypt.ChunkIDKey(master))
		p := []byte("some chunk data some chunk data")
		id := h.Sum(p)
		blob, _ := SealBlob(cdc, keys.Sealer, id, p, nil, nil)
		w.PutBlob(id, blob, len(p))
		w.AddSection("index", chunk.EncodeIndex(nil, w.Entries()))
		w.Close()
		b, _ := os.ReadFile(w.tmp)
		w.Abort()
		f.Add(b)
		cdc.Close()
	}
	cdc := enginetest.Codec(f, "zstd", "", 1<<20, 1)
	h := chunk.NewIDHasher(crypt.ChunkIDKey(master))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range [][]byte{master, nil} {
			r, err := ReadFile(bytes.NewReader(b), int64(len(b)), "fuzz", m, false)
			if err != nil {
				continue
			}
			ib, err := r.Section("index")
			if err != nil {
				continue
			}
			_, es, err := chunk.ParseIndex(ib, true)
			if err != nil {
				continue
			}
			for _, e := range es {
				blob, err := r.ReadBlob(nil, e.Off, e.CLen)
				if err != nil {
					continue
				}
				OpenBlob(cdc, r.Sealer(), h, e.ID, blob, int(e.PLen), nil, make([]byte, 0, e.PLen))
			}
		}
	})
}
