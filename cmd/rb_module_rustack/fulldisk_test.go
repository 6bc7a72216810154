package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFullDisk runs a backup (archive pool and dedup store) and a restore
// into a 4 MiB tmpfs: each must fail with exit 1, say that the file system
// is full and what to do, and leave no file behind.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.Mkdir(full, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", full, "tmpfs", 0, "size=4m"); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("mount a 4 MiB tmpfs: %v (a container without CAP_SYS_ADMIN)", err)
		}
		t.Fatalf("mount a 4 MiB tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(full, unix.MNT_DETACH) })
	key := filepath.Join(dir, "key")
	img := filepath.Join(dir, "disk.img")
	b := make([]byte, 24<<20) // random: nothing compresses it below 4 MiB
	rand.Read(b)
	if err := os.WriteFile(img, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", key); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	empty := func(what string) {
		t.Helper()
		var st unix.Statfs_t
		if err := unix.Statfs(full, &st); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
			// Lock files (empty; their holder records go with the
			// holder) stay by design: docs/retention.md.
			if err == nil && d.IsDir() && (d.Name() == ".locks" || d.Name() == "locks") {
				return filepath.SkipDir
			}
			if err == nil && !d.IsDir() {
				t.Errorf("%s: left behind: %s", what, p)
			}
			return nil
		})
		if used := st.Blocks - st.Bfree; used != 0 {
			t.Errorf("%s: %d blocks still used on the full file system", what, used)
		}
	}
	check := func(what, errOut string, code int) {
		t.Helper()
		if code != exitFailure {
			t.Errorf("%s: exit %d, want %d", what, code, exitFailure)
		}
		if !strings.Contains(errOut, "no space left on device") || !strings.Contains(errOut, "free space there or write somewhere else") {
			t.Errorf("%s: the error does not say the disk is full and what to do:\n%s", what, errOut)
		}
		if strings.Count(errOut, full) != 1 {
			t.Errorf("%s: the error should name the file once:\n%s", what, errOut)
		}
		empty(what)
		t.Logf("%s: exit %d: %s", what, code, errOut)
	}

	_, errOut, code := engineCLI(t, "image", "backup", "--pool", filepath.Join(full, "pool"), "--key-file", key,
		"--name", "vm", "--disk", "vda="+img, "--type", "full")
	check("backup into a full archive pool", errOut, code)

	_, errOut, code = engineCLI(t, "image", "backup", "--pool", filepath.Join(dir, "pool"), "--store", filepath.Join(full, "store"),
		"--key-file", key, "--name", "vm", "--disk", "vda="+img, "--type", "full")
	// The store's skeleton (its config file, written whole before any
	// chunk) and its empty lock files may stay; nothing else may.
	filepath.WalkDir(filepath.Join(full, "store"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "locks" {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() && p != filepath.Join(full, "store", "config") {
			t.Errorf("backup into a full dedup store: left behind: %s", p)
		}
		return nil
	})
	os.RemoveAll(filepath.Join(full, "store"))
	check("backup into a full dedup store", errOut, code)

	pool := filepath.Join(dir, "pool2")
	out, errOut, code := engineCLI(t, "image", "backup", "--pool", pool, "--key-file", key, "--name", "vm", "--disk", "vda="+img, "--type", "full", "--json")
	if code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	var res struct{ Archive string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Archive == "" {
		t.Fatalf("backup --json: %v: %s", err, out)
	}
	id := res.Archive
	_, errOut, code = engineCLI(t, "restore", id, "--pool", pool, "--key-file", key, "--to-dir", filepath.Join(full, "out"))
	check("restore into a full directory", errOut, code)
	if _, err := os.Stat(filepath.Join(full, "out")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed restore left the directory it created: %v", err)
	}
}
