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
		// the kernel's attribute cache).
		var st syscall.Statfs_t
		if err := syscall.Statfs(mp, &st); !errors.Is(err, syscall.ENOTCONN) {
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
