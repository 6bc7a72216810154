package dedup

import (
	"bytes"
	"os"
	"testing"

	"rb_module_rustack/internal/crypt"
)

func FuzzParseIndex(f *testing.F) {
	f.Add(EncodeIndex(nil, nil))
	f.Add(EncodeIndex([]ID{{1}}, []IndexEntry{{ID: ID{1}, Pack: 0, Off: 9, CLen: 3, PLen: 2}, {ID: ID{2}, Pack: 0, Off: 12, CLen: 3, PLen: 2}}))
	f.Add(EncodeIndex(nil, []IndexEntry{{ID: ID{1}, Pack: SelfPack, Off: 9, CLen: 3, PLen: 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, self := range []bool{false, true} {
			packs, es, err := ParseIndex(b, self)
			if err != nil {
				continue
			}
			// What parses re-encodes to the same bytes and is consistent.
			if !bytes.Equal(EncodeIndex(packs, es), b) {
				t.Fatal("parsed index does not re-encode to its input")
			}
			for _, e := range es {
				if e.Pack != SelfPack && int(e.Pack) >= len(packs) {
					t.Fatal("entry refers to a pack not listed")
				}
			}
		}
	})
}

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
		codec, _ := NewCodec("zstd", "", 1<<20, 1)
		h := NewIDHasher(crypt.ChunkIDKey(master))
		p := []byte("some chunk data some chunk data")
		id := h.Sum(p)
		blob, _ := codec.SealChunk(keys.Sealer, id, p, nil, nil)
		w.PutBlob(id, blob, len(p))
		w.AddSection("index", EncodeIndex(nil, w.Entries()))
		w.Close()
		b, _ := os.ReadFile(w.tmp)
		w.Abort()
		f.Add(b)
		codec.Close()
	}
	codec := testCodec(f, "zstd", "", 1<<20, 1)
	h := NewIDHasher(crypt.ChunkIDKey(master))
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
			_, es, err := ParseIndex(ib, true)
			if err != nil {
				continue
			}
			for _, e := range es {
				blob, err := r.ReadBlob(nil, e.Off, e.CLen)
				if err != nil {
					continue
				}
				codec.OpenChunk(r.Sealer(), h, e.ID, blob, int(e.PLen), nil, make([]byte, 0, e.PLen))
			}
		}
	})
}

func FuzzParseStoreConfig(f *testing.F) {
	f.Add([]byte(`{"format":1,"kind":"rb_module_rustack dedup store","id":"00112233445566778899aabbccddeeff","keyed":false,"created":"2025-01-01T00:00:00Z"}` + "\n" + "0000\n"))
	f.Add([]byte("x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseStoreConfig(b)
		if err == nil && (c.Format != 1 || len(c.ID) != 32) {
			t.Fatal("accepted a config with a bad format or id")
		}
	})
}
