package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"rb_module_rustack/internal/fakecloud"
)

// bootDisk is size bytes: a quarter of text lines, then zeros.
func bootDisk(size int) ([]byte, int) {
	b := make([]byte, size)
	var text bytes.Buffer
	for i := 0; text.Len() < size/4; i++ {
		fmt.Fprintf(&text, "%08d: the backup reads this line from a snapshot, through a temporary volume on the proxy\n", i)
	}
	n := copy(b, text.Bytes()[:size/4])
	return b, n
}

// change writes n random 4 KiB blocks at random offsets of the volumes'
// backing files (never truncating); it returns the bytes written.
func change(fc *fakecloud.Cloud, vols []string, n int, src *rand.ChaCha8) (int64, error) {
	rng := rand.New(src)
	var files []*os.File
	var sizes []int64
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, id := range vols {
		f, err := os.OpenFile(fc.VolumePath(id), os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		size, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, err
		}
		files, sizes = append(files, f), append(sizes, size)
	}
	block := make([]byte, 4096)
	var total int64
	for i := range n {
		k := i % len(files)
		src.Read(block)
		off := rng.Int64N(sizes[k]/4096) * 4096
		if _, err := files[k].WriteAt(block, off); err != nil {
			return total, err
		}
		total += int64(len(block))
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return total, err
		}
	}
	return total, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
