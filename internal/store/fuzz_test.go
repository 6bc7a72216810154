package store

import "testing"

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
