package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// treeEntry is what the tree comparison looks at for one path.
type treeEntry struct {
	mode     fs.FileMode // type and permission bits
	uid, gid uint32
	size     int64  // regular files
	sum      string // sha256 of a regular file's content
	link     string // a symlink's target
	mtime    int64  // a regular file's modification time, in seconds
}

func (e treeEntry) String() string {
	return fmt.Sprintf("%v %d:%d size %d sha256 %.12s link %q mtime %d", e.mode, e.uid, e.gid, e.size, e.sum, e.link, e.mtime)
}

// walkTree describes every path under root (relative to it), except the
// file systems' own lost+found at the top.
func walkTree(t *testing.T, root string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if rel == "lost+found" {
			return fs.SkipDir
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		e := treeEntry{mode: st.Mode(), uid: sys.Uid, gid: sys.Gid}
		switch {
		case st.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			if n != st.Size() {
				return fmt.Errorf("%s: read %d bytes of %d", p, n, st.Size())
			}
			e.size, e.sum, e.mtime = st.Size(), hex.EncodeToString(h.Sum(nil)), st.ModTime().Unix()
		case st.Mode()&fs.ModeSymlink != 0:
			if e.link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

// sameTree fails the test unless got describes the same tree as want.
func sameTree(t *testing.T, what string, got, want map[string]treeEntry) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+p)
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s: %v, want %v", p, g, w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, "extra "+p)
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		if len(diffs) > 20 {
			diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
		}
		t.Fatalf("%s differs from the source in %d paths:\n%s", what, len(diffs), strings.Join(diffs, "\n"))
	}
}

func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// buildSourceTree copies a few hundred files of this machine (documentation
// folders and some programs of /usr) into dir, with a few owners, modes and
// shapes (empty, sparse, several MiB) of its own.
func buildSourceTree(t *testing.T, dir string) {
	t.Helper()
	docs, err := os.ReadDir("/usr/share/doc")
	if err != nil {
		t.Skipf("no /usr/share/doc to copy: %v", err)
	}
	args := []string{"-a"}
	for _, d := range docs {
		if d.IsDir() && len(args) < 41 {
			args = append(args, filepath.Join("/usr/share/doc", d.Name()))
		}
	}
	os.MkdirAll(filepath.Join(dir, "doc"), 0o755)
	sh(t, "cp", append(args, filepath.Join(dir, "doc"))...)
	bins, _ := os.ReadDir("/usr/bin")
	args = []string{"-a"}
	for _, b := range bins {
		if st, err := os.Lstat(filepath.Join("/usr/bin", b.Name())); err == nil && st.Mode().IsRegular() && st.Size() > 20<<10 && st.Size() < 3<<20 && len(args) < 9 {
			args = append(args, filepath.Join("/usr/bin", b.Name()))
		}
	}
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	sh(t, "cp", append(args, filepath.Join(dir, "bin"))...)
	os.MkdirAll(filepath.Join(dir, "data", "private"), 0o750)
	writeImage(t, filepath.Join(dir, "data", "big.bin"), 3<<20+77, 9) // random, text, zeros
	os.WriteFile(filepath.Join(dir, "data", "empty"), nil, 0o600)
	sparse := filepath.Join(dir, "data", "sparse")
	os.WriteFile(sparse, []byte("head"), 0o644)
	f, _ := os.OpenFile(sparse, os.O_WRONLY, 0)
	f.WriteAt([]byte("tail"), 2<<20)
	f.Close()
	os.WriteFile(filepath.Join(dir, "data", "private", "secret.conf"), []byte("password = not-a-real-one\n"), 0o640)
	os.Chown(filepath.Join(dir, "data", "private"), 1234, 567)
	os.Chown(filepath.Join(dir, "data", "private", "secret.conf"), 1234, 567)
	os.Symlink("../bin", filepath.Join(dir, "data", "bin-link"))
}

