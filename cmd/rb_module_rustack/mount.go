package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/mount"
	"rb_module_rustack/internal/units"
)

func newMountCmd(a *app) *cobra.Command {
	var cacheSize string
	var daemon, withFS bool
	cmd := &cobra.Command{
		Use:   "mount ARCHIVE DIR",
		Short: "browse an archive read-only: its disks as image files under DIR (FUSE)",
		Long: `Mounts ARCHIVE (an id from the pool or a path to an archive file; any point
of a full, incremental or differential chain, pool or dedup store) read-only
at DIR, which must be an empty directory, without restoring anything:
DIR/<label>.img for every disk, with its exact size (holes read as zeros),
and DIR/vm.json with the VM description. Each read fetches, authenticates
and decodes only the chunks it needs; decoded chunks are kept in a cache of
--cache-size bytes.

It runs in the foreground until SIGINT or SIGTERM (then it unmounts and
exits 0) or until DIR is unmounted from outside (umount DIR or
fusermount -u DIR). With --daemon it returns once DIR is mounted (with the
exit code of a failed mount otherwise) and serves it in the background
until umount DIR, SIGINT or SIGTERM; its errors then go to the log file. A read of damaged or missing data fails with EIO and an
ERROR naming the archive, disk and byte range; the rest stays readable.

--fs (root) also attaches every partition of every disk to a read-only
loop device and mounts every ext2/3/4 (without journal replay), xfs
(norecovery, nouuid) and vfat file system read-only under
DIR/<disk>/<partition>/; others (LVM physical volumes, swap, a type the
kernel lacks) are listed with the reason. All of it is undone on exit.

Exit codes: 0 unmounted; 1 mount or I/O failure; 2 bad arguments (DIR
missing, not a directory or not empty, no FUSE in the kernel, bad options,
--fs not as root);
4 a wrong master key or a damaged archive.`,
		Example: `  rb_module_rustack mount web1-20250101T020000.000Z-incremental-9f8e7d /mnt/web1 --pool /backup --key-file /tmp/k
  rb_module_rustack mount web1-20250101T020000.000Z-full-1a2b3c /mnt/web1 --fs   # then /mnt/web1/vda/1/etc/...`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cache := int64(dedup.DefaultCacheBytes)
			if cacheSize != "" {
				n, err := units.ParseSize(cacheSize)
				if err != nil || n < 1<<20 {
					return withCode(exitUsage, fmt.Errorf("--cache-size %q: want a size of at least 1M, e.g. 64M or 1G", cacheSize))
				}
				cache = n
			}
			if withFS && os.Geteuid() != 0 {
				return withCode(exitUsage, errors.New("--fs attaches loop devices and mounts file systems: run it as root"))
			}
			if daemon {
				return runMountDaemon(a, args[1])
			}
			return runMount(cmd, a, args[0], args[1], cache, withFS)
		},
	}
	cmd.Flags().StringVar(&cacheSize, "cache-size", "", "bytes of decoded chunks kept in memory, e.g. 256M (default 64M)")
	cmd.Flags().BoolVar(&daemon, "daemon", false, "return once mounted and serve in the background until umount DIR")
	cmd.Flags().BoolVar(&withFS, "fs", false, "also mount every file system of every disk read-only under DIR/<disk>/<partition>/ (root; ext2/3/4, xfs, vfat)")
	addRepoFlags(cmd, false)
	return cmd
}

