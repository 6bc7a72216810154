package guest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		name           string
		stdout, stderr string
		failed         bool
		ret            string // want this return value (compacted)
		unavailable    bool
		agent          *AgentError
		errSub         string
	}{
		{name: "compact", stdout: "{\"return\":{\"pid\":1234}}\n", ret: `{"pid":1234}`},
		{name: "with virsh's empty line", stdout: "{\"return\":{}}\n\n", ret: `{}`},
		{name: "pretty", stdout: "{\n  \"return\": {\n    \"exited\": true,\n    \"exitcode\": 0\n  }\n}\n", ret: `{"exited":true,"exitcode":0}`},
		{name: "scalar", stdout: `{"return":"thawed"}`, ret: `"thawed"`},
		{name: "shell noise first", stdout: "Welcome!\n{not json\n{\"return\":[1,2]}\n", ret: `[1,2]`},
		{name: "qmp error", stdout: `{"error":{"class":"GenericError","desc":"Invalid parameter 'pid'"}}`,
			agent: &AgentError{Command: "guest-exec-status", Class: "GenericError", Desc: "Invalid parameter 'pid'"}},
		{name: "virsh agent error", failed: true,
			stderr: "error: internal error: unable to execute QEMU agent command 'guest-file-open': failed to open file '/x' (mode: 'r'): No such file or directory\n",
			agent:  &AgentError{Command: "guest-file-open", Desc: "failed to open file '/x' (mode: 'r'): No such file or directory"}},
		{name: "frozen", failed: true,
			stderr: "error: internal error: unable to execute QEMU agent command 'guest-exec': Command guest-exec has been disabled: the agent is in frozen state\n",
			agent:  &AgentError{Command: "guest-exec", Desc: "Command guest-exec has been disabled: the agent is in frozen state"}},
		{name: "not connected", failed: true, stderr: "error: Guest agent is not responding: QEMU guest agent is not connected\n", unavailable: true},
		{name: "timeout", failed: true, stderr: "error: Guest agent is not responding: Guest agent not available for now\n", unavailable: true},
		{name: "not running", failed: true, stderr: "error: Requested operation is not valid: domain is not running\n", unavailable: true},
		{name: "job lock", failed: true, stderr: "error: Timed out during operation: cannot acquire state change lock (held by agent=remoteDispatchDomainQemuAgentCommand)\n", unavailable: true},
		{name: "hypervisor", failed: true,
			stderr: "error: failed to connect to the hypervisor\nerror: Cannot recv data: ssh: Could not resolve hostname nohost: Name or service not known: Connection reset by peer\n",
			errSub: "check the protocol setting"},
		{name: "no domain", failed: true, stderr: "error: failed to get domain 'instance-0000ffff'\n", errSub: "not known to the hypervisor"},
		{name: "failed silently", failed: true, errSub: "without an error message"},
		{name: "garbage", stdout: "hello", errSub: "cannot parse"},
		{name: "no return", stdout: `{"foo":1}`, errSub: "cannot parse"},
		{name: "two objects", stdout: `{"return":1}{"return":2}`, errSub: "cannot parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ret, err := parseReply("guest-exec-status", []byte(tc.stdout), []byte(tc.stderr), tc.failed)
			switch {
			case tc.ret != "":
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if err := json.Compact(&b, ret); err != nil {
					t.Fatal(err)
				}
				if b.String() != tc.ret {
					t.Fatalf("return %s, want %s", b.String(), tc.ret)
				}
			case tc.unavailable:
				if !errors.Is(err, ErrAgentUnavailable) {
					t.Fatalf("err %v, want unavailable", err)
				}
				var ae *AgentError
				if errors.As(err, &ae) {
					t.Fatal("unavailable is also an AgentError")
				}
			case tc.agent != nil:
				var ae *AgentError
				if !errors.As(err, &ae) || *ae != *tc.agent {
					t.Fatalf("err %#v, want %#v", err, tc.agent)
				}
				if errors.Is(err, ErrAgentUnavailable) {
					t.Fatal("agent error counted as unavailable")
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("err %v, want %q", err, tc.errSub)
				}
			}
		})
	}
}

func TestLibvirtURI(t *testing.T) {
	for _, tc := range [][3]string{
		{"ssh", "compute1", "qemu+ssh://compute1/system"},
		{"", "compute1", "qemu+ssh://compute1/system"},
		{"tcp", "10.0.0.5", "qemu+tcp://10.0.0.5/system"},
		{"TCP", "fd00::5", "qemu+tcp://[fd00::5]/system"},
	} {
		if got := LibvirtURI(tc[0], tc[1]); got != tc[2] {
			t.Errorf("LibvirtURI(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"virsh":             "virsh",
		"instance-0000002a": "instance-0000002a",
		"":                  "''",
		`{"execute":"x"}`:   `'{"execute":"x"}'`,
		"it's":              `'it'\''s'`,
		"a b":               "'a b'",
		"$(reboot)":         "'$(reboot)'",
		"qemu:///system":    "qemu:///system",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"return":{"pid":1}}`), []byte(""), false)
	f.Add([]byte("{\n  \"return\": {}\n}\n\n"), []byte(""), false)
	f.Add([]byte(`{"error":{"class":"GenericError","desc":"x"}}`), []byte(""), false)
	f.Add([]byte(""), []byte("error: internal error: unable to execute QEMU agent command 'guest-exec': y\n"), true)
	f.Add([]byte(""), []byte("error: internal error: unable to execute QEMU agent command 'guest-exec"), true)
	f.Add([]byte(""), []byte("error: Guest agent is not responding: QEMU guest agent is not connected\n"), true)
	f.Add([]byte("motd\n{\"return\":1}\n"), []byte(""), false)
	f.Add([]byte("\n{"), []byte("\n"), true)
	f.Fuzz(func(t *testing.T, stdout, stderr []byte, failed bool) {
		ret, err := parseReply("guest-exec", stdout, stderr, failed)
		if err == nil {
			if !json.Valid(ret) {
				t.Fatalf("invalid return value %q", ret)
			}
			if failed && len(stderr) > 0 && strings.TrimSpace(string(stderr)) != "" {
				t.Fatalf("a failed run with stderr %q gave no error", stderr)
			}
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}

// FuzzExecStatus feeds arbitrary guest-exec-status replies to Exec.
func FuzzExecStatus(f *testing.F) {
	f.Add(`{"exited":true,"exitcode":0,"out-data":"aGk=","err-data":""}`)
	f.Add(`{"exited":true,"signal":9}`)
	f.Add(`{"exited":true,"exitcode":"x"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, status string) {
		if strings.Contains(status, `"exited":false`) || !strings.Contains(status, "exited") {
			// a never-exiting status would only test the timeout
			status = `{"exited":true,` + strings.TrimPrefix(status, "{")
		}
		tr := scripted{"guest-exec": `{"pid":7}`, "guest-exec-status": status}
		r, err := newTestAgent(tr).Exec(t.Context(), "/x", nil, 1e6)
		if err == nil && r == nil {
			t.Fatal("nil result without error")
		}
	})
}
