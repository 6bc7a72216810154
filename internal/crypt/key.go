package crypt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zeebo/blake3"
)

// KeySize is the size of the master key in bytes.
const KeySize = 32

// ErrWrongKey means the master key given is not the one the data was written
// with. It is distinct from corruption: the key-check value in the file's
// header did not match.
var ErrWrongKey = errors.New("wrong master key: the data was written with another key")

// createHint tells the user how to get a key file.
const createHint = "create one with `rb_module_rustack keygen --key-file PATH` (and keep a paper copy: `rb_module_rustack key show`), or recreate it from the paper copy's 64 hex digits"

// LoadKey reads a master key file. The file holds the 32 key bytes, either
// raw (as written by keygen) or as 64 hex digits (whitespace and a trailing
// newline allowed), so a key can be recreated from its paper copy.
func LoadKey(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("no master key file given: %s", createHint)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("master key file %s does not exist: %s", path, createHint)
		}
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	key, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// ParseKey decodes the contents of a key file (raw 32 bytes or 64 hex digits).
func ParseKey(b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return append([]byte(nil), b...), nil
	}
	s := strings.Join(strings.Fields(string(b)), "")
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("not a master key (want %d raw bytes or %d hex digits, got %d bytes): %s", KeySize, 2*KeySize, len(b), createHint)
}

// GenerateKeyFile writes a new random master key to path with mode 0600,
// creating missing parent directories with mode 0700. It refuses to
// overwrite an existing file.
func GenerateKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no key file path given")
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("key file %s already exists; refusing to overwrite it (backups written with it would become unreadable). Move it away first if you really want a new key", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("key file %s already exists; refusing to overwrite it", path)
		}
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("sync key file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("close key file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return key, nil
}

// Checksum is a short check value for a paper copy of the key: the first
// 8 bytes of BLAKE3-256 of the key, in hex. It reveals nothing usable about
// the key.
func Checksum(key []byte) string {
	sum := blake3.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// Paper renders the key as a hexdump for a paper copy, with a checksum line.
func Paper(key []byte) string {
	var sb strings.Builder
	for off := 0; off < len(key); off += 16 {
		end := min(off+16, len(key))
		fmt.Fprintf(&sb, "%04x:", off)
		for i := off; i < end; i++ {
			if (i-off)%4 == 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02x", key[i])
		}
		sb.WriteByte('\n')
	}
	fmt.Fprintf(&sb, "checksum: %s\n", Checksum(key))
	return sb.String()
}
