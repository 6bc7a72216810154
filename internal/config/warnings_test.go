package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWarnings(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, make([]byte, 32), 0o600)
	write := func(mode os.FileMode, text string) string {
		p := filepath.Join(dir, "rb.conf")
		os.Remove(p)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	load := func(p string) *Config {
		c, err := Load(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := "master_key_file " + key + "\n"
	if w := load(write(0o600, base)).Warnings(); len(w) != 0 {
		t.Errorf("a careful configuration warns: %q", w)
	}
	p := write(0o600, base+"admin_name adm\n")
	if w := strings.Join(load(p).Warnings(), "\n"); !strings.Contains(w, p+":2: admin_name is set but admin_password is not") {
		t.Errorf("admin_name without admin_password: %q", w)
	}
	p = write(0o600, base+"admin_password s3cret-pw\n")
	w := strings.Join(load(p).Warnings(), "\n")
	if !strings.Contains(w, p+":2: admin_password is set but admin_name is not") || strings.Contains(w, "s3cret-pw") {
		t.Errorf("admin_password without admin_name: %q", w)
	}
	p = write(0o644, base)
	if w := strings.Join(load(p).Warnings(), "\n"); !strings.Contains(w, "configuration file "+p+" is readable by its group and other users (mode 0644)") {
		t.Errorf("config 0644: %q", w)
	}
	os.Chmod(key, 0o640)
	p = write(0o600, base)
	if w := strings.Join(load(p).Warnings(), "\n"); !strings.Contains(w, "master key file "+key+" is readable by its group (mode 0640)") || !strings.Contains(w, "chmod 600 "+key) {
		t.Errorf("key 0640: %q", w)
	}
}
