package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/mount"
)

// needFUSE skips a test when this machine cannot mount FUSE file systems
// (no /dev/fuse, or not root for fusermount's sake).
func needFUSE(t *testing.T) {
	t.Helper()
	if err := mount.Check(t.TempDir()); err != nil {
		t.Skipf("no FUSE here: %v", err)
	}
	if _, err := exec.LookPath("fusermount"); err != nil {
		t.Skip("no fusermount here")
	}
}

// mounted reports whether dir is a mount point of ours.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == dir && strings.Contains(l, " - "+mount.FSType+" ") {
			return true
		}
	}
	return false
}

// mountProc is a running mount command (syncBuffer: metrics_serve_test.go).
type mountProc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan error
}

// startMount runs the mount command and waits until dir is mounted.
func startMount(t *testing.T, bin, dir string, args ...string) *mountProc {
	t.Helper()
	p := &mountProc{cmd: exec.Command(bin, append([]string{"mount"}, args...)...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if mounted(t, dir) {
			exec.Command("fusermount", "-u", "-z", dir).Run()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !mounted(t, dir) {
		select {
		case err := <-p.done:
			t.Fatalf("mount exited before mounting: %v\n%s%s", err, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not mounted after 20 s: %s%s", p.stdout.String(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// stop sends sig and checks the process ends with exit 0, unmounted.
func (p *mountProc) stop(t *testing.T, dir string, sig os.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("mount ended with %v after %v: %s", err, sig, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("mount still running 30 s after %v", sig)
	}
	if mounted(t, dir) {
		t.Fatalf("%s still mounted after %v", dir, sig)
	}
}

// TestMountCLI mounts every archive of a full -> incremental chain and
// reads every image bit-exact through the file system, ends the mounts
// with SIGTERM and SIGINT, checks the refusals of bad input (nothing
// mounted), and that a damaged chunk fails its reads with EIO and an
// ERROR naming archive, disk and range while the rest still reads.
func TestMountCLI(t *testing.T) {
	needFUSE(t)
	bin := buildRaceBinary(t)
	dir := t.TempDir()
	key, other := filepath.Join(dir, "key"), filepath.Join(dir, "other")
	for _, k := range []string{key, other} {
		if _, errOut, code := engineCLI(t, "keygen", "--key-file", k); code != 0 {
			t.Fatalf("keygen: %s", errOut)
		}
	}
	pool := filepath.Join(dir, "pool")
	imgA, imgB := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	a := writeImage(t, imgA, 6<<20+4321, 1)
	b := writeImage(t, imgB, 1<<20, 2)
	backup := func(typ string) (string, map[string][]byte) {
		m := imageBackupJSON(t, "--pool", pool, "--key-file", key, "--name", "mvm", "--type", typ,
			"--disk", "vda="+imgA, "--disk", "vdb="+imgB)
		return m["archive"].(string), map[string][]byte{"vda.img": bytes.Clone(a), "vdb.img": bytes.Clone(b)}
	}
	full, fullWant := backup("full")
	copy(a[100<<10:], bytes.Repeat([]byte("changed!"), 2000))
	copy(a[5<<20:], bytes.Repeat([]byte("more"), 3000))
	if err := os.WriteFile(imgA, a, 0o600); err != nil {
		t.Fatal(err)
	}
	inc, incWant := backup("incremental")
	logFile := filepath.Join(dir, "mount.log")
	common := []string{"--pool", pool, "--key-file", key, "--param", "log_file=" + logFile}
	// The pool as it was: mounting and reading must not change a byte or
	// add a file.
	poolState := func() string {
		var sb strings.Builder
		ents, _ := os.ReadDir(pool)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(pool, e.Name()))
			st, _ := os.Stat(filepath.Join(pool, e.Name()))
			fmt.Fprintf(&sb, "%s %x %v\n", e.Name(), sha256.Sum256(b), st.ModTime())
		}
		return sb.String()
	}
	before := poolState()

	for i, c := range []struct {
		id   string
		want map[string][]byte
		sig  os.Signal
	}{{full, fullWant, syscall.SIGTERM}, {inc, incWant, os.Interrupt}} {
		mnt := filepath.Join(dir, "mnt"+string(rune('0'+i)))
		os.Mkdir(mnt, 0o755)
		p := startMount(t, bin, mnt, append([]string{c.id, mnt}, common...)...)
		for name, want := range c.want {
			got, err := os.ReadFile(filepath.Join(mnt, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s %s: read %d bytes (%v), differs from the source", c.id, name, len(got), err)
			}
		}
		vm, err := os.ReadFile(filepath.Join(mnt, "vm.json"))
		if err != nil || !bytes.Contains(vm, []byte(`"mvm"`)) {
			t.Fatalf("vm.json: %v %s", err, vm)
		}
		if err := os.WriteFile(filepath.Join(mnt, "vda.img"), []byte("x"), 0o644); !errors.Is(err, syscall.EROFS) {
			t.Fatalf("write into the mount: %v, want EROFS", err)
		}
		if os.Geteuid() == 0 {
			// The kernel's read-ahead on the mount, lifted from 128 KiB.
			var st unix.Stat_t
			if err := unix.Stat(mnt, &st); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)))
			if err != nil || strings.TrimSpace(string(b)) != "4096" {
				t.Fatalf("read_ahead_kb of the mount: %q %v, want 4096", b, err)
			}
		}
		if names, _ := os.ReadDir(mnt); len(names) != 3 {
			t.Fatalf("mount lists %d entries, want vda.img vdb.img vm.json", len(names))
		}
		p.stop(t, mnt, c.sig)
	}

	if after := poolState(); after != before {
		t.Fatalf("mounting changed the pool:\n%s\nwas\n%s", after, before)
	}

	// --daemon returns once mounted; umount from outside ends the
	// background process.
	dmnt := filepath.Join(dir, "mnt-daemon")
	os.Mkdir(dmnt, 0o755)
	out, errOut, code := run(t, bin, append([]string{"mount", "--daemon", inc, dmnt}, common...)...)
	if code != 0 || !mounted(t, dmnt) {
		t.Fatalf("mount --daemon: exit %d, mounted %v: %s %s", code, mounted(t, dmnt), out, errOut)
	}
	var pid int
	if i := strings.LastIndex(out, daemonReady); i < 0 {
		t.Fatalf("mount --daemon printed no pid: %s", out)
	} else if _, err := fmt.Sscan(out[i+len(daemonReady):], &pid); err != nil || pid <= 0 {
		t.Fatalf("mount --daemon: pid in %q: %v", out, err)
	}
	if got, err := os.ReadFile(filepath.Join(dmnt, "vdb.img")); err != nil || !bytes.Equal(got, incWant["vdb.img"]) {
		t.Fatalf("read through the daemon's mount: %v", err)
	}
	if o, err := exec.Command("fusermount", "-u", dmnt).CombinedOutput(); err != nil {
		t.Fatalf("fusermount -u: %v %s", err, o)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			break
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); bytes.Contains(b, []byte(") Z ")) {
			break // a zombie: ended, its parent (reaped by init later) gone
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background mount %d still runs 10 s after umount", pid)
		}
	}
	if _, e, code := run(t, bin, append([]string{"mount", "--daemon", "mvm-20000101T000000.000Z-full-000000", dmnt}, common...)...); code != exitUsage || !strings.Contains(e, "neither a file") || mounted(t, dmnt) {
		t.Fatalf("mount --daemon of a missing archive: exit %d %s", code, e)
	}

	// Bad input: each refused with its exit code, nothing mounted.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	busy := filepath.Join(dir, "busy")
	os.Mkdir(busy, 0o755)
	os.WriteFile(filepath.Join(busy, "f"), nil, 0o600)
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing archive", []string{"mvm-20000101T000000.000Z-full-000000", empty, "--pool", pool, "--key-file", key}, exitUsage, "neither a file nor an archive"},
		{"wrong key", []string{full, empty, "--pool", pool, "--key-file", other}, exitIntegrity, "key"},
		{"dir not empty", []string{full, busy, "--pool", pool, "--key-file", key}, exitUsage, "not an empty directory"},
		{"dir is a file", []string{full, imgA, "--pool", pool, "--key-file", key}, exitUsage, "not a directory"},
		{"dir missing", []string{full, filepath.Join(dir, "nope"), "--pool", pool, "--key-file", key}, exitUsage, "no such file"},
		{"bad cache size", []string{full, empty, "--pool", pool, "--key-file", key, "--cache-size", "12"}, exitUsage, "--cache-size"},
	} {
		_, errOut, code := run(t, bin, append([]string{"mount"}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q)", c.name, code, c.code, errOut, c.msg)
		}
		if mounted(t, empty) || mounted(t, busy) {
			t.Fatalf("%s: left a mount", c.name)
		}
	}

	// A damaged chunk in the middle of the full archive.
	damageBlobs(t, filepath.Join(pool, full+".rba"), func(raw []byte, lo, hi int64) { raw[lo+(hi-lo)/3] ^= 0x04 })
	mnt := filepath.Join(dir, "mnt-damaged")
	os.Mkdir(mnt, 0o755)
	p := startMount(t, bin, mnt, append([]string{full, mnt}, common...)...)
	var failed, ok int
	for _, name := range []string{"vda.img", "vdb.img"} {
		fh, err := os.Open(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		want := fullWant[name]
		buf := make([]byte, 64<<10)
		for off := 0; off < len(want); off += len(buf) {
			n, err := fh.ReadAt(buf, int64(off))
			switch {
			case errors.Is(err, syscall.EIO):
				failed++
			case err != nil && n != len(want)-off:
				t.Fatalf("%s at %d: %v", name, off, err)
			case !bytes.Equal(buf[:n], want[off:off+n]):
				t.Fatalf("%s at %d: wrong data", name, off)
			default:
				ok++
			}
		}
		fh.Close()
	}
	p.stop(t, mnt, syscall.SIGTERM)
	if failed == 0 || ok < failed*4 {
		t.Fatalf("damaged archive: %d reads failed, %d succeeded: want a few failed and most read", failed, ok)
	}
	// SIGKILL leaves a dead mount; cleanup removes it (before it even
	// reads a configuration, which this one lacks), a live one it keeps.
	live := filepath.Join(dir, "mnt-live")
	os.Mkdir(live, 0o755)
	pl := startMount(t, bin, live, append([]string{inc, live}, common...)...)
	p = startMount(t, bin, mnt, append([]string{full, mnt}, common...)...)
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		// Killed while one of its threads waited on its own mount (just
		// after mounting): a zombie holding /dev/fuse until the connection
		// is aborted, as cleanup does (seen once).
		if err := mount.AbortConnection(mnt); err != nil {
			t.Fatalf("the killed mount process does not end, and: %v", err)
		}
		<-p.done
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &sfs); !errors.Is(err, syscall.ENOTCONN) || !mounted(t, mnt) {
		t.Fatalf("after SIGKILL: %v, mounted %v; want a dead mount (ENOTCONN)", err, mounted(t, mnt))
	}
	_, errOut, _ = run(t, bin, "cleanup", "-c", filepath.Join(dir, "no.conf"))
	if mounted(t, mnt) || !strings.Contains(errOut, "removed dead mount "+mnt) {
		t.Fatalf("cleanup left the dead mount (mounted %v): %s", mounted(t, mnt), errOut)
	}
	if !mounted(t, live) || strings.Contains(errOut, live) {
		t.Fatalf("cleanup touched the live mount: %s", errOut)
	}
	pl.stop(t, live, syscall.SIGTERM)

	logb, _ := os.ReadFile(logFile)
	for _, want := range []string{"ERROR", full, ".img bytes", "disk vd", "disk bytes", "EIO"} {
		if !bytes.Contains(logb, []byte(want)) {
			t.Fatalf("log does not name %q:\n%s", want, logb)
		}
	}
}

// TestFilesCLI builds a partitioned disk with an ext4 file system from
// files made here, backs it up (full, then incremental after changing
// one file), and takes files out of each archive with files get: content
// bit-exact, mode, owner and modification time kept; files ls lists them;
// a missing path and a disk without a file system at the offset exit 2;
// no mount and no temporary folder is left.
func TestFilesCLI(t *testing.T) {
	needFUSE(t)
	needTools(t, "e2fsprogs, fdisk", "mkfs.ext4", "sfdisk", "debugfs")
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files an owner")
	}
	bin := buildRaceBinary(t)
	dir := t.TempDir()
	key := newKeyFile(t, dir)
	src := filepath.Join(dir, "src")
	conf := filepath.Join(src, "etc", "nginx", "site.conf")
	big := filepath.Join(src, "var", "dump.sql")
	os.MkdirAll(filepath.Dir(conf), 0o755)
	os.MkdirAll(filepath.Dir(big), 0o755)
	bigData := writeImage(t, big, 3<<20+17, 5)
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	write := func(content string) {
		if err := os.WriteFile(conf, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		os.Chmod(conf, 0o640)
		os.Chown(conf, 1234, 567)
		os.Chtimes(conf, mtime, mtime)
	}
	disk := filepath.Join(dir, "disk.img")
	mkdisk := func() {
		fs := filepath.Join(dir, "fs.img")
		os.Remove(fs)
		for _, c := range [][]string{{"truncate", "-s", "40M", fs}, {"mkfs.ext4", "-q", "-F", "-d", src, fs}, {"truncate", "-s", "50M", disk}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", c, err, out)
			}
		}
		sf := exec.Command("sfdisk", "-q", disk)
		// 1: the ext4, 2: a vfat (with mkfs.vfat), 3: nothing.
		sf.Stdin = strings.NewReader("label: dos\nstart=2048, size=81920, type=83\nstart=83968, size=8192, type=c\nstart=92160, size=4096, type=83\n")
		if out, err := sf.CombinedOutput(); err != nil {
			t.Fatalf("sfdisk: %v %s", err, out)
		}
		if out, err := exec.Command("dd", "if="+fs, "of="+disk, "bs=1M", "seek=1", "conv=notrunc", "status=none").CombinedOutput(); err != nil {
			t.Fatalf("dd: %v %s", err, out)
		}
		if _, err := exec.LookPath("mkfs.vfat"); err == nil {
			fat := filepath.Join(dir, "fat.img")
			os.Remove(fat)
			for _, c := range [][]string{{"mkfs.vfat", "-C", fat, "4096"}, {"dd", "if=" + fat, "of=" + disk, "bs=512", "seek=83968", "conv=notrunc", "status=none"}} {
				if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v %s", c, err, out)
				}
			}
		}
	}
	pool := filepath.Join(dir, "pool")
	var ids []string
	versions := []string{"server { listen 80; }\n", "server { listen 443 ssl; }\n"}
	for i, v := range versions {
		write(v)
		mkdisk()
		typ := "full"
		if i > 0 {
			typ = "incremental"
		}
		m := imageBackupJSON(t, "--pool", pool, "--key-file", key, "--name", "fvm", "--type", typ, "--disk", "vda="+disk)
		ids = append(ids, m["archive"].(string))
	}
	repo := []string{"--disk", "vda", "--partition", "1", "--pool", pool, "--key-file", key}
	for i, id := range ids {
		to := filepath.Join(dir, "out"+string(rune('0'+i)))
		out, errOut, code := run(t, bin, append([]string{"files", id, "get", "/etc/nginx/site.conf", "/var", "--to", to}, repo...)...)
		if code != 0 {
			t.Fatalf("files get %s: exit %d: %s", id, code, errOut)
		}
		if !strings.Contains(out, filepath.Join(to, "site.conf")) {
			t.Fatalf("files get printed %q", out)
		}
		got, err := os.ReadFile(filepath.Join(to, "site.conf"))
		if err != nil || string(got) != versions[i] {
			t.Fatalf("%s: site.conf %q (%v), want %q", id, got, err, versions[i])
		}
		st, err := os.Stat(filepath.Join(to, "site.conf"))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != 0o640 || sys.Uid != 1234 || sys.Gid != 567 || !st.ModTime().Equal(mtime) {
			t.Fatalf("site.conf: mode %v owner %d:%d mtime %v; want 0640 1234:567 %v", st.Mode(), sys.Uid, sys.Gid, st.ModTime(), mtime)
		}
		if got, err := os.ReadFile(filepath.Join(to, "var", "dump.sql")); err != nil || !bytes.Equal(got, bigData) {
			t.Fatalf("%s: /var/dump.sql differs (%v, %d bytes)", id, err, len(got))
		}
	}
	out, errOut, code := run(t, bin, append([]string{"files", ids[1], "ls", "/etc/nginx", "--json"}, repo...)...)
	if code != 0 || !strings.Contains(out, `"name": "site.conf"`) || !strings.Contains(out, `"mode": "100640"`) || !strings.Contains(out, `"uid": 1234`) {
		t.Fatalf("files ls --json: exit %d %s %s", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{append([]string{"files", ids[0], "ls", "/no/such"}, repo...), "no such file"},
		{[]string{"files", ids[0], "ls", "/", "--disk", "vda", "--pool", pool, "--key-file", key}, "no ext2/3/4 file system"},
		{[]string{"files", ids[0], "ls", "/", "--disk", "vdz", "--pool", pool, "--key-file", key}, "no disk"},
		{append([]string{"files", ids[0], "get", "/etc"}, repo...), "--to"},
	} {
		_, errOut, code := run(t, bin, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.msg)
		}
	}
	// mount --fs: the partition's ext4 mounted read-only under
	// DIR/vda/1, files bit-exact; SIGTERM, and SIGKILL then cleanup, leave
	// no mount and no loop device.
	loops := func(under string) []string {
		var out []string
		bf, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
		for _, f := range bf {
			if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), under) {
				out = append(out, f)
			}
		}
		return out
	}
	common := append([]string{"--fs"}, repo[4:]...) // --pool, --key-file
	for i, id := range ids {
		fsdir := filepath.Join(dir, "fs"+string(rune('0'+i)))
		os.Mkdir(fsdir, 0o755)
		p := startMount(t, bin, fsdir, append([]string{id, fsdir}, common...)...)
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.stdout.String(), "mounted "); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("mount --fs: no file systems after 20 s: %s %s", p.stdout.String(), p.stderr.String())
			}
		}
		if !strings.Contains(p.stdout.String(), filepath.Join(fsdir, "vda", "1")+": ext4") {
			t.Fatalf("mount --fs did not mount vda partition 1: %s", p.stdout.String())
		}
		if !strings.Contains(p.stdout.String(), "vda partition 3") || !strings.Contains(p.stdout.String(), "not mounted: no file system recognised") {
			t.Fatalf("mount --fs does not list partition 3 as holding nothing: %s", p.stdout.String())
		}
		if _, err := exec.LookPath("mkfs.vfat"); err == nil {
			// Mounted where the kernel has vfat; else listed with the
			// kernel's reason while the rest is mounted.
			kfs, _ := os.ReadFile("/proc/filesystems")
			switch out := p.stdout.String(); {
			case bytes.Contains(kfs, []byte("\tvfat\n")):
				if !strings.Contains(out, filepath.Join(fsdir, "vda", "2")+": vfat") {
					t.Fatalf("mount --fs did not mount the vfat partition 2: %s", out)
				}
				if _, err := os.ReadDir(filepath.Join(fsdir, "vda", "2")); err != nil {
					t.Fatalf("the vfat partition: %v", err)
				}
			case !strings.Contains(out, "vda partition 2") || !strings.Contains(out, "(vfat) on "+filepath.Join(fsdir, "vda", "2")+": no such device"):
				t.Fatalf("this kernel has no vfat: mount --fs should list partition 2 with the reason: %s", out)
			}
		}
		got, err := os.ReadFile(filepath.Join(fsdir, "vda", "1", "etc", "nginx", "site.conf"))
		if err != nil || string(got) != versions[i] {
			t.Fatalf("%s: site.conf through --fs: %q %v", id, got, err)
		}
		if got, err := os.ReadFile(filepath.Join(fsdir, "vda", "1", "var", "dump.sql")); err != nil || !bytes.Equal(got, bigData) {
			t.Fatalf("%s: dump.sql through --fs differs: %v", id, err)
		}
		if len(loops(fsdir)) == 0 {
			t.Fatal("mount --fs: no loop device on the image")
		}
		if i == 0 {
			p.stop(t, fsdir, syscall.SIGTERM)
		} else {
			p.cmd.Process.Kill()
			<-p.done
			run(t, bin, "cleanup", "-c", filepath.Join(dir, "no.conf"))
		}
		b, _ := os.ReadFile("/proc/self/mountinfo")
		if bytes.Contains(b, []byte(fsdir)) {
			t.Fatalf("mount --fs left a mount under %s:\n%s", fsdir, b)
		}
		for deadline := time.Now().Add(5 * time.Second); len(loops(fsdir)) > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("mount --fs left loop devices: %v", loops(fsdir))
			}
		}
	}

	// Damaged data under the file system: exit 4 naming the archive's
	// damage, not a half-copied file passed off as done.
	damageBlobs(t, filepath.Join(pool, ids[0]+".rba"), func(raw []byte, lo, hi int64) {
		for off := lo; off < hi; off += 4096 {
			raw[off] ^= 0x20
		}
	})
	_, errOut, code = run(t, bin, append([]string{"files", ids[0], "get", "/etc", "--to", filepath.Join(dir, "out-damaged")}, repo...)...)
	if code != exitIntegrity || !strings.Contains(errOut, "damaged data") || !strings.Contains(errOut, "disk bytes") {
		t.Fatalf("files get from a damaged archive: exit %d, stderr %q; want 4 naming the damage", code, errOut)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if bytes.Contains(b, []byte("rb_module_rustack-files-")) {
		t.Fatalf("files left a mount:\n%s", b)
	}
}

// damageBlobs rewrites the archive file at path after flip changed its
// bytes; lo and hi bound the blob area (the chunk data) in raw.
func damageBlobs(t *testing.T, path string, flip func(raw []byte, lo, hi int64)) {
	t.Helper()
	f, err := container.OpenFile(path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := f.BlobArea()
	f.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip(raw, lo, hi)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// needTools skips t when one of the programs is missing (scripts/test.sh
// installs the packages named by hint).
func needTools(t *testing.T, hint string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (packages: %s)", tool, hint)
		}
	}
}

// newKeyFile makes a master key file in dir with keygen.
func newKeyFile(t *testing.T, dir string) string {
	t.Helper()
	key := filepath.Join(dir, "key")
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", key); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	return key
}
