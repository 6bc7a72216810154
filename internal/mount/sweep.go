package mount

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FilesDirPrefix starts the name of the temporary mount point of the files
// command (in os.TempDir()); a sweep removes such a directory after
// unmounting it.
const FilesDirPrefix = "rb_module_rustack-files-"

// ParseMountinfo returns the mount points of the file systems of type
// fstype in the text of /proc/self/mountinfo, unescaped.
func ParseMountinfo(b []byte, fstype string) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 || g[0] != fstype {
			continue
		}
		out = append(out, unescape(f[4]))
	}
	return out
}

// unescape undoes the kernel's octal escapes (\040 for a space) of a
// mountinfo field.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// SweepDead unmounts every mount of ours whose process is gone (killed
// with SIGKILL: the mount point then answers ENOTCONN) and removes the
// temporary mount points of the files command among them. It returns the
// mount points it removed; live mounts are left alone.
func SweepDead() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	var removed []string
	var errs []error
	for _, mp := range ParseMountinfo(b, FSType) {
		// statfs always reaches the server (a stat may be answered from
		// the kernel's attribute cache). A process killed while one of
		// its own threads waited on its mount stays a zombie that holds
		// /dev/fuse: nothing answers and statfs would wait forever, so
		// a mount silent for statfsWait is aborted, which makes it dead.
		answered, err := statfsWithin(mp, statfsWait)
		if !answered {
			if aerr := AbortConnection(mp); aerr != nil {
				errs = append(errs, fmt.Errorf("mount %s does not answer: %v", mp, aerr))
				continue
			}
		} else if !errors.Is(err, syscall.ENOTCONN) {
			continue // alive (or not ours to judge)
		}
		// Detached lazily, with the file systems --fs mounted under it;
		// their loop devices then clear themselves.
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
			if out, ferr := exec.Command("fusermount", "-u", "-z", mp).CombinedOutput(); ferr != nil {
				errs = append(errs, fmt.Errorf("unmount dead mount %s: %v; fusermount: %v %s", mp, err, ferr, strings.TrimSpace(string(out))))
				continue
			}
		}
		if strings.HasPrefix(filepath.Base(mp), FilesDirPrefix) {
			os.Remove(mp)
		}
		removed = append(removed, mp)
	}
	return removed, errors.Join(errs...)
}

// fuseConnections is where the fuse control file system is mounted.
const fuseConnections = "/sys/fs/fuse/connections"

// statfsWait is how long a sweep waits for a mount to answer statfs.
const statfsWait = 5 * time.Second

// statfsWithin runs statfs on mp and reports whether it returned within d
// (and its error); a call that did not goes on in the background until the
// mount is aborted.
func statfsWithin(mp string, d time.Duration) (bool, error) {
	done := make(chan error, 1)
	go func() {
		var st syscall.Statfs_t
		done <- syscall.Statfs(mp, &st)
	}()
	select {
	case err := <-done:
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// AbortConnection aborts the FUSE connection of the mount at mp (through
// /sys/fs/fuse/connections/DEV/abort, DEV its device's minor number): every
// request waiting on it fails, the mount answers ENOTCONN from then on,
// and a process stuck on it can end.
func AbortConnection(mp string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("list mounts: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || unescape(f[4]) != mp {
			continue
		}
		_, minor, ok := strings.Cut(f[2], ":")
		if !ok {
			break
		}
		ctl := filepath.Join(fuseConnections, minor, "abort")
		if _, err := os.Stat(ctl); errors.Is(err, os.ErrNotExist) {
			// The fuse control file system is not mounted on every
			// system: mount it (it holds nothing but these controls).
			if merr := syscall.Mount("fusectl", fuseConnections, "fusectl", 0, ""); merr != nil && !errors.Is(merr, syscall.EBUSY) {
				return fmt.Errorf("abort the FUSE connection of %s: mount fusectl on %s: %w", mp, fuseConnections, merr)
			}
		}
		if err := os.WriteFile(ctl, []byte("1"), 0o200); err != nil {
			return fmt.Errorf("abort the FUSE connection of %s: %w", mp, err)
		}
		return nil
	}
	return fmt.Errorf("%s is not mounted", mp)
}
