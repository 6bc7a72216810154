package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout writes a small nfpm layout that names ${MKPKG_TEST_SRC}.
func layout(t *testing.T) (cfg, src string) {
	t.Helper()
	dir := t.TempDir()
	src = filepath.Join(dir, "hello")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(dir, "nfpm.yaml")
	yaml := `name: mkpkg-test
arch: amd64
version: 1.2.3~git1
version_schema: none
maintainer: test <test@localhost>
description: test package
contents:
  - src: ${MKPKG_TEST_SRC}
    dst: /usr/bin/mkpkg-test
    expand: true
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, src
}

func TestBuild(t *testing.T) {
	cfg, src := layout(t)
	t.Setenv("MKPKG_TEST_SRC", src)
	out := t.TempDir()
	for format, name := range map[string]string{"deb": "mkpkg-test_1.2.3~git1_amd64.deb", "rpm": "mkpkg-test-1.2.3~git1-1.x86_64.rpm"} {
		path, err := build(cfg, out, format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if filepath.Base(path) != name {
			t.Errorf("%s: wrote %s, want %s", format, filepath.Base(path), name)
		}
		st, err := os.Stat(path)
		if err != nil || st.Size() < 200 {
			t.Errorf("%s: %v, %v", format, st, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(out, "*.tmp"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// An unset variable is an error naming it, not an empty path.
func TestBuildUnsetVariable(t *testing.T) {
	cfg, _ := layout(t)
	t.Setenv("MKPKG_TEST_SRC", "") // restored after the test
	os.Unsetenv("MKPKG_TEST_SRC")
	_, err := build(cfg, t.TempDir(), "deb")
	if err == nil || !strings.Contains(err.Error(), "MKPKG_TEST_SRC") {
		t.Fatalf("err = %v, want one naming MKPKG_TEST_SRC", err)
	}
}

func TestBuildUnknownFormat(t *testing.T) {
	cfg, src := layout(t)
	t.Setenv("MKPKG_TEST_SRC", src)
	if _, err := build(cfg, t.TempDir(), "msi"); err == nil {
		t.Fatal("format msi accepted")
	}
}
