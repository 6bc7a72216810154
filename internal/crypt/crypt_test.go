package crypt

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeygenAndLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "sub", "master-key")
	key, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize || bytes.Equal(key, make([]byte, KeySize)) {
		t.Fatal("bad key")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	for _, d := range []string{filepath.Join(dir, "keys"), filepath.Join(dir, "keys", "sub")} {
		st, _ := os.Stat(d)
		if st.Mode().Perm() != 0o700 {
			t.Fatalf("%s mode %v, want 0700", d, st.Mode().Perm())
		}
	}
	if _, err := GenerateKeyFile(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second keygen: %v", err)
	}
	got, err := LoadKey(path)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("load: %v", err)
	}
	// The paper copy, and its hex digits alone, are valid key files too.
	paper := Paper(key)
	var hexDigits strings.Builder
	for _, line := range strings.Split(paper, "\n") {
		if _, rest, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, "checksum") {
			digits, _, _ := strings.Cut(rest, "|")
			hexDigits.WriteString(digits + "\n")
		}
	}
	for name, content := range map[string]string{"from-paper": paper, "from-digits": hexDigits.String()} {
		p2 := filepath.Join(dir, name)
		os.WriteFile(p2, []byte(content), 0o600)
		got, err = LoadKey(p2)
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("key %s: %v", name, err)
		}
	}
	if !strings.Contains(paper, "checksum: "+Checksum(key)) || strings.Count(paper, "\n") != 3 {
		t.Fatalf("paper copy:\n%s", paper)
	}
}

func TestLoadKeyErrorsSayHowToCreate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content []byte
	}{{"missing", nil}, {"short", []byte("abc")}, {"badhex", bytes.Repeat([]byte("zz"), 32)}} {
		p := filepath.Join(dir, tc.name)
		if tc.content != nil {
			os.WriteFile(p, tc.content, 0o600)
		}
		_, err := LoadKey(p)
		if err == nil || !strings.Contains(err.Error(), "keygen") {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.content != nil && strings.Contains(err.Error(), string(tc.content)) {
			t.Fatalf("%s: error shows the file's content", tc.name)
		}
	}
	if _, err := LoadKey(""); err == nil {
		t.Fatal("empty path accepted")
	}
}

func TestDerivation(t *testing.T) {
	m1 := bytes.Repeat([]byte{1}, 32)
	m2 := bytes.Repeat([]byte{2}, 32)
	salt := []byte("0123456789abcdef")
	if ChunkIDKey(m1) == ChunkIDKey(m2) || ChunkIDKey(m1) == ChunkIDKey(nil) {
		t.Fatal("chunk id keys collide")
	}
	a, b := ChunkIDKey(m1), ChunkIDKey(bytes.Clone(m1))
	c, d := DataKey(m1, salt), DataKey(bytes.Clone(m1), bytes.Clone(salt))
	if a != b || c != d {
		t.Fatal("derivation not deterministic")
	}
	if DataKey(m1, salt) == DataKey(m1, []byte("0123456789abcdeX")) || DataKey(m1, salt) == ChunkIDKey(m1) {
		t.Fatal("data keys collide")
	}
	if KeyCheck(m1, salt) == KeyCheck(m2, salt) {
		t.Fatal("key checks collide")
	}
	// The fixed chunk-id key of cipher none is part of the format
	// (docs/format.md): it must never change.
	k := ChunkIDKey(nil)
	if got := hex.EncodeToString(k[:]); got != "92673637d22f8cb3a133b6ecc956c8ad94f6345bdd5969c3ec559016aca9b8ac" {
		t.Fatalf("chunk id key of cipher none changed: %s", got)
	}
}