// changeTree makes the changes of the day between a full and an
// incremental under root (the source tree, or a file system of the image):
// files rewritten in part or grown, a mode changed, files added and
// removed.
func changeTree(t *testing.T, root string) {
	t.Helper()
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	big := filepath.Join(root, "data", "big.bin")
	f, err := os.OpenFile(big, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte("changed in the middle "), 5000), 1<<20)
	f.Close()
	os.Chtimes(big, mtime, mtime)
	conf := filepath.Join(root, "data", "private", "secret.conf")
	af, err := os.OpenFile(conf, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	af.WriteString("timeout = 30\n")
	af.Close()
	os.Chtimes(conf, mtime, mtime)
	os.Chmod(filepath.Join(root, "data", "empty"), 0o644)
	os.MkdirAll(filepath.Join(root, "new", "dir"), 0o700)
	os.WriteFile(filepath.Join(root, "new", "dir", "added.txt"), bytes.Repeat([]byte("added file\n"), 3000), 0o644)
	os.Chtimes(filepath.Join(root, "new", "dir", "added.txt"), mtime, mtime)
	os.Symlink("dir/added.txt", filepath.Join(root, "new", "link"))
	os.Chtimes(filepath.Join(root, "new", "dir"), mtime, mtime)
	os.Chtimes(filepath.Join(root, "new"), mtime, mtime)
	os.Remove(filepath.Join(root, "data", "sparse"))
	os.RemoveAll(filepath.Join(root, "bin"))
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestFileRestoreTrees: every file of real file systems built from this
// machine's files reads back bit-exact, with its mode, owner, size and
// modification time, from every archive of a full -> incremental chain
// (files changed, added and removed between them), in an archive pool and
// in a dedup store, through mount --fs (an ext4 in partition 1 of vda, an
// xfs on the whole of vdb; all four archives mounted at once, so the xfs
// are mounted four times) and through files get (the ext4). vda's LVM
// partition and its vfat are listed with their reasons, the rest mounted.
// Nothing in the pools and the store changes.
func TestFileRestoreTrees(t *testing.T) {
	needFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount --fs and for the files' owners")
	}
	needTools(t, "e2fsprogs, fdisk, xfsprogs, dosfstools, lvm2", "mkfs.ext4", "sfdisk", "debugfs", "blkid", "losetup", "mkfs.xfs", "mkfs.vfat", "pvcreate")
	kfs, _ := os.ReadFile("/proc/filesystems")
	if !bytes.Contains(kfs, []byte("\txfs\n")) || !bytes.Contains(kfs, []byte("\text4\n")) {
		t.Skip("the kernel lacks ext4 or xfs")
	}
	t0 := time.Now()
	bin := buildRaceBinary(t)
	dir := t.TempDir()
	key := newKeyFile(t, dir)
	src := filepath.Join(dir, "src")
	buildSourceTree(t, src)

	// vda: a DOS partition table; 1 the ext4 (mke2fs -d from src), 2 an
	// LVM physical volume, 3 a vfat. vdb: an xfs on the whole disk,
	// filled through a loop mount.
	const (
		mib      = 1 << 20
		ext4Off  = 1 * mib
		ext4Size = 64 * mib
		lvmOff   = ext4Off + ext4Size
		lvmSize  = 8 * mib
		fatOff   = lvmOff + lvmSize
		fatSize  = 4 * mib
	)
	vda, vdb := filepath.Join(dir, "vda.img"), filepath.Join(dir, "vdb.img")
	fsImg := filepath.Join(dir, "ext4.img")
	sh(t, "truncate", "-s", fmt.Sprint(ext4Size), fsImg)
	sh(t, "mkfs.ext4", "-q", "-F", "-d", src, fsImg)
	sh(t, "truncate", "-s", fmt.Sprint(fatOff+fatSize+mib), vda)
	sf := exec.Command("sfdisk", "-q", vda)
	sf.Stdin = strings.NewReader(fmt.Sprintf("label: dos\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=8e\nstart=%d, size=%d, type=c\n",
		ext4Off/512, ext4Size/512, lvmOff/512, lvmSize/512, fatOff/512, fatSize/512))
	if out, err := sf.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v %s", err, out)
	}
	sh(t, "dd", "if="+fsImg, "of="+vda, "bs=1M", fmt.Sprint("seek=", ext4Off/mib), "conv=notrunc", "status=none")
	loop, err := exec.Command("losetup", "-f", "--show", "-o", fmt.Sprint(lvmOff), "--sizelimit", fmt.Sprint(lvmSize), vda).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	pvc := exec.Command("pvcreate", "-ff", "-y", strings.TrimSpace(string(loop)))
	out, err := pvc.CombinedOutput()
	sh(t, "losetup", "-d", strings.TrimSpace(string(loop)))
	if err != nil {
		t.Fatalf("pvcreate: %v %s", err, out)
	}
	fat := filepath.Join(dir, "fat.img")
	sh(t, "mkfs.vfat", "-C", fat, fmt.Sprint(fatSize/1024))
	sh(t, "dd", "if="+fat, "of="+vda, "bs=1M", fmt.Sprint("seek=", fatOff/mib), "conv=notrunc", "status=none")
	sh(t, "truncate", "-s", "300M", vdb) // mkfs.xfs's smallest
	sh(t, "mkfs.xfs", "-q", vdb)
	rw := filepath.Join(dir, "rw")
	os.Mkdir(rw, 0o755)
	// inImage runs fn on a read-write loop mount of a file system of an
	// image.
	inImage := func(img string, off, size int64, fn func(root string)) {
		t.Helper()
		sh(t, "mount", "-o", fmt.Sprintf("loop,offset=%d,sizelimit=%d", off, size), img, rw)
		defer sh(t, "umount", rw)
		fn(rw)
	}
	inImage(vdb, 0, 300*mib, func(root string) { sh(t, "cp", "-a", src+"/.", root) })

	type point struct {
		want map[string]treeEntry
		ids  []string // the archive of this point in the pool, and in the store
	}
	pool, spool, store := filepath.Join(dir, "pool"), filepath.Join(dir, "spool"), filepath.Join(dir, "store")
	backup := func(typ string) point {
		p := point{want: walkTree(t, src)}
		for _, repo := range [][]string{{"--pool", pool}, {"--pool", spool, "--store", store}} {
			m := imageBackupJSON(t, append(repo, "--key-file", key, "--name", "tree", "--type", typ, "--disk", "vda="+vda, "--disk", "vdb="+vdb)...)
			p.ids = append(p.ids, m["archive"].(string))
		}
		return p
	}
	points := []point{backup("full")}
	if len(points[0].want) < 300 {
		t.Fatalf("the source tree has %d paths; want a few hundred", len(points[0].want))
	}
	changeTree(t, src)
	inImage(vda, ext4Off, ext4Size, func(root string) { changeTree(t, root) })
	inImage(vdb, 0, 300*mib, func(root string) { changeTree(t, root) })
	points = append(points, backup("incremental"))
	if d := len(points[0].want) - len(points[1].want); d <= 0 {
		t.Fatalf("the change removed nothing: %d paths before, %d after", len(points[0].want), len(points[1].want))
	}
	t.Logf("source: %d paths at the full, %d at the incremental; images built and backed up in %v", len(points[0].want), len(points[1].want), time.Since(t0).Round(time.Millisecond))

	// What the repositories hold, byte for byte: reading must not change
	// it.
	repoState := func() string {
		var sb strings.Builder
		for _, r := range []string{pool, spool, store} {
			filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				st, err := os.Lstat(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(&sb, "%s %v %d %v", p, st.Mode(), st.Size(), st.ModTime().UnixNano())
				if st.Mode().IsRegular() {
					b, _ := os.ReadFile(p)
					fmt.Fprintf(&sb, " %x", sha256.Sum256(b))
				}
				sb.WriteByte('\n')
				return nil
			})
		}
		return sb.String()
	}
	before := repoState()
	if n := strings.Count(before, ".rba "); n < 4 {
		t.Fatalf("the repositories list %d archive files, want 4 or more:\n%s", n, before)
	}

	// mount --fs of all four archives at once.
	type mnt struct {
		p    *mountProc
		dir  string
		want map[string]treeEntry
		id   string
	}
	var mnts []mnt
	for i, pt := range points {
		for j, id := range pt.ids {
			repo := []string{"--pool", pool}
			if j == 1 {
				repo = []string{"--pool", spool, "--store", store}
			}
			d := filepath.Join(dir, fmt.Sprintf("fs%d%d", i, j))
			os.Mkdir(d, 0o755)
			p := startMount(t, bin, d, append(append([]string{id, d, "--fs", "--key-file", key}, repo...), "--param", "log_file="+filepath.Join(dir, "mount.log"))...)
			mnts = append(mnts, mnt{p, d, pt.want, id})
		}
	}
	for _, m := range mnts {
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(m.p.stdout.String(), "mounted "); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("mount --fs %s: not done after 30 s: %s %s", m.id, m.p.stdout.String(), m.p.stderr.String())
			}
		}
		out := m.p.stdout.String()
		for _, want := range []string{
			filepath.Join(m.dir, "vda", "1") + ": ext4 on /dev/loop",
			filepath.Join(m.dir, "vdb", "disk") + ": xfs on /dev/loop",
			"disk vda partition 2 (/dev/loop",
			"LVM physical volume: its logical volumes are not mounted: device-mapper is not available",
			"disk vda partition 3 (/dev/loop",
		} {
			if _, err := os.Stat("/dev/mapper/control"); err == nil && strings.HasPrefix(want, "LVM") {
				want = "LVM physical volume: its logical volumes are not mounted by --fs"
			}
			if !strings.Contains(out, want) {
				t.Fatalf("mount --fs %s does not say %q:\n%s", m.id, want, out)
			}
		}
		if bytes.Contains(kfs, []byte("\tvfat\n")) {
			if !strings.Contains(out, filepath.Join(m.dir, "vda", "3")+": vfat") {
				t.Fatalf("mount --fs %s did not mount the vfat: %s", m.id, out)
			}
		} else if !strings.Contains(out, "this kernel has no vfat file system") {
			t.Fatalf("mount --fs %s does not say that the kernel lacks vfat: %s", m.id, out)
		}
	}
	for _, m := range mnts {
		sameTree(t, m.id+" ext4 through mount --fs", walkTree(t, filepath.Join(m.dir, "vda", "1")), m.want)
		sameTree(t, m.id+" xfs through mount --fs", walkTree(t, filepath.Join(m.dir, "vdb", "disk")), m.want)
	}
	for _, m := range mnts {
		m.p.stop(t, m.dir, syscall.SIGTERM)
	}
	t.Logf("mount --fs: 4 archives compared (ext4 and xfs) at %v", time.Since(t0).Round(time.Millisecond))

	// files get of every top-level entry of the ext4, from every archive.
	for i, pt := range points {
		var tops []string
		for p := range pt.want {
			if !strings.Contains(p, "/") {
				tops = append(tops, "/"+p)
			}
		}
		sort.Strings(tops)
		for j, id := range pt.ids {
			repo := []string{"--pool", pool}
			if j == 1 {
				repo = []string{"--pool", spool, "--store", store}
			}
			to := filepath.Join(dir, fmt.Sprintf("get%d%d", i, j))
			args := append(append([]string{"files", id, "get"}, tops...), "--to", to, "--disk", "vda", "--partition", "1", "--key-file", key)
			if _, errOut, code := run(t, bin, append(args, repo...)...); code != 0 {
				t.Fatalf("files get from %s: exit %d: %s", id, code, errOut)
			}
			sameTree(t, id+" through files get", walkTree(t, to), pt.want)
		}
	}
	if after := repoState(); after != before {
		t.Fatalf("reading the archives changed the repositories:\n%s\nwas\n%s", after, before)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if bytes.Contains(b, []byte(dir)) {
		t.Fatalf("a mount is left under %s:\n%s", dir, b)
	}
	t.Logf("done in %v", time.Since(t0).Round(time.Millisecond))
}
