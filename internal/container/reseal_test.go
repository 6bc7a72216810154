package container

import (
	"bytes"
	"errors"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

func TestResealBlob(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	c := enginetest.Codec(t, "zstd", "", 1<<20, 1)
	for _, pair := range [][2]string{{"aes-256-gcm", "chacha20-poly1305"}, {"aes-256-gcm", "aes-256-gcm"}, {crypt.None, crypt.None}} {
		m := master
		if pair[0] == crypt.None {
			m = nil
		}
		k1, err := NewKeys(pair[0], m)
		if err != nil {
			t.Fatal(err)
		}
		k2, _ := NewKeys(pair[1], m)
		h := chunk.NewIDHasher(crypt.ChunkIDKey(m))
		for _, data := range [][]byte{enginetest.Text(10000), enginetest.Random(3000)} {
			id := h.Sum(data)
			blob, _ := SealBlob(c, k1.Sealer, id, data, nil, nil)
			re, _, err := ResealBlob(k1.Sealer, k2.Sealer, id, blob, nil, []byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if string(re[:6]) != "prefix" || re[6] != blob[0] || len(re)-6 != len(blob) {
				t.Fatalf("%v: resealed blob: flag %d len %d, want flag %d len %d", pair, re[6], len(re)-6, blob[0], len(blob))
			}
			got, _, err := OpenBlob(c, k2.Sealer, h, id, re[6:], len(data), nil, make([]byte, 0, len(data)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%v: open resealed: %v", pair, err)
			}
			if blob[0] == codec.Raw && pair[0] != crypt.None {
				if _, _, err := OpenBlob(c, k1.Sealer, h, id, re[6:], len(data), nil, make([]byte, 0, len(data))); err == nil {
					t.Fatalf("%v: resealed blob opens with the old key", pair)
				}
			}
			var other chunk.ID
			if _, _, err := ResealBlob(k1.Sealer, k2.Sealer, other, blob, nil, nil); !errors.Is(err, chunk.ErrDamaged) {
				t.Fatalf("%v: reseal under another id: %v", pair, err)
			}
			blob[len(blob)/2] ^= 1
			if _, _, err := ResealBlob(k1.Sealer, k2.Sealer, id, blob, nil, nil); !errors.Is(err, chunk.ErrDamaged) {
				t.Fatalf("%v: reseal of a damaged blob: %v", pair, err)
			}
		}
	}
}
