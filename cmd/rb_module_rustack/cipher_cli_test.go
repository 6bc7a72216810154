package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rb_module_rustack/internal/crypt"
)

// cipherFixture is what every cipher's CLI run shares: a master key,
// another key and a small image (a third random, a sixth text, the rest
// a hole).
type cipherFixture struct {
	key, other, img string
	data            []byte
}

func newCipherFixture(t *testing.T) cipherFixture {
	t.Helper()
	dir := t.TempDir()
	f := cipherFixture{key: filepath.Join(dir, "key"), other: filepath.Join(dir, "other"), img: filepath.Join(dir, "disk.img")}
	for _, k := range []string{f.key, f.other} {
		if _, errOut, code := engineCLI(t, "keygen", "--key-file", k); code != 0 {
			t.Fatalf("keygen: %d %s", code, errOut)
		}
	}
	f.data = writeImage(t, f.img, 2<<20+123, 3)
	return f
}

// imageBackupJSON runs an image backup and returns its JSON summary.
func imageBackupJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := engineCLI(t, append([]string{"image", "backup", "--json", "--chunk-avg", "64K", "--chunk-min", "16K", "--chunk-max", "256K"}, args...)...)
	if code != 0 {
		t.Fatalf("backup %v: %d %s", args, code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("backup json: %v: %s", err, out)
	}
	return m
}

