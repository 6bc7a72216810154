package fakecloud

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copySparse copies src to a new file dst of size bytes (grown or cut),
// leaving holes where src has holes (SEEK_DATA/SEEK_HOLE) or all-zero blocks.
func copySparse(dst, src string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	st, err := in.Stat()
	if err != nil {
		out.Close()
		return err
	}
	end := min(st.Size(), size)
	buf := make([]byte, 1<<20)
	for off := int64(0); off < end; {
		data, err := in.Seek(off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				break // no data after off
			}
			data = off // SEEK_DATA unsupported: copy (skipping zero blocks)
		}
		if data >= end {
			break
		}
		hole, err := in.Seek(data, unix.SEEK_HOLE)
		if err != nil || hole > end {
			hole = end
		}
		if err := copyRange(out, in, data, hole, buf); err != nil {
			out.Close()
			return err
		}
		off = hole
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func copyRange(out, in *os.File, from, to int64, buf []byte) error {
	for off := from; off < to; {
		n := int(min(int64(len(buf)), to-off))
		m, err := in.ReadAt(buf[:n], off)
		if err != nil && !(errors.Is(err, io.EOF) && m == n) {
			return fmt.Errorf("read %s at %d: %w", in.Name(), off, err)
		}
		if !allZero(buf[:m]) {
			if _, err := out.WriteAt(buf[:m], off); err != nil {
				return err
			}
		}
		off += int64(m)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
