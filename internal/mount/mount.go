package mount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// FSType is the file system type of our mounts in /proc/self/mountinfo
// ("fuse." + Name): cleanup finds mounts left behind by it.
const (
	Name   = "rb_module_rustack"
	FSType = "fuse." + Name
)

// File is one read-only file of the mount.
type File struct {
	Name string
	Size int64
	Data io.ReaderAt
}

// Options describe a mount.
type Options struct {
	Source string // shown as the mount's source (the archive id)
	Files  []File
	// ReadError, if set, is told about every failed read (the file, the
	// range asked for, the cause); the reader gets EIO.
	ReadError func(file string, off, n int64, err error)
	// Created is the files' modification time.
	Created time.Time
	// FS adds a directory DIR/<disk>/ for every <disk>.img file, where
	// AttachFS mounts the disk's file systems.
	FS bool
}

// Server is a mounted file system.
type Server struct {
	dir      string
	srv      *fuse.Server
	disks    []*diskDir // with Options.FS
	fsMounts []string   // mounted by AttachFS
}

// ErrNoFUSE is returned when the kernel has no FUSE (no /dev/fuse).
var ErrNoFUSE = errors.New("FUSE is not available")

// ErrNotEmpty is returned for a mount point that is not an empty directory.
var ErrNotEmpty = errors.New("not an empty directory")

// Check checks that dir can be a mount point (an empty directory) and that
// the kernel has FUSE, before anything else is opened.
func Check(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("mount point %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("mount point %s: %w (it is not a directory)", dir, ErrNotEmpty)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("mount point %s: %w", dir, err)
	}
	names, err := f.Readdirnames(1)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("mount point %s: %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("mount point %s: %w (it holds %s): mount on an empty directory", dir, ErrNotEmpty, names[0])
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("%w: /dev/fuse: %v (load the fuse kernel module: modprobe fuse)", ErrNoFUSE, err)
	}
	if b, err := os.ReadFile("/proc/filesystems"); err == nil && !bytes.Contains(b, []byte("\tfuse\n")) {
		return fmt.Errorf("%w: the kernel lists no fuse file system in /proc/filesystems (modprobe fuse)", ErrNoFUSE)
	}
	return nil
}

// Mount serves o.Files read-only at dir (which Check accepts) until
// Unmount, or until the file system is unmounted from outside.
func Mount(dir string, o Options) (*Server, error) {
	if err := Check(dir); err != nil {
		return nil, err
	}
	root := &dirNode{roDir: roDir{mtime: o.Created}, files: o.Files, readErr: o.ReadError}
	if o.FS {
		for _, f := range o.Files {
			if l, ok := strings.CutSuffix(f.Name, ".img"); ok {
				root.disks = append(root.disks, &diskDir{roDir: roDir{mtime: o.Created}, label: l, file: f.Name})
			}
		}
	}
	timeout := time.Hour // nothing ever changes
	opts := &gofs.Options{
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
		MountOptions: fuse.MountOptions{
			FsName:       strings.ReplaceAll(o.Source, ",", "_"),
			Name:         Name,
			Options:      []string{"ro", "default_permissions"},
			MaxReadAhead: 1 << 20,
			MaxWrite:     1 << 20,
		},
	}
	srv, err := gofs.Mount(dir, root, opts)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "fusermount") {
			return nil, fmt.Errorf("%w: mount %s: %v (is the fuse package, with fusermount, installed?)", ErrNoFUSE, dir, err)
		}
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	setReadAhead(dir)
	return &Server{dir: dir, srv: srv, disks: root.disks}, nil
}

// readAhead is the kernel's read-ahead on the mount's files (sent as
// requests of up to 1 MiB, max_read).
const readAhead = 4 << 20

// setReadAhead sets the kernel's read-ahead of the FUSE mount at dir to
// readAhead. The kernel takes the smaller of the MaxReadAhead that
// go-fuse asks for and its default of 128 KiB, so a sequential read
// would wait for each 128 KiB in turn; the mount's read_ahead_kb in
// sysfs lifts that (root only: otherwise the default stays, which is
// slower, not wrong). Measured on a cold 100 MiB read of the ext4
// benchmark image, interleaved runs on the shared machine: 192-259 MB/s
// with 128 KiB, 232-492 MB/s with 1 MiB, 389-461 MB/s with 4 MiB.
func setReadAhead(dir string) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	_ = os.WriteFile(p, []byte(strconv.Itoa(readAhead>>10)), 0)
}

// Wait returns when the file system is unmounted.
func (s *Server) Wait() { s.srv.Wait() }

// Unmount unmounts the file system; it fails (EBUSY) while a file of it
// is open or a process has its current directory in it.
func (s *Server) Unmount() error {
	if err := s.srv.Unmount(); err != nil {
		return fmt.Errorf("unmount %s: %w", s.dir, err)
	}
	return nil
}

// dirNode is the root directory.
type dirNode struct {
	roDir
	files   []File
	disks   []*diskDir
	readErr func(string, int64, int64, error)
}

var _ = (gofs.NodeOnAdder)((*dirNode)(nil))

func (d *dirNode) OnAdd(ctx context.Context) {
	for i, f := range d.files {
		n := &fileNode{f: f, readErr: d.readErr, mtime: d.mtime}
		ch := d.NewPersistentInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: uint64(i + 2)})
		d.AddChild(f.Name, ch, false)
	}
	for _, dd := range d.disks {
		ch := d.NewPersistentInode(ctx, dd, gofs.StableAttr{Mode: syscall.S_IFDIR})
		d.AddChild(dd.label, ch, false)
	}
}

// fileNode is one read-only file.
type fileNode struct {
	gofs.Inode
	f       File
	readErr func(string, int64, int64, error)
	mtime   time.Time
}

var _ = (gofs.NodeGetattrer)((*fileNode)(nil))
var _ = (gofs.NodeOpener)((*fileNode)(nil))
var _ = (gofs.NodeReader)((*fileNode)(nil))

func (n *fileNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o444
	out.Size = uint64(n.f.Size)
	out.Blocks = (uint64(n.f.Size) + 511) / 512
	out.Blksize = 4096
	out.SetTimes(nil, &n.mtime, &n.mtime)
	return 0
}

func (n *fileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	// The content never changes: the kernel may keep its pages.
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

func (n *fileNode) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= n.f.Size {
		return fuse.ReadResultData(nil), 0
	}
	want := min(int64(len(dest)), n.f.Size-off)
	k, err := n.f.Data.ReadAt(dest[:want], off)
	if err != nil && !(errors.Is(err, io.EOF) && int64(k) == want) {
		if n.readErr != nil {
			n.readErr(n.f.Name, off, want, err)
		}
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:k]), 0
}
