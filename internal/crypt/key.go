package crypt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/zeebo/blake3"
)

// KeySize is the size of the master key in bytes.
const KeySize = 32

// ErrWrongKey means the master key given is not the one the data was written
// with. It is distinct from corruption: the key-check value in the file's
// header did not match.
var ErrWrongKey = errors.New("wrong master key: the data was written with another key")

// createHint tells the user how to get a key file.
const createHint = "create one with `rb_module_rustack keygen --key-file PATH` (and keep a paper copy: `rb_module_rustack key show`), or recreate it from its paper copy: `rb_module_rustack key import --key-file PATH < copy.txt`"

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

// ParseKey decodes the contents of a key file: 32 raw bytes, 64 hex
// digits, or the paper copy printed by `key show` (ParsePaper).
func ParseKey(b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return append([]byte(nil), b...), nil
	}
	k, err := ParsePaper(b)
	if err != nil {
		return nil, fmt.Errorf("not a master key (want %d raw bytes, %d hex digits or the paper copy of key show; got %d bytes: %v): %s", KeySize, 2*KeySize, len(b), err, createHint)
	}
	return k, nil
}

// WriteKeyFile writes key to path as a key file (raw, mode 0600, missing
// parent directories 0700), through a temporary file that is synced and
// then moved into place, so that path holds either the old or the new key.
// An existing path is replaced only with force.
func WriteKeyFile(path string, key []byte, force bool) error {
	if len(key) != KeySize {
		return fmt.Errorf("a master key is %d bytes, not %d", KeySize, len(key))
	}
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("key file %s already exists; refusing to overwrite it (backups written with it would become unreadable): give --force to replace it", path)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	tmp := f.Name()
	fail := func(what string, err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s key file %s: %w", what, path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail("chmod", err)
	}
	if _, err := f.Write(key); err != nil {
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close key file %s: %w", path, err)
	}
	if force {
		err = os.Rename(tmp, path)
	} else {
		// A link fails when path appeared meanwhile: never replaced.
		err = os.Link(tmp, path)
		os.Remove(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("key file %s already exists; refusing to overwrite it: give --force to replace it", path)
		}
		return fmt.Errorf("install key file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
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
