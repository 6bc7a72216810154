package guest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeExe(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: the fake virsh needs it")
	}
}

// echoVirsh is a fake virsh that returns its own arguments as the reply.
const echoVirsh = `#!/usr/bin/env python3
import json, sys
print(json.dumps({"return": sys.argv[1:]}))
`

func TestVirshTransportArgs(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	v := writeExe(t, dir, "virsh", echoVirsh)
	tr := NewVirsh(VirshOptions{VirshPath: v, URI: LibvirtURI("ssh", "compute1")})
	cmd := []byte(`{ "execute": "guest-ping" }`)
	ret, err := tr.Command(context.Background(), "instance-00000003", cmd, 6500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	if err := json.Unmarshal(ret, &args); err != nil {
		t.Fatal(err)
	}
	want := []string{"-c", "qemu+ssh://compute1/system", "-q", "qemu-agent-command", "instance-00000003",
		`{"execute":"guest-ping"}`, "--timeout", "7"}
	if strings.Join(args, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("args %q, want %q", args, want)
	}

	for _, bad := range []string{"", "-c", "a b"} {
		if _, err := tr.Command(context.Background(), bad, cmd, time.Second); err == nil {
			t.Errorf("domain %q accepted", bad)
		}
	}
	if _, err := tr.Command(context.Background(), "d", []byte(`{"arguments":{}}`), time.Second); err == nil {
		t.Error("command without execute accepted")
	}
}

func TestVirshTransportErrors(t *testing.T) {
	dir := t.TempDir()
	v := writeExe(t, dir, "virsh", `#!/bin/sh
echo "error: Guest agent is not responding: QEMU guest agent is not connected" >&2
exit 1
`)
	_, err := NewVirsh(VirshOptions{VirshPath: v}).Command(context.Background(), "dom", []byte(`{"execute":"guest-ping"}`), time.Second)
	if !errors.Is(err, ErrAgentUnavailable) || !strings.Contains(err.Error(), "guest-ping on domain dom") {
		t.Fatalf("err %v", err)
	}

	_, err = NewVirsh(VirshOptions{VirshPath: filepath.Join(dir, "nope")}).Command(context.Background(), "dom", []byte(`{"execute":"guest-ping"}`), time.Second)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing virsh: %v", err)
	}
}

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	b, _ := os.ReadFile(path)
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, n)
	}
	return pids
}

func TestCancelKillsProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	v := writeExe(t, dir, "virsh", `#!/bin/sh
sleep 300 &
echo $$ $! > `+pidFile+`.tmp
mv `+pidFile+`.tmp `+pidFile+`
wait
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := NewVirsh(VirshOptions{VirshPath: v}).Command(ctx, "dom", []byte(`{"execute":"guest-ping"}`), time.Minute)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fake virsh never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pids := readPIDs(t, pidFile)
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	for _, pid := range pids {
		for !gone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still runs after cancel", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestRunBoundedLimit(t *testing.T) {
	_, _, _, err := runBounded(context.Background(), 50*time.Millisecond, "sh", []string{"-c", "sleep 30"})
	if !errors.Is(err, ErrAgentUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	_, _, code, err := runBounded(context.Background(), time.Minute, "sh", []string{"-c", "exit 4"})
	if err != nil || code != 4 {
		t.Fatalf("code %d err %v", code, err)
	}
}

// fakeSSH records its arguments and runs the remote command with sh, as
// sshd does, with the fake virsh first on PATH.
func fakeSSH(t *testing.T, dir, virshBody string) (ssh, argsFile string) {
	t.Helper()
	bin := filepath.Join(dir, "remote-bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	writeExe(t, bin, "virsh", virshBody)
	argsFile = filepath.Join(dir, "ssh-args")
	ssh = writeExe(t, dir, "ssh", `#!/bin/sh
printf '%s\n' "$@" > `+argsFile+`
while [ "$1" != "--" ]; do shift; done
shift 2
PATH=`+bin+`:$PATH exec sh -c "$*"
`)
	return ssh, argsFile
}

func TestSSHTransportQuoting(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	ssh, argsFile := fakeSSH(t, dir, echoVirsh)
	tr := NewSSH(SSHOptions{Host: "compute1", User: "backup", Port: 2222, KeyFile: "/k/id", SSHPath: ssh,
		ConnectTimeout: 1500 * time.Millisecond, ExtraOptions: []string{"-o", "UserKnownHostsFile=/k/kh"}})
	a := NewAgent(tr, "instance-00000003")
	tricky := `/tmp/it's "$HOME" a;b` + "`x`\\"
	var args []string
	if err := a.Call(context.Background(), "guest-exec", map[string]any{"path": tricky}, &args); err != nil {
		t.Fatal(err)
	}
	if len(args) != 8 || args[0] != "-c" || args[1] != "qemu:///system" || args[4] != "instance-00000003" || args[6] != "--timeout" {
		t.Fatalf("remote virsh args %q", args)
	}
	var cmd struct {
		Execute   string `json:"execute"`
		Arguments struct {
			Path string `json:"path"`
		} `json:"arguments"`
	}
	if err := json.Unmarshal([]byte(args[5]), &cmd); err != nil {
		t.Fatalf("remote JSON %q: %v", args[5], err)
	}
	if cmd.Execute != "guest-exec" || cmd.Arguments.Path != tricky {
		t.Fatalf("remote got %+v, want path %q", cmd, tricky)
	}
	b, _ := os.ReadFile(argsFile)
	local := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-i", "/k/id", "-p", "2222",
		"-o", "UserKnownHostsFile=/k/kh", "-l", "backup", "--", "compute1"}
	if len(local) != len(want)+1 || strings.Join(local[:len(want)], " ") != strings.Join(want, " ") {
		t.Fatalf("ssh args %q, want %q + command", local, want)
	}
}