// TestEveryCipherCLI: for every cipher of the table, an image backup
// restores bit-exact, verify passes, a flipped byte in the archive is
// found and named, and another master key is refused as such (exit 4).
// The last ones run through the configuration's rule parameter
// (--param cipher=...) instead of --cipher.
func TestEveryCipherCLI(t *testing.T) {
	f := newCipherFixture(t)
	for i, name := range crypt.Names() {
		if name == crypt.None {
			continue // no key, nothing secret: TestEngineCLI covers it
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pool := filepath.Join(dir, "pool")
			cipherArg := []string{"--cipher", name}
			if i%3 == 2 {
				cipherArg = []string{"--param", "cipher=" + name}
			}
			m := imageBackupJSON(t, append([]string{"--pool", pool, "--key-file", f.key, "--name", "vm " + name, "--vm-id", "id-" + name,
				"--disk", "vda=" + f.img}, cipherArg...)...)
			id := m["archive"].(string)
			raw, err := os.ReadFile(filepath.Join(pool, id+".rba"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw, []byte(`"cipher":"`+name+`"`)) {
				t.Fatalf("archive header does not name cipher %s", name)
			}

			to := filepath.Join(dir, "restore")
			if _, errOut, code := engineCLI(t, "restore", id, "--pool", pool, "--key-file", f.key, "--to-dir", to); code != 0 {
				t.Fatalf("restore: %d %s", code, errOut)
			}
			if got, _ := os.ReadFile(filepath.Join(to, "vda.img")); !bytes.Equal(got, f.data) {
				t.Fatal("restored image differs")
			}
			if out, errOut, code := engineCLI(t, "verify", id, "--pool", pool, "--key-file", f.key); code != 0 || !strings.Contains(out, "OK") {
				t.Fatalf("verify: %d %s %s", code, out, errOut)
			}
			if _, errOut, code := engineCLI(t, "verify", id, "--pool", pool, "--key-file", f.other); code != exitIntegrity || !strings.Contains(errOut, "wrong master key") {
				t.Fatalf("verify with another key: %d %s", code, errOut)
			}
			if _, errOut, code := engineCLI(t, "restore", id, "--pool", pool, "--key-file", f.other, "--to-dir", filepath.Join(dir, "r2")); code != exitIntegrity || !strings.Contains(errOut, "wrong master key") {
				t.Fatalf("restore with another key: %d %s", code, errOut)
			}
			bad := bytes.Clone(raw)
			bad[len(bad)/4] ^= 0x10 // inside the chunk data of vda
			if err := os.WriteFile(filepath.Join(pool, id+".rba"), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := engineCLI(t, "verify", id, "--pool", pool, "--key-file", f.key)
			if code != exitIntegrity || !strings.Contains(out, "DAMAGED "+id+" disk vda bytes ") {
				t.Fatalf("verify of a flipped byte: %d %s %s", code, out, errOut)
			}
		})
	}
}

// TestMixedCipherChain: a full backup with one cipher and incrementals
// with others form one chain (chunk ids depend on the master key, not on
// the cipher; each archive names its own cipher), and restore bit-exact.
// Only a change between a keyed cipher and none starts a new full backup.
func TestMixedCipherChain(t *testing.T) {
	f := newCipherFixture(t)
	dir := t.TempDir()
	pool := filepath.Join(dir, "pool")
	data := f.data
	var last string
	for i, name := range []string{crypt.AES256GCM, "kuznyechik-mgm-256", "threefish-512", "sm4-128"} {
		copy(data[1000+i*70000:], "changed block "+name)
		if err := os.WriteFile(f.img, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m := imageBackupJSON(t, "--pool", pool, "--key-file", f.key, "--name", "chain", "--vm-id", "chain", "--disk", "vda="+f.img, "--type", "incremental", "--cipher", name,
			"--chunk-avg", "16K", "--chunk-min", "4K", "--chunk-max", "64K")
		want := "incremental"
		if i == 0 {
			want = "full"
		}
		if m["type"] != want || (i > 0 && m["parent"] != last) {
			t.Fatalf("%s: %v", name, m)
		}
		if i > 0 && m["bytes_stored"].(float64) > float64(len(data))/8 {
			t.Fatalf("%s: an incremental after a cipher change stored %v bytes", name, m["bytes_stored"])
		}
		last = m["archive"].(string)
	}
	to := filepath.Join(dir, "restore")
	if _, errOut, code := engineCLI(t, "restore", last, "--pool", pool, "--key-file", f.key, "--to-dir", to); code != 0 {
		t.Fatalf("restore: %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(to, "vda.img")); !bytes.Equal(got, data) {
		t.Fatal("restored image of a mixed-cipher chain differs")
	}
	if out, errOut, code := engineCLI(t, "verify", last, "--pool", pool, "--key-file", f.key); code != 0 {
		t.Fatalf("verify: %d %s %s", code, out, errOut)
	}
}

// TestUnknownCipherCLI: --cipher and --param cipher= refuse an unknown
// name with exit 2 and the list of valid ones; the alias aes-256 is
// written as aes-256-gcm.
func TestUnknownCipherCLI(t *testing.T) {
	f := newCipherFixture(t)
	pool := filepath.Join(t.TempDir(), "pool")
	for _, arg := range [][]string{{"--cipher", "kuznyechik-512"}, {"--param", "cipher=kuznyechik-512"}} {
		_, errOut, code := engineCLI(t, append([]string{"image", "backup", "--pool", pool, "--key-file", f.key, "--name", "x", "--disk", "vda=" + f.img}, arg...)...)
		if code != exitUsage || !strings.Contains(errOut, "kuznyechik-mgm-256") || !strings.Contains(errOut, "threefish-1024") {
			t.Errorf("%v: %d %s", arg, code, errOut)
		}
	}
	m := imageBackupJSON(t, "--pool", pool, "--key-file", f.key, "--name", "x", "--disk", "vda="+f.img, "--cipher", "aes-256")
	raw, _ := os.ReadFile(filepath.Join(pool, m["archive"].(string)+".rba"))
	if !bytes.Contains(raw, []byte(`"cipher":"aes-256-gcm"`)) {
		t.Error("alias aes-256 not written as aes-256-gcm")
	}
}

// TestMixedCipherStore: in a dedup store, chunks stored under one cipher are
// reused by a backup with another (only the packs' headers name a cipher).
func TestMixedCipherStore(t *testing.T) {
	f := newCipherFixture(t)
	dir := t.TempDir()
	pool, store := filepath.Join(dir, "pool"), filepath.Join(dir, "store")
	first := imageBackupJSON(t, "--pool", pool, "--store", store, "--key-file", f.key, "--name", "s", "--vm-id", "s", "--disk", "vda="+f.img, "--cipher", "camellia-256")
	second := imageBackupJSON(t, "--pool", pool, "--store", store, "--key-file", f.key, "--name", "s", "--vm-id", "s", "--disk", "vda="+f.img, "--cipher", "threefish-1024", "--type", "full")
	if first["new_chunks"].(float64) == 0 || second["new_chunks"].(float64) != 0 {
		t.Fatalf("second backup with another cipher stored new chunks: %v / %v", first, second)
	}
	to := filepath.Join(dir, "restore")
	if _, errOut, code := engineCLI(t, "restore", second["archive"].(string), "--pool", pool, "--store", store, "--key-file", f.key, "--to-dir", to); code != 0 {
		t.Fatalf("restore: %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(to, "vda.img")); !bytes.Equal(got, f.data) {
		t.Fatal("restored image differs")
	}
}
