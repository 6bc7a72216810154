package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writeConf writes a configuration file of the given lines (mode 0600) and
// returns its path.
func writeConf(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rb.conf")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRoughEdges runs what a new user tries on day one, on one binary.
func TestRoughEdges(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log", "RuBackup.log")

	t.Run("url without scheme", func(t *testing.T) {
		conf := writeConf(t, "url 127.0.0.1:5000", "username u", "password pw", "domain d", "project_id p",
			"log_file "+logFile, "state_dir "+filepath.Join(dir, "state"))
		for _, args := range [][]string{{"-c", conf, "-l"}, {"-c", conf, "list"}, {"-c", conf, "config"}} {
			out, errOut, code := run(t, bin, args...)
			if code != exitUsage || !strings.Contains(errOut, conf+`:1: key "url": "127.0.0.1:5000" has no scheme: write https://127.0.0.1:5000/v3`) {
				t.Errorf("%v: exit %d, want %d naming %s:1 and the missing scheme\nstdout: %s\nstderr: %s", args, code, exitUsage, conf, out, errOut)
			}
		}
		out, errOut, code := run(t, bin, "-c", conf, "-t")
		if code != exitCheck || !strings.Contains(out, "FAIL  configuration: "+conf+`:1: key "url": "127.0.0.1:5000" has no scheme`) {
			t.Errorf("-t: exit %d, want %d and a FAIL line naming %s:1\nstdout: %s\nstderr: %s", code, exitCheck, conf, out, errOut)
		}
	})
}

// TestTestAndList: -t -l runs the test and then, when every check passed,
// the list; a failed test says that -l did not run.
func TestTestAndList(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	conf := writeConf(t, "url http://127.0.0.1:1/v3", "username u", "password pw", "domain d", "project_id p", "timeout 1",
		"log_file "+filepath.Join(dir, "RuBackup.log"), "state_dir "+filepath.Join(dir, "state"))
	out, errOut, code := run(t, bin, "-c", conf, "-t", "-l")
	if code != exitCheck || !strings.Contains(out, "OK    configuration") || !strings.Contains(out, "FAIL  keystone") ||
		!strings.Contains(errOut, "-l not run: the configuration test failed") || strings.Contains(out, "NAME") {
		t.Errorf("-t -l with an unreachable cloud: exit %d, want %d, the checks and \"-l not run\"\nstdout: %s\nstderr: %s", code, exitCheck, out, errOut)
	}
}

// TestRestoreShortFlags: restore takes the platform's -X DIR (= --to-dir)
// and -x (= --deploy).
func TestRestoreShortFlags(t *testing.T) {
	dir := t.TempDir()
	key, pool := filepath.Join(dir, "key"), filepath.Join(dir, "pool")
	img := filepath.Join(dir, "vda.img")
	data := writeImage(t, img, 1<<20, 3)
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", key); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := engineCLI(t, "image", "backup", "--pool", pool, "--key-file", key, "--name", "vm", "--disk", "vda="+img, "--type", "full", "--json")
	if code != 0 {
		t.Fatalf("image backup: %d %s", code, errOut)
	}
	id := strings.Split(strings.Split(out, `"archive": "`)[1], `"`)[0]
	target := filepath.Join(dir, "restored")
	out, errOut, code = engineCLI(t, "restore", id, "--pool", pool, "--key-file", key, "-X", target)
	if code != 0 {
		t.Fatalf("restore -X: exit %d\n%s%s", code, out, errOut)
	}
	// The target is on the pool's file system: a careful tool says so.
	if !strings.Contains(errOut, "warning: the restore target "+target+" is on the same file system as the archive pool "+pool) {
		t.Errorf("restore beside the pool: no warning\n%s", errOut)
	}
	got, err := os.ReadFile(filepath.Join(target, "vda.img"))
	if err != nil || string(got) != string(data) {
		t.Fatalf("restore -X: the image differs (%v)", err)
	}
	// -x is --deploy: with -X it is the documented conflict.
	if _, errOut, code := engineCLI(t, "restore", id, "--pool", pool, "--key-file", key, "-x", "-X", target); code != exitUsage ||
		!strings.Contains(errOut, "--to-dir restores locally; it does not go with --deploy") {
		t.Errorf("restore -x -X: exit %d %s", code, errOut)
	}
}

// TestMissingPool: a command that reads archives refuses a pool or a dedup
// store directory that does not exist (exit 2, naming where it was given)
// instead of printing an empty list.
func TestMissingPool(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, args := range [][]string{
		{"archives", "--pool", missing},
		{"archives", "--json", "--pool", missing},
		{"verify", "--all", "--pool", missing},
		{"verify", "web-20260101T000000.000Z-full-aaaaaa", "--pool", missing},
		{"restore", "web-20260101T000000.000Z-full-aaaaaa", "--to-dir", filepath.Join(dir, "r"), "--pool", missing},
		{"archives", "--pool", filepath.Join(file, "sub")},
	} {
		out, errOut, code := engineCLI(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "archive pool "+args[len(args)-1]+" does not exist (given by --pool)") {
			t.Errorf("%v: exit %d, want %d naming the missing pool\nstdout: %s\nstderr: %s", args, code, exitUsage, out, errOut)
		}
	}
	if _, errOut, code := engineCLI(t, "archives", "--pool", file); code != exitUsage || !strings.Contains(errOut, "is not a directory") {
		t.Errorf("archives --pool FILE: exit %d %s", code, errOut)
	}
	pool := filepath.Join(dir, "pool")
	os.Mkdir(pool, 0o700)
	if _, errOut, code := engineCLI(t, "archives", "--pool", missing, "--store", missing); code != exitUsage ||
		!strings.Contains(errOut, "dedup store "+missing+" does not exist (given by --store)") {
		t.Errorf("archives --store MISSING: exit %d %s", code, errOut)
	}
	// From the configuration: the key and its file:line are named.
	conf := writeConf(t, "pool "+missing)
	out, errOut, code := engineCLI(t, "-c", conf, "archives")
	if code != exitUsage || !strings.Contains(errOut, "archive pool "+missing+" does not exist (given by pool ("+conf+":1))") {
		t.Errorf("archives with a missing configured pool: exit %d\n%s%s", code, out, errOut)
	}
	// An empty pool is an empty list.
	if out, errOut, code := engineCLI(t, "archives", "--pool", pool); code != 0 || !strings.HasPrefix(out, "ID") {
		t.Errorf("archives of an empty pool: exit %d\n%s%s", code, out, errOut)
	}
}

// TestRepoFlagsEverywhere: every command that reads or writes archives
// takes --pool, --store (copy: --from and --to) and --key-file, and backup uses them (here: the
// key file named on the command line, which does not exist, stops the
// backup before it reaches the cloud).
func TestRepoFlagsEverywhere(t *testing.T) {
	for _, c := range [][]string{{"backup"}, {"image", "backup"}, {"restore"}, {"archives"}, {"verify"}, {"forget"},
		{"prune"}, {"delete"}, {"copy"}, {"consolidate"}} {
		out, errOut, code := engineCLI(t, append(c, "--help")...)
		for _, fl := range []string{"--pool string", "--store string", "--key-file string"} {
			if c[0] == "copy" && fl == "--store string" {
				fl = "--from string" // copy names its two stores --from and --to
			}
			if code != 0 || !strings.Contains(out, fl) {
				t.Errorf("%v --help: exit %d, lacks %q\n%s%s", c, code, fl, out, errOut)
			}
		}
	}
	dir := t.TempDir()
	conf := writeConf(t, "url http://127.0.0.1:1/v3", "username u", "password pw", "domain d", "project_id p",
		"rubackup-vm-id proxy", "timeout 1", "log_file "+filepath.Join(dir, "RuBackup.log"), "state_dir "+filepath.Join(dir, "state"),
		"pool "+filepath.Join(dir, "pool"), "master_key_file "+filepath.Join(dir, "configured-key"))
	missingKey := filepath.Join(dir, "flag-key")
	_, errOut, code := engineCLI(t, "-c", conf, "backup", "--vm", "web", "--key-file", missingKey)
	if code != exitUsage || !strings.Contains(errOut, "master key file "+missingKey+" does not exist") {
		t.Errorf("backup --key-file MISSING: exit %d, want %d naming %s\n%s", code, exitUsage, missingKey, errOut)
	}
	// --param keeps working, and the flag wins over it.
	_, errOut, code = engineCLI(t, "-c", conf, "--param", "master_key_file="+missingKey+"2", "backup", "--vm", "web")
	if code != exitUsage || !strings.Contains(errOut, "master key file "+missingKey+"2 does not exist") {
		t.Errorf("backup --param master_key_file=MISSING: exit %d\n%s", code, errOut)
	}
	_, errOut, code = engineCLI(t, "-c", conf, "--param", "master_key_file="+missingKey+"2", "backup", "--vm", "web", "--key-file", missingKey)
	if code != exitUsage || !strings.Contains(errOut, "master key file "+missingKey+" does not exist") {
		t.Errorf("backup --param ... --key-file: exit %d\n%s", code, errOut)
	}
}

// cliWithStdin runs the command in process with stdin and no configuration.
func cliWithStdin(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb)
	root := newRootCmd(a)
	a.configPath = filepath.Join(t.TempDir(), "no-such.conf")
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	err := root.ExecuteContext(context.Background())
	code := exitOK
	if err != nil {
		code = exitFailure
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errb.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

// TestKeyShowImport: key import reads back exactly what key show prints,
// or the 64 hex digits; a mistyped copy is refused with its position and
// without a digit of the key; an existing key file is replaced only with
// --force.
func TestKeyShowImport(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", orig); code != 0 {
		t.Fatal(errOut)
	}
	keyBytes, _ := os.ReadFile(orig)
	keyHex := hex.EncodeToString(keyBytes)
	shown, _, code := engineCLI(t, "key", "show", "--key-file", orig)
	lines := strings.Split(shown, "\n")
	if code != 0 || len(lines) != 5 || lines[0] != "# rb_module_rustack master key ("+orig+")" ||
		!strings.HasPrefix(lines[1], "0000: "+keyHex[:2]+" "+keyHex[2:4]+" ") || !strings.HasPrefix(lines[2], "0010: ") ||
		!strings.Contains(lines[1], "  | ") || !strings.HasPrefix(lines[3], "checksum: ") {
		t.Fatalf("key show: exit %d\n%s", code, shown)
	}

	imported := filepath.Join(dir, "new", "imported")
	out, errOut, code := cliWithStdin(t, shown, "key", "import", "--key-file", imported)
	if got, _ := os.ReadFile(imported); code != 0 || !bytes.Equal(got, keyBytes) || !strings.Contains(out, "imported master key into "+imported) {
		t.Fatalf("key import of key show's output: exit %d\n%s%s", code, out, errOut)
	}
	if st, _ := os.Stat(imported); st.Mode().Perm() != 0o600 {
		t.Errorf("imported key file mode %v", st.Mode())
	}
	plain := filepath.Join(dir, "plain")
	if _, errOut, code := cliWithStdin(t, strings.ToUpper(keyHex)+"\n", "key", "import", "--key-file", plain); code != 0 {
		t.Fatalf("key import of the hex string: exit %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(plain); !bytes.Equal(got, keyBytes) {
		t.Fatal("the hex string imported another key")
	}

	// A mistyped digit on the second data line (file line 3).
	bad := []byte(shown)
	i := strings.Index(shown, "0010: ") + 9
	if bad[i] == '0' {
		bad[i] = '1'
	} else {
		bad[i] = '0'
	}
	typo := filepath.Join(dir, "typo")
	out, errOut, code = cliWithStdin(t, string(bad), "key", "import", "--key-file", typo)
	if code != exitUsage || !strings.Contains(errOut, "line 3: the digits do not match the line check") {
		t.Errorf("mistyped copy: exit %d, want %d naming line 3\n%s%s", code, exitUsage, out, errOut)
	}
	for j := 0; j+6 <= len(keyHex); j++ {
		if strings.Contains(out+errOut, keyHex[j:j+6]) {
			t.Fatalf("the refusal shows digits of the key:\n%s%s", out, errOut)
		}
	}
	if _, err := os.Stat(typo); err == nil {
		t.Error("a refused import wrote a key file")
	}
	_, errOut, code = cliWithStdin(t, keyHex[:40]+"zz"+keyHex[42:], "key", "import", "--key-file", typo)
	if code != exitUsage || !strings.Contains(errOut, "line 1, column 41: not a hex digit") {
		t.Errorf("non-hex digit: exit %d %s", code, errOut)
	}

	// An existing file: the same key changes nothing; another key needs --force.
	if out, errOut, code := cliWithStdin(t, shown, "key", "import", "--key-file", imported); code != 0 || !strings.Contains(out, "already holds this key") {
		t.Errorf("same key again: exit %d %s%s", code, out, errOut)
	}
	other := filepath.Join(dir, "other")
	engineCLI(t, "keygen", "--key-file", other)
	otherShown, _, _ := engineCLI(t, "key", "show", "--key-file", other)
	if _, errOut, code := cliWithStdin(t, otherShown, "key", "import", "--key-file", imported); code != exitUsage || !strings.Contains(errOut, "give --force") {
		t.Errorf("another key over an existing file: exit %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(imported); !bytes.Equal(got, keyBytes) {
		t.Fatal("the key file was replaced without --force")
	}
	if _, errOut, code := cliWithStdin(t, otherShown, "key", "import", "--key-file", imported, "--force"); code != 0 {
		t.Errorf("--force: exit %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(imported); bytes.Equal(got, keyBytes) {
		t.Error("--force did not replace the key")
	}
}

// TestRestoreOtherFileSystemNoWarning: a restore to another file system
// (/dev/shm, a tmpfs, when it is one) does not warn.
func TestRestoreOtherFileSystemNoWarning(t *testing.T) {
	dir := t.TempDir()
	if sameFileSystem(dir, "/dev/shm") {
		t.Skip("/dev/shm is on the file system of the temporary directory here")
	}
	if !sameFileSystem(dir, filepath.Join(dir, "not", "yet")) {
		t.Fatal("sameFileSystem: a folder not made yet is not on its parent's file system")
	}
	key, pool := filepath.Join(dir, "key"), filepath.Join(dir, "pool")
	img := filepath.Join(dir, "vda.img")
	writeImage(t, img, 64<<10, 1)
	engineCLI(t, "keygen", "--key-file", key)
	out, errOut, code := engineCLI(t, "image", "backup", "--pool", pool, "--key-file", key, "--name", "vm", "--disk", "vda="+img, "--type", "full", "--json")
	if code != 0 {
		t.Fatalf("image backup: %d %s", code, errOut)
	}
	id := strings.Split(strings.Split(out, `"archive": "`)[1], `"`)[0]
	target, err := os.MkdirTemp("/dev/shm", "rb-restore-")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(target)
	_, errOut, code = engineCLI(t, "restore", id, "--pool", pool, "--key-file", key, "-X", target, "--force")
	if code != 0 || strings.Contains(errOut, "warning") {
		t.Errorf("restore to another file system: exit %d\n%s", code, errOut)
	}
}

// TestWarningsCLI: a group- or world-readable configuration or key file, and
// admin_name without admin_password, are warned about (-t: WARN lines).
func TestWarningsCLI(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	engineCLI(t, "keygen", "--key-file", key)
	os.Chmod(key, 0o644)
	_, errOut, code := engineCLI(t, "key", "show", "--key-file", key)
	if code != 0 || !strings.Contains(errOut, "warning: master key file "+key+" is readable by its group and other users (mode 0644)") {
		t.Errorf("key show of a 0644 key: exit %d\n%s", code, errOut)
	}
	os.Chmod(key, 0o600)
	pool := filepath.Join(dir, "pool")
	os.Mkdir(pool, 0o700)
	conf := writeConf(t, "url http://127.0.0.1:1/v3", "username u", "password pw", "domain d", "project_id p", "timeout 1",
		"admin_name adm", "master_key_file "+key, "pool "+pool,
		"log_file "+filepath.Join(dir, "RuBackup.log"), "state_dir "+filepath.Join(dir, "state"))
	os.Chmod(conf, 0o640)
	_, errOut, code = engineCLI(t, "-c", conf, "archives")
	if code != 0 || !strings.Contains(errOut, "warning: configuration file "+conf+" is readable by its group (mode 0640)") ||
		!strings.Contains(errOut, "warning: "+conf+":7: admin_name is set but admin_password is not") {
		t.Errorf("archives with a 0640 configuration and no admin_password: exit %d\n%s", code, errOut)
	}
	out, errOut, code := run(t, bin, "-c", conf, "-t")
	if code != exitCheck || !strings.Contains(out, "WARN  configuration: "+conf+":7: admin_name is set but admin_password is not") ||
		!strings.Contains(out, "WARN  configuration: configuration file "+conf+" is readable") {
		t.Errorf("-t: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestUnreadablePool: a pool that exists but cannot be read is an I/O
// failure (exit 1), not a usage error. As root, the binary runs as user
// nobody (65534) against a folder only root may read.
func TestUnreadablePool(t *testing.T) {
	bin := buildBinary(t)
	base, err := os.MkdirTemp("", "rb-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	pool := filepath.Join(base, "pool")
	if err := os.Mkdir(pool, 0o700); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(base, "rb_module_rustack")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(base, "rb.conf")
	if err := os.WriteFile(conf, []byte("# no key: the defaults\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "archives", "--pool", pool, "-c", conf)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		os.Chmod(pool, 0)
		defer os.Chmod(pool, 0o700)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure || !strings.Contains(stderr.String(), "cannot read archive pool "+pool+" (given by --pool)") ||
		!strings.Contains(stderr.String(), "permission denied") {
		t.Errorf("archives of an unreadable pool: %v, want exit %d\nstdout: %s\nstderr: %s", err, exitFailure, stdout.String(), stderr.String())
	}
}