func TestSSHTransportErrors(t *testing.T) {
	dir := t.TempDir()
	ssh := writeExe(t, dir, "ssh", `#!/bin/sh
echo "root@compute1: Permission denied (publickey)." >&2
exit 255
`)
	cmd := []byte(`{"execute":"guest-ping"}`)
	_, err := NewSSH(SSHOptions{Host: "compute1", SSHPath: ssh}).Command(context.Background(), "d", cmd, time.Second)
	if err == nil || !strings.Contains(err.Error(), "Permission denied") || !strings.Contains(err.Error(), "ssh_key_file") {
		t.Fatalf("err %v", err)
	}
	if errors.Is(err, ErrAgentUnavailable) {
		t.Fatal("ssh failure counted as agent unavailable")
	}

	ssh127 := writeExe(t, dir, "ssh127", "#!/bin/sh\necho 'sh: 1: virsh: not found' >&2\nexit 127\n")
	_, err = NewSSH(SSHOptions{Host: "compute1", SSHPath: ssh127}).Command(context.Background(), "d", cmd, time.Second)
	if err == nil || !strings.Contains(err.Error(), "not found on the hypervisor") {
		t.Fatalf("err %v", err)
	}

	ssh2, _ := fakeSSH(t, t.TempDir(), "#!/bin/sh\necho \"error: Requested operation is not valid: domain is not running\" >&2\nexit 1\n")
	_, err = NewSSH(SSHOptions{Host: "compute1", SSHPath: ssh2}).Command(context.Background(), "d", cmd, time.Second)
	if !errors.Is(err, ErrAgentUnavailable) {
		t.Fatalf("err %v", err)
	}

	for _, host := range []string{"", "-oProxyCommand=x", "a b", "u@h"} {
		if _, err := NewSSH(SSHOptions{Host: host, SSHPath: ssh}).Command(context.Background(), "d", cmd, time.Second); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("host %q: %v", host, err)
		}
	}
}

func TestNewTransport(t *testing.T) {
	tr, err := NewTransport(TransportOptions{Protocol: "tcp", VirshPath: "/x/virsh"}, "cmp1")
	if v, ok := tr.(*virshTransport); err != nil || !ok || v.o.URI != "qemu+tcp://cmp1/system" || v.o.VirshPath != "/x/virsh" {
		t.Fatalf("virsh: %#v %v", tr, err)
	}
	tr, err = NewTransport(TransportOptions{Kind: "ssh", SSHUser: "u", SSHKeyFile: "/k", SSHConnectionTimeout: 3 * time.Second}, "cmp1")
	if s, ok := tr.(*sshTransport); err != nil || !ok || s.o.Host != "cmp1" || s.o.User != "u" || s.o.KeyFile != "/k" || s.o.ConnectTimeout != 3*time.Second || s.o.VirshPath != "virsh" {
		t.Fatalf("ssh: %#v %v", tr, err)
	}
	if _, err := NewTransport(TransportOptions{Kind: "rsh"}, "cmp1"); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if _, err := NewTransport(TransportOptions{}, ""); err == nil {
		t.Fatal("empty host accepted")
	}
}
