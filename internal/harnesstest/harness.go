package harnesstest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// KeystoneAddr is where the harness' Keystone listens.
const KeystoneAddr = "127.0.0.1:5000"

// pyTimeout bounds one harness.py call (seed-vm of a few GB is the slowest).
const pyTimeout = 10 * time.Minute

// Harness is the shared OpenStack harness as a test sees it.
type Harness struct {
	// Env holds the variables of credentials.env (OS_* and OS_HARNESS_*).
	Env map[string]string
}

// New reads the harness' credentials.env (from $OPENSTACK_HARNESS_DIR,
// default /tmp/openstack-harness) and checks that Keystone answers. It skips
// the test, loudly, when the harness is not there: scripts/test.sh turns
// such skips (their message names up.sh) into failures once the harness is
// up. OS_HARNESS_* variables already set in the process environment win over
// the file's.
func New(t testing.TB) *Harness {
	t.Helper()
	dir := os.Getenv("OPENSTACK_HARNESS_DIR")
	if dir == "" {
		dir = "/tmp/openstack-harness"
	}
	env, err := readEnv(filepath.Join(dir, "credentials.env"))
	if err != nil {
		t.Skipf("OPENSTACK HARNESS NOT AVAILABLE (%v): run ../shared/openstack/up.sh", err)
	}
	h := &Harness{Env: env}
	h.RequireTCP(t, "keystone", KeystoneAddr)
	return h
}

// readEnv parses a shell file of (export) KEY=value lines.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "))
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		env[k] = strings.Trim(v, `"'`)
		if e := os.Getenv(k); e != "" && strings.HasPrefix(k, "OS_HARNESS_") {
			env[k] = e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return env, nil
}

// RequireTCP skips the test, loudly, unless addr accepts a TCP connection.
func (h *Harness) RequireTCP(t testing.TB, what, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Skipf("OPENSTACK HARNESS NOT REACHABLE (%s %s: %v): run ../shared/openstack/up.sh", what, addr, err)
	}
	conn.Close()
}

// RequireFile skips the test, loudly, unless path exists.
func (h *Harness) RequireFile(t testing.TB, what, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("OPENSTACK HARNESS NOT REACHABLE (%s: %v): run ../shared/openstack/up.sh", what, err)
	}
}

// run runs harness.py with args and returns its stdout; the error carries
// its stderr.
func (h *Harness) run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pyTimeout)
	defer cancel()
	full := append([]string{filepath.Join(h.Env["OS_HARNESS_HOME"], "harness.py")}, args...)
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", full...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("harness.py %s: %w\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		return nil, fmt.Errorf("harness.py %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// Py runs harness.py with args and returns its stdout; it fails the test
// when harness.py fails.
func (h *Harness) Py(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := h.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// VM is what harness.py seed-vm made.
type VM struct {
	ServerID     string `json:"server_id"`
	Name         string `json:"name"`
	InstanceName string `json:"instance_name"`
	Volumes      []struct {
		ID     string `json:"id"`
		SizeGB int    `json:"size_gb"`
		Path   string `json:"path"`
	} `json:"volumes"`
}

// SeedVM creates a VM of the test's own, named name, with one volume per
// disk spec (harness.py seed-vm --disk SPEC), and deletes it with its
// volumes when the test ends (deleting it earlier is fine).
func (h *Harness) SeedVM(t testing.TB, name string, disks ...string) *VM {
	t.Helper()
	args := []string{"seed-vm", "--name", name}
	for _, d := range disks {
		args = append(args, "--disk", d)
	}
	out := h.Py(t, args...)
	var vm VM
	if err := json.Unmarshal(out, &vm); err != nil || vm.ServerID == "" {
		t.Fatalf("harness.py seed-vm output %q: %v", out, err)
	}
	t.Cleanup(func() {
		if _, err := h.run("delete-vm", vm.ServerID); err != nil {
			t.Errorf("delete seeded VM %s (%s): %v", vm.ServerID, name, err)
		}
	})
	return &vm
}

// Server, Volume and Snapshot are entries of harness.py resources.
type (
	Server struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Status  string   `json:"status"`
		Volumes []string `json:"volumes"`
	}
	Volume struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		Status     string   `json:"status"`
		AttachedTo []string `json:"attached_to"`
	}
	Snapshot struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
	}
)

// Resources is what the test project holds now (harness.py resources).
type Resources struct {
	Servers   []Server   `json:"servers"`
	Volumes   []Volume   `json:"volumes"`
	Snapshots []Snapshot `json:"snapshots"`
}

// Resources lists the test project's servers, volumes and snapshots.
func (h *Harness) Resources(t testing.TB) Resources {
	t.Helper()
	var r Resources
	if err := json.Unmarshal(h.Py(t, "resources"), &r); err != nil {
		t.Fatalf("harness.py resources: %v", err)
	}
	return r
}

// SHA256 returns the hex SHA-256 of each file (as root, through harness.py).
func (h *Harness) SHA256(t testing.TB, paths ...string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(h.Py(t, append([]string{"sha256"}, paths...)...))), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("harness.py sha256 %v: %d lines of output", paths, len(lines))
	}
	sums := make([]string, len(paths))
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) < 1 {
			t.Fatalf("harness.py sha256 %s: no output", paths[i])
		}
		sums[i] = f[0]
	}
	return sums
}

// VolumePath is the backing file of volume id.
func (h *Harness) VolumePath(t testing.TB, id string) string {
	t.Helper()
	return strings.TrimSpace(string(h.Py(t, "volume-path", id)))
}

// Name returns prefix followed by six random hex digits: a name no other
// test run uses.
func Name(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
