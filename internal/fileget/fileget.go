package fileget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
)

// Entry is one directory entry of a listing.
type Entry struct {
	Name  string `json:"name"`
	Inode uint64 `json:"inode"`
	Mode  string `json:"mode"` // octal, with the file type bits, e.g. 100644
	Type  string `json:"type"` // file | dir | symlink | other
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Size  int64  `json:"size"`
}

// ErrNoFS is returned when no ext2/3/4 file system is found.
var ErrNoFS = errors.New("no ext2/3/4 file system")

// ErrNotFound is returned for a path the file system does not have.
var ErrNotFound = errors.New("no such file or directory")

// ErrBadArg is wrapped by errors about a path or a partition number that
// cannot be used.
var ErrBadArg = errors.New("bad argument")

// PartitionOffset returns the byte offset of partition n (1-based) of the
// disk image img, read with sfdisk.
func PartitionOffset(ctx context.Context, img string, n int) (int64, error) {
	out, err := exec.CommandContext(ctx, "sfdisk", "--json", img).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("%w: partition %d: the disk has no partition table sfdisk recognizes: %s", ErrBadArg, n, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, fmt.Errorf("partition %d: sfdisk (util-linux): %w", n, err)
	}
	return parsePartitions(out, n)
}

func parsePartitions(b []byte, n int) (int64, error) {
	ps, err := ParsePartitionTable(b)
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if p.Num == n {
			return p.Offset, nil
		}
	}
	return 0, fmt.Errorf("%w: partition %d: the disk has %d partitions", ErrBadArg, n, len(ps))
}

// Partition is one entry of a partition table, in bytes.
type Partition struct {
	Num          int
	Offset, Size int64
	Type         string // as sfdisk gives it: "83", "8e", or a GPT type GUID
}

// Partitions reads the partition table of the disk image img with sfdisk;
// a disk without one has none (and no error).
func Partitions(ctx context.Context, img string) ([]Partition, error) {
	out, err := exec.CommandContext(ctx, "sfdisk", "--json", img).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, nil
		}
		return nil, fmt.Errorf("sfdisk (util-linux): %w", err)
	}
	return ParsePartitionTable(out)
}

