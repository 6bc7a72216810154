package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyImage makes dst a copy of src that keeps src's holes: a reflink
// (FICLONE) where the file system supports it, otherwise the data ranges found
// with SEEK_DATA/SEEK_HOLE copied by copy_file_range (or read/write where that
// is refused). It returns how it copied.
func copyImage(ctx context.Context, src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	defer out.Close()
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) == nil {
		return "reflink", out.Close()
	}
	method := "sparse copy (copy_file_range)"
	inFd, outFd := int(in.Fd()), int(out.Fd())
	size := fi.Size()
	var buf []byte
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		data, err := unix.Seek(inFd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole remains
		} else if err != nil {
			return "", fmt.Errorf("seek data in %s: %w", src, err)
		}
		hole, err := unix.Seek(inFd, data, unix.SEEK_HOLE)
		if err != nil {
			return "", fmt.Errorf("seek hole in %s: %w", src, err)
		}
		for pos := data; pos < hole; {
			if buf == nil {
				r, w := pos, pos
				n, err := unix.CopyFileRange(inFd, &r, outFd, &w, int(min(hole-pos, 1<<30)), 0)
				if err == nil && n > 0 {
					pos += int64(n)
					continue
				}
				if err == nil { // 0 bytes: src changed under us
					return "", fmt.Errorf("copy %s: unexpected end of data at %d", src, pos)
				}
				// EXDEV, ENOSYS, EINVAL, EOPNOTSUPP...: fall back to read/write.
				method = "sparse copy (read/write)"
				buf = make([]byte, 4<<20)
			}
			b := buf[:min(int64(len(buf)), hole-pos)]
			if _, err := in.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
				return "", fmt.Errorf("read %s: %w", src, err)
			}
			if _, err := out.WriteAt(b, pos); err != nil {
				return "", fmt.Errorf("write %s: %w", dst, err)
			}
			pos += int64(len(b))
		}
		off = hole
	}
	if err := out.Truncate(size); err != nil {
		return "", fmt.Errorf("size %s: %w", dst, err)
	}
	return method, out.Close()
}