func runMount(cmd *cobra.Command, a *app, archiveArg, dir string, cache int64, withFS bool) error {
	// The mount point and FUSE first: nothing is opened for a mount that
	// cannot happen.
	if err := mount.Check(dir); err != nil {
		return mountExit(err)
	}
	repo, cfg, m, ir, err := a.openArchiveImage(cmd, archiveArg, cache)
	if err != nil {
		return err
	}
	defer repo.Close()
	defer ir.Close()

	// Failed reads go to the log file (when its folder exists) and stderr,
	// once per damaged range.
	var log *logging.Logger
	if _, serr := os.Stat(filepath.Dir(cfg.LogFile)); serr == nil {
		if log, err = a.openLog(cfg); err != nil {
			log = nil
		}
	}
	if log != nil {
		defer log.Close()
	}
	var mu sync.Mutex
	reported := map[string]bool{}
	readError := func(file string, off, n int64, err error) {
		key := err.Error()
		var re *dedup.RangeError
		if errors.As(err, &re) {
			key = fmt.Sprintf("%s %d-%d", file, re.Off, re.End)
		}
		mu.Lock()
		defer mu.Unlock()
		if reported[key] {
			return
		}
		reported[key] = true
		msg := fmt.Sprintf("mount %s: read of %s bytes %d-%d failed (EIO): %v", m.ID, file, off, off+n, err)
		if log != nil {
			log.Errorf("%s", msg)
		} else {
			fmt.Fprintln(a.stderr, "ERROR "+msg)
		}
	}

	o := mount.Options{Source: m.ID, ReadError: readError, Created: m.Created, FS: withFS}
	for _, d := range m.Disks {
		di, err := ir.Disk(d.Label)
		if err != nil {
			return withCode(exitFailure, err)
		}
		o.Files = append(o.Files, mount.File{Name: d.Label + ".img", Size: di.Size(), Data: di})
	}
	vm := m.VM
	if len(vm) == 0 {
		vm = []byte("null")
	}
	vm = append(append([]byte(nil), vm...), '\n')
	o.Files = append(o.Files, mount.File{Name: "vm.json", Size: int64(len(vm)), Data: bytes.NewReader(vm)})

	t0 := time.Now()
	srv, err := mount.Mount(dir, o)
	if err != nil {
		return mountExit(err)
	}
	for _, f := range o.Files[:len(o.Files)-1] {
		fmt.Fprintf(a.stdout, "%s (%s)\n", filepath.Join(dir, f.Name), units.FormatBytes(f.Size))
	}
	if withFS {
		fss, err := srv.AttachFS(cmd.Context())
		for _, fs := range fss {
			if fs.Error != "" {
				fmt.Fprintf(a.stdout, "disk %s partition %s (%s): not mounted: %s\n", fs.Disk, fs.Partition, fs.Device, fs.Error)
			} else {
				fmt.Fprintf(a.stdout, "%s: %s on %s, read-only\n", fs.Path, fs.Type, fs.Device)
			}
		}
		if err != nil {
			derr := srv.DetachFS()
			return withCode(exitFailure, errors.Join(err, derr, srv.Unmount()))
		}
	}
	fmt.Fprintf(a.stdout, "mounted %s (%s, chain of %d) read-only at %s in %s; Ctrl-C, SIGTERM or umount %s ends it\n",
		m.ID, m.Type, len(m.Chain), dir, time.Since(t0).Round(time.Millisecond), dir)
	if os.Getenv(daemonEnv) == "1" {
		// The background process of --daemon: tell the parent, then
		// let go of its pipe (errors go to the log file from now on).
		fmt.Fprintf(a.stdout, "%s %d\n", daemonReady, os.Getpid())
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			unix.Dup2(int(null.Fd()), 1)
			unix.Dup2(int(null.Fd()), 2)
			null.Close()
		}
	}

	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
		// Unmounted from outside.
		return nil
	case <-cmd.Context().Done():
	}
	// Busy (a file open, a loop device attached, a shell inside): retry
	// for a while, then say what holds it.
	if err := srv.DetachFS(); err != nil {
		return withCode(exitFailure, fmt.Errorf("%w: close the files open under %s, then run umount -R %s", err, dir, dir))
	}
	var uerr error
	for try := 0; try < 10; try++ {
		if uerr = srv.Unmount(); uerr == nil {
			<-done
			fmt.Fprintf(a.stdout, "unmounted %s\n", dir)
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return withCode(exitFailure, fmt.Errorf("%w: close the files open under %s (detach loop devices: losetup -d), then run umount %s", uerr, dir, dir))
}

// mountExit maps a mount failure to an exit code: a bad mount point or no
// FUSE is a usage error (2), anything else a failure (1).
func mountExit(err error) error {
	if errors.Is(err, mount.ErrNotEmpty) || errors.Is(err, mount.ErrNoFUSE) || errors.Is(err, fs.ErrNotExist) {
		return withCode(exitUsage, err)
	}
	return withCode(exitFailure, err)
}

// openArchiveImage opens the repository, loads archive arg and opens it
// for random reads (mount, files).
func (a *app) openArchiveImage(cmd *cobra.Command, arg string, cache int64) (*archive.Repo, *config.Config, *archive.Manifest, *archive.ImageReader, error) {
	repo, cfg, err := a.openRepoToRead(cmd, arg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*archive.Repo, *config.Config, *archive.Manifest, *archive.ImageReader, error) {
		repo.Close()
		return nil, nil, nil, nil, err
	}
	m, err := repo.Load(cmd.Context(), arg)
	if errors.Is(err, archive.ErrNotFound) {
		return fail(withCode(exitUsage, err))
	}
	if err != nil {
		return fail(engineExit(err))
	}
	ir, err := repo.OpenImage(m, cache)
	if err != nil {
		return fail(engineExit(err))
	}
	return repo, cfg, m, ir, nil
}

// The --daemon handshake: the background process runs with daemonEnv=1,
// its stdout and stderr a pipe to the parent; once mounted it writes
// daemonReady and its pid, then closes them.
const (
	daemonEnv   = "RB_MODULE_RUSTACK_MOUNT_DAEMON"
	daemonReady = "serving in the background as process"
)

// runMountDaemon starts the mount again in a new session without
// --daemon and returns when it has mounted dir (exit 0) or failed (its
// exit code and error).
func runMountDaemon(a *app, dir string) error {
	if err := mount.Check(dir); err != nil {
		return mountExit(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return withCode(exitFailure, err)
	}
	var args []string
	for _, s := range os.Args[1:] {
		if s != "--daemon" && s != "--daemon=true" {
			args = append(args, s)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return withCode(exitFailure, err)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), daemonEnv+"=1")
	c.Stdout, c.Stderr = w, w
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = c.Start()
	w.Close()
	if err != nil {
		r.Close()
		return withCode(exitFailure, fmt.Errorf("start the background mount: %w", err))
	}
	out, _ := io.ReadAll(r) // until the child has mounted, or has ended
	r.Close()
	if strings.Contains(string(out), daemonReady) {
		a.stdout.Write(out)
		c.Process.Release()
		return nil
	}
	werr := c.Wait()
	msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "error: "))
	var ee *exec.ExitError
	if errors.As(werr, &ee) && ee.ExitCode() > 0 {
		return withCode(ee.ExitCode(), errors.New(msg))
	}
	return withCode(exitFailure, fmt.Errorf("the background mount ended: %v %s", werr, msg))
}