// ParsePartitionTable parses the output of sfdisk --json.
func ParsePartitionTable(b []byte) ([]Partition, error) {
	var t struct {
		Table struct {
			SectorSize int64 `json:"sectorsize"`
			Partitions []struct {
				Node  string `json:"node"`
				Start int64  `json:"start"`
				Size  int64  `json:"size"`
				Type  string `json:"type"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("partition table: %w", err)
	}
	ss := t.Table.SectorSize
	if ss <= 0 || ss > 1<<16 {
		ss = 512
	}
	var out []Partition
	for i, p := range t.Table.Partitions {
		if p.Start < 0 || p.Size < 0 || p.Start > (1<<46) || p.Size > (1<<46) {
			return nil, fmt.Errorf("partition %d: bad start %d or size %d", i+1, p.Start, p.Size)
		}
		// The number is the node's (img1, img3: GPT numbers may skip).
		num := i + 1
		d := strings.TrimRightFunc(p.Node, func(r rune) bool { return r >= '0' && r <= '9' })
		if n, err := strconv.Atoi(p.Node[len(d):]); err == nil && n > 0 {
			num = n
		}
		out = append(out, Partition{Num: num, Offset: p.Start * ss, Size: p.Size * ss, Type: p.Type})
	}
	return out, nil
}

// checkPath refuses what debugfs's command line cannot carry.
func checkPath(p string) error {
	if p == "" || !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w: path %q: give an absolute path in the file system, e.g. /etc/hosts", ErrBadArg, p)
	}
	if strings.ContainsAny(p, "\"\n\r\x00") {
		return fmt.Errorf("%w: path %q: a path with a double quote or a line break is not supported", ErrBadArg, p)
	}
	return nil
}

// debugfs runs one request on the file system of img at off and returns
// its output; anything debugfs says on stderr besides its banner is an
// error.
func debugfs(ctx context.Context, img string, off int64, request string) ([]byte, error) {
	dev := img
	if off > 0 {
		dev = fmt.Sprintf("%s?offset=%d", img, off)
	}
	cmd := exec.CommandContext(ctx, "debugfs", "-R", request, dev)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("debugfs (e2fsprogs) is needed: %w", err)
		}
		return nil, fmt.Errorf("debugfs: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var msgs []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "debugfs ") {
			continue
		}
		msgs = append(msgs, l)
	}
	if len(msgs) > 0 {
		msg := strings.Join(msgs, "; ")
		switch {
		case strings.Contains(msg, "Bad magic number") || strings.Contains(msg, "Filesystem not open"):
			return nil, fmt.Errorf("%w at byte %d of the disk (%s): give --partition N for a partitioned disk", ErrNoFS, off, msg)
		case strings.Contains(msg, "File not found"):
			return nil, fmt.Errorf("%w: %s", ErrNotFound, msg)
		}
		return nil, errors.New(msg)
	}
	return stdout.Bytes(), nil
}

// List lists directory p (or the file p) of the file system of img at off.
func List(ctx context.Context, img string, off int64, p string) ([]Entry, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	out, err := debugfs(ctx, img, off, fmt.Sprintf("ls -p %q", p))
	if err != nil {
		return nil, fmt.Errorf("ls %s: %w", p, err)
	}
	return ParseList(out)
}

// ParseList parses the output of debugfs "ls -p": a line per entry,
// /inode/mode/uid/gid/name/size/ (a name may hold slashes only in theory:
// the fields around it are counted from both ends). "." and ".." are
// left out.
func ParseList(b []byte) ([]Entry, error) {
	var out []Entry
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if len(l) < 2 || !strings.HasPrefix(l, "/") || !strings.HasSuffix(l, "/") {
			return nil, fmt.Errorf("listing: unexpected line %q", l)
		}
		f := strings.Split(l[1:len(l)-1], "/")
		if len(f) < 6 {
			return nil, fmt.Errorf("listing: unexpected line %q", l)
		}
		name := strings.Join(f[4:len(f)-1], "/")
		if name == "." || name == ".." || name == "" {
			continue
		}
		ino, err1 := strconv.ParseUint(f[0], 10, 64)
		mode, err2 := strconv.ParseUint(f[1], 8, 32)
		uid, err3 := strconv.ParseUint(f[2], 10, 32)
		gid, err4 := strconv.ParseUint(f[3], 10, 32)
		var size uint64
		var err5 error
		if s := f[len(f)-1]; s != "" {
			size, err5 = strconv.ParseUint(s, 10, 63)
		}
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, fmt.Errorf("listing: line %q: %w", l, err)
		}
		e := Entry{Name: name, Inode: ino, Mode: fmt.Sprintf("%06o", mode), UID: uint32(uid), GID: uint32(gid), Size: int64(size)}
		switch mode & 0o170000 {
		case 0o100000:
			e.Type = "file"
		case 0o040000:
			e.Type = "dir"
		case 0o120000:
			e.Type = "symlink"
		default:
			e.Type = "other"
		}
		out = append(out, e)
	}
	return out, nil
}

// Get copies each of paths (a file or a directory, recursively) of the
// file system of img at off into dir, as dir/<base name>, with mode, owner
// and times. An existing dir/<base name> is an error.
func Get(ctx context.Context, img string, off int64, paths []string, dir string) ([]string, error) {
	var got []string
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return got, err
		}
		if strings.ContainsAny(dir, "\"\n\r\x00") {
			return got, fmt.Errorf("--to %q: a path with a double quote or a line break is not supported", dir)
		}
		base := path.Base(path.Clean(p))
		if base == "/" {
			return got, fmt.Errorf("%w: get /: name a file or a directory below the root (or get each top directory)", ErrBadArg)
		}
		dst := dir + "/" + base
		if _, err := os.Lstat(dst); err == nil {
			return got, fmt.Errorf("%s already exists: choose another --to", dst)
		}
		if _, err := debugfs(ctx, img, off, fmt.Sprintf("rdump %q %q", p, dir)); err != nil {
			return got, fmt.Errorf("get %s: %w", p, err)
		}
		if _, err := os.Lstat(dst); err != nil {
			return got, fmt.Errorf("get %s: nothing was written to %s", p, dst)
		}
		got = append(got, dst)
	}
	return got, nil
}
