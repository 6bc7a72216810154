package mount

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/fileget"
)

// FileSystem is one partition (or whole disk) that --fs found.
type FileSystem struct {
	Disk      string `json:"disk"`
	Partition string `json:"partition"` // its number, or "disk" for a disk without partitions
	Device    string `json:"device"`
	Type      string `json:"type"`
	Path      string `json:"path,omitempty"`  // where it is mounted
	Error     string `json:"error,omitempty"` // why it is not
}

// mountOptions are the read-only mount flags and data per file system
// type: no journal replay, nothing written. xfs refuses a second mount of
// a file system whose UUID is mounted already (two archives of one disk,
// or the disk itself on this machine) unless nouuid.
var mountOptions = map[string]string{
	"ext2": "", "ext3": "noload", "ext4": "noload", "xfs": "norecovery,nouuid", "vfat": "",
}

// lvmPartitionTypes are the partition types of LVM physical volumes: MBR
// and GPT.
var lvmPartitionTypes = map[string]bool{"8e": true, "e6d6d379-f507-44c2-a23c-238f2a3df928": true}

// dmControl is device-mapper's control device, without which no LVM
// logical volume can be activated.
const dmControl = "/dev/mapper/control"

// notMounted says why a file system of type typ (blkid's name; "" when
// blkid found none) on a partition of partType is not mounted, or "" if
// --fs mounts it.
func notMounted(typ, partType string) string {
	switch {
	case typ == "LVM2_member":
		if _, err := os.Stat(dmControl); err != nil {
			return "LVM physical volume: its logical volumes are not mounted: device-mapper is not available in this kernel (no " + dmControl + ": modprobe dm_mod)"
		}
		return "LVM physical volume: its logical volumes are not mounted by --fs (activate them by hand: losetup -r, vgchange -ay, mount -o ro)"
	case typ == "" && lvmPartitionTypes[strings.ToLower(partType)]:
		return "no file system recognised (an LVM partition without a physical volume label)"
	case typ == "":
		return "no file system recognised"
	}
	if _, ok := mountOptions[typ]; !ok {
		return fmt.Sprintf("%s is not mounted (--fs mounts ext2/3/4, xfs and vfat)", typ)
	}
	return ""
}

// AttachFS attaches every partition of every <disk>.img of the mount (the
// whole disk when it has no partition table: read with sfdisk, which
// needs no partition support in the kernel) to a read-only loop device of
// its own (which detaches itself when its file system is unmounted) and
// mounts every file system it recognises read-only under
// DIR/<disk>/<partition>/. A file system it cannot mount is reported with
// the reason, not a failure of the rest. Needs root.
func (s *Server) AttachFS(ctx context.Context) ([]FileSystem, error) {
	var out []FileSystem
	for _, dn := range s.disks {
		img := filepath.Join(s.dir, dn.file)
		parts, err := fileget.Partitions(ctx, img)
		if err != nil {
			return out, fmt.Errorf("disk %s: %w", dn.label, err)
		}
		if len(parts) == 0 {
			st, err := os.Stat(img)
			if err != nil {
				return out, err
			}
			parts = []fileget.Partition{{Num: 0, Size: st.Size()}}
		}
		for _, p := range parts {
			name := strconv.Itoa(p.Num)
			if p.Num == 0 {
				name = "disk"
			}
			fs := FileSystem{Disk: dn.label, Partition: name}
			loop, err := attachLoop(img, p.Offset, p.Size)
			if err != nil {
				return out, fmt.Errorf("disk %s partition %s: %w", dn.label, name, err)
			}
			fs.Device = loop.Name()
			fs.Type, fs.Error = fsType(ctx, fs.Device)
			if fs.Error == "" {
				fs.Error = notMounted(fs.Type, p.Type)
			}
			if fs.Error == "" {
				target := filepath.Join(s.dir, dn.label, name)
				dn.addDir(name)
				err := unix.Mount(fs.Device, target, fs.Type, unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, mountOptions[fs.Type])
				switch {
				case errors.Is(err, unix.ENODEV):
					fs.Error = fmt.Sprintf("mount %s (%s) on %s: %v: this kernel has no %s file system (modprobe %s)", fs.Device, fs.Type, target, err, fs.Type, fs.Type)
				case err != nil:
					fs.Error = fmt.Sprintf("mount %s (%s) on %s: %v", fs.Device, fs.Type, target, err)
				default:
					fs.Path = target
					s.fsMounts = append(s.fsMounts, target)
				}
			}
			// Our descriptor goes; a mount holds the loop device now, and
			// an unused one detaches at once.
			loop.Close()
			out = append(out, fs)
		}
	}
	return out, nil
}

// DetachFS unmounts what AttachFS mounted, last first; the loop devices
// then detach themselves.
func (s *Server) DetachFS() error {
	var errs []error
	for i := len(s.fsMounts) - 1; i >= 0; i-- {
		var err error
		for try := 0; try < 10; try++ {
			if err = unix.Unmount(s.fsMounts[i], 0); err == nil || !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", s.fsMounts[i], err))
		}
	}
	s.fsMounts = nil
	return errors.Join(errs...)
}

// attachLoop attaches size bytes of img at off read-only to a free loop
// device, with autoclear.
func attachLoop(img string, off, size int64) (*os.File, error) {
	back, err := os.Open(img)
	if err != nil {
		return nil, err
	}
	defer back.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("loop devices: %w (modprobe loop)", err)
	}
	defer ctl.Close()
	for try := 0; try < 10; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("find a free loop device: %w", err)
		}
		dev, err := os.OpenFile("/dev/loop"+strconv.Itoa(n), os.O_RDONLY, 0)
		if err != nil {
			return nil, err
		}
		cfg := &unix.LoopConfig{Fd: uint32(back.Fd()), Size: 512}
		cfg.Info.Offset, cfg.Info.Sizelimit = uint64(off), uint64(size)
		cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], img)
		if err := unix.IoctlLoopConfigure(int(dev.Fd()), cfg); err != nil {
			dev.Close()
			if errors.Is(err, unix.EBUSY) {
				continue // taken meanwhile by another process
			}
			return nil, fmt.Errorf("attach %s to /dev/loop%d: %w", img, n, err)
		}
		return dev, nil
	}
	return nil, errors.New("no free loop device")
}

// fsType is the file system type blkid finds on dev ("" for none), or
// why blkid failed.
func fsType(ctx context.Context, dev string) (string, string) {
	b, err := exec.CommandContext(ctx, "blkid", "-p", "-o", "value", "-s", "TYPE", dev).Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return "", ""
	case err != nil:
		return "", fmt.Sprintf("blkid: %v", err)
	}
	return strings.TrimSpace(string(b)), ""
}

// diskDir is the directory DIR/<disk>/ of --fs, with a directory per
// partition added as they are found.
type diskDir struct {
	roDir
	label, file string
}

func (d *diskDir) addDir(name string) {
	if d.GetChild(name) != nil {
		return
	}
	ch := d.NewPersistentInode(context.Background(), &roDir{mtime: d.mtime}, gofs.StableAttr{Mode: syscall.S_IFDIR})
	d.AddChild(name, ch, false)
}

// roDir is a read-only directory stamped with the archive's time: alone,
// the mount point of one file system; embedded, the root and the disks'
// directories.
type roDir struct {
	gofs.Inode
	mtime time.Time
}

var _ = (gofs.NodeGetattrer)((*roDir)(nil))

func (d *roDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o555
	out.SetTimes(nil, &d.mtime, &d.mtime)
	return 0
}
