package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// engineCLI runs the command in process with no configuration file and
// returns stdout, stderr and the exit code.
func engineCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb)
	root := newRootCmd(a)
	// A configuration with only the state and log of this test: a test
	// never writes job records or log lines under /opt/rubackup.
	dir := t.TempDir()
	a.configPath = filepath.Join(dir, "test.conf")
	conf := "state_dir " + filepath.Join(dir, "state") + "\nlog_file " + filepath.Join(dir, "RuBackup.log") + "\n"
	if err := os.WriteFile(a.configPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code := exitOK
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			code = exitFailure
		}
		errb.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

func writeImage(t *testing.T, path string, size int, seed byte) []byte {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b[:size/3])
	for i := size / 3; i < size/2; i++ {
		b[i] = "text line\n"[i%10] + seed
	}
	// the rest stays zero: a hole
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEngineCLI(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "keys", "master")
	pool := filepath.Join(dir, "pool")
	img := filepath.Join(dir, "disk.img")
	data := writeImage(t, img, 3<<20+5, 0)
	small := filepath.Join(dir, "small.img")
	os.WriteFile(small, []byte{1}, 0o600)

	if out, _, code := engineCLI(t, "keygen", "--key-file", key); code != 0 || !strings.Contains(out, "key show") {
		t.Fatalf("keygen: %d %s", code, out)
	}
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", key); code == 0 || !strings.Contains(errOut, "refusing to overwrite") {
		t.Fatalf("keygen over an existing key: %d %s", code, errOut)
	}
	out, _, code := engineCLI(t, "key", "show", "--key-file", key)
	if code != 0 || !strings.Contains(out, "\n0000: ") || !strings.Contains(out, "checksum: ") {
		t.Fatalf("key show: %d %s", code, out)
	}

	backup := func(typ string, extra ...string) map[string]any {
		t.Helper()
		args := append([]string{"image", "backup", "--pool", pool, "--key-file", key, "--name", "web 1", "--vm-id", "id-1",
			"--disk", "vda=" + img, "--disk", "vdb=" + small, "--type", typ, "--json", "--chunk-avg", "16K", "--chunk-min", "4K", "--chunk-max", "64K"}, extra...)
		out, errOut, code := engineCLI(t, args...)
		if code != 0 {
			t.Fatalf("backup %s: %d %s", typ, code, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("backup json: %v: %s", err, out)
		}
		return m
	}
	first := backup("incremental")
	if first["type"] != "full" || !strings.Contains(first["note"].(string), "full") {
		t.Fatalf("first incremental: %v", first)
	}
	fullID := first["archive"].(string)
	copy(data[100:], "changed!")
	os.WriteFile(img, data, 0o600)
	inc := backup("incremental")
	incID := inc["archive"].(string)
	if inc["type"] != "incremental" || inc["parent"] != fullID || inc["bytes_stored"].(float64) > first["bytes_stored"].(float64)/4 {
		t.Fatalf("incremental: %v", inc)
	}

	out, _, code = engineCLI(t, "archives", "--pool", pool, "--json", "--vm", "id-1")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[1]["parent"] != fullID {
		t.Fatalf("archives: %d %s", code, out)
	}
	out, _, code = engineCLI(t, "archives", "--pool", pool)
	if code != 0 || !strings.Contains(out, incID) || !strings.Contains(out, "incremental") {
		t.Fatalf("archives table: %s", out)
	}

	// Restore the incremental: bit-exact, sparse, with vm.json.
	to := filepath.Join(dir, "restore")
	out, errOut, code := engineCLI(t, "restore", incID, "--pool", pool, "--key-file", key, "--to-dir", to)
	if code != 0 {
		t.Fatalf("restore: %d %s %s", code, out, errOut)
	}
	got, _ := os.ReadFile(filepath.Join(to, "vda.img"))
	if !bytes.Equal(got, data) {
		t.Fatal("restored vda differs")
	}
	if got, _ := os.ReadFile(filepath.Join(to, "vdb.img")); !bytes.Equal(got, []byte{1}) {
		t.Fatal("restored vdb differs")
	}
	var st syscall.Stat_t
	syscall.Stat(filepath.Join(to, "vda.img"), &st)
	if st.Blocks*512 >= int64(len(data))*3/4 {
		t.Fatalf("restored image uses %d bytes for %d: holes not kept", st.Blocks*512, len(data))
	}
	var vm map[string]any
	vb, _ := os.ReadFile(filepath.Join(to, "vm.json"))
	if json.Unmarshal(vb, &vm) != nil || vm["name"] != "web 1" || vm["source"] != "image" {
		t.Fatalf("vm.json: %s", vb)
	}
	if _, errOut, code := engineCLI(t, "restore", incID, "--pool", pool, "--key-file", key, "--to-dir", to); code == 0 || !strings.Contains(errOut, "--force") {
		t.Fatalf("restore over existing files: %d %s", code, errOut)
	}
	if _, _, code := engineCLI(t, "restore", incID, "--pool", pool, "--key-file", key, "--to-dir", to, "--force", "--disk", "vdb"); code != 0 {
		t.Fatalf("restore --force --disk: %d", code)
	}
	if _, errOut, code := engineCLI(t, "restore", incID, "--pool", pool); code != exitUsage || !strings.Contains(errOut, "--to-dir") {
		t.Fatalf("restore without target: %d %s", code, errOut)
	}

	// verify: 0 when intact, 4 when damaged, 4 with a wrong key.
	if out, _, code := engineCLI(t, "verify", incID, "--pool", pool, "--key-file", key); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("verify: %d %s", code, out)
	}
	other := filepath.Join(dir, "other-key")
	engineCLI(t, "keygen", "--key-file", other)
	if _, errOut, code := engineCLI(t, "verify", incID, "--pool", pool, "--key-file", other); code != exitIntegrity || !strings.Contains(errOut, "wrong master key") {
		t.Fatalf("verify with another key: %d %s", code, errOut)
	}
	if _, _, code := engineCLI(t, "restore", incID, "--pool", pool, "--key-file", other, "--to-dir", filepath.Join(dir, "r2")); code != exitIntegrity {
		t.Fatalf("restore with another key: %d", code)
	}
	fullPath := filepath.Join(pool, fullID+".rba")
	orig, _ := os.ReadFile(fullPath)
	bad := append([]byte(nil), orig...)
	bad[len(bad)/3] ^= 1
	os.WriteFile(fullPath, bad, 0o600)
	out, _, code = engineCLI(t, "verify", fullID, "--pool", pool, "--key-file", key)
	if code != exitIntegrity || !strings.Contains(out, "DAMAGED "+fullID+" disk vda bytes ") {
		t.Fatalf("verify damaged: %d %s", code, out)
	}
	if _, _, code := engineCLI(t, "restore", fullID, "--pool", pool, "--key-file", key, "--to-dir", filepath.Join(dir, "r3")); code != exitIntegrity {
		t.Fatalf("restore damaged: %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "r3", "vda.img")); err == nil {
		t.Fatal("a damaged restore left its image behind")
	}
	// Missing parent: exit 4 and the parent's name.
	os.Remove(fullPath)
	if _, errOut, code := engineCLI(t, "restore", incID, "--pool", pool, "--key-file", key, "--to-dir", filepath.Join(dir, "r4")); code != exitIntegrity || !strings.Contains(errOut, fullID) {
		t.Fatalf("restore without parent: %d %s", code, errOut)
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"image", "backup", "--pool", pool, "--name", "x", "--disk", "vda=" + img, "--cipher", "none", "--type", "weekly"},
		{"image", "backup", "--pool", pool, "--name", "x", "--cipher", "none"},
		{"image", "backup", "--pool", pool, "--name", "x", "--disk", "novalue", "--cipher", "none"},
		{"image", "backup", "--pool", pool, "--name", "x", "--disk", "vda=" + img, "--key-file", filepath.Join(dir, "nokey")},
		{"image", "backup", "--pool", pool, "--name", "x", "--disk", "vda=" + dir, "--cipher", "none"},
		{"image", "backup", "--pool", pool, "--name", "x", "--disk", "vda=" + img, "--cipher", "none", "--chunk-avg", "lots"},
	} {
		if _, errOut, code := engineCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errOut)
		}
	}
	// Unencrypted when chosen explicitly, readable without any key.
	pool2 := filepath.Join(dir, "pool2")
	out, errOut, code = engineCLI(t, "image", "backup", "--pool", pool2, "--cipher", "none", "--name", "plain", "--disk", "vda="+img, "--json")
	if code != 0 {
		t.Fatalf("backup --cipher none: %d %s", code, errOut)
	}
	var s map[string]any
	json.Unmarshal([]byte(out), &s)
	if _, errOut, code := engineCLI(t, "restore", s["archive"].(string), "--pool", pool2, "--to-dir", filepath.Join(dir, "r5"), "--key-file", filepath.Join(dir, "missing-key")); code != exitUsage {
		t.Fatalf("restore with a missing key file given: %d %s", code, errOut)
	}
	if _, errOut, code := engineCLI(t, "restore", s["archive"].(string), "--pool", pool2, "--to-dir", filepath.Join(dir, "r5")); code != 0 {
		t.Fatalf("restore unencrypted: %d %s", code, errOut)
	}
}
