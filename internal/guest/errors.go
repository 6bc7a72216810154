package guest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrAgentUnavailable means the guest agent could not be reached: it is not
// connected, not responding, the domain is not running, or the call timed
// out. Test for it with errors.Is.
var ErrAgentUnavailable = errors.New("guest agent unavailable")

// ErrExecTimeout means a command started with guest-exec did not exit within
// its timeout. The process may still be running in the guest.
var ErrExecTimeout = errors.New("guest command did not finish in time")

// AgentError is an error the guest agent itself returned for a command
// ({"error":{"class":...,"desc":...}} in QMP, or virsh's "unable to execute
// QEMU agent command 'X': DESC"). The agent is reachable; the command failed.
type AgentError struct {
	Command string // the QGA command, e.g. "guest-exec" ("" when unknown)
	Class   string // QMP error class, e.g. "GenericError" ("" when virsh hid it)
	Desc    string // the agent's description
}

func (e *AgentError) Error() string {
	var b strings.Builder
	b.WriteString("guest agent command")
	if e.Command != "" {
		fmt.Fprintf(&b, " %s", e.Command)
	}
	b.WriteString(" failed: ")
	if e.Desc != "" {
		b.WriteString(e.Desc)
	} else {
		b.WriteString("unknown error")
	}
	if e.Class != "" {
		fmt.Fprintf(&b, " (%s)", e.Class)
	}
	return b.String()
}

// unavailableError carries the text virsh printed; it matches
// ErrAgentUnavailable with errors.Is.
type unavailableError struct {
	msg   string
	cause error // optional, e.g. context.DeadlineExceeded
}

func (e *unavailableError) Error() string { return ErrAgentUnavailable.Error() + ": " + e.msg }

func (e *unavailableError) Is(target error) bool { return target == ErrAgentUnavailable }

func (e *unavailableError) Unwrap() error { return e.cause }

// qmpReply is one QGA reply.
type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// parseReply turns what a virsh run printed into the reply's "return" value
// or a typed error. stdout holds the reply JSON (compact or pretty, possibly
// after unrelated lines a remote shell printed), stderr virsh's "error: ..."
// lines; failed is true when the process exited non-zero. command names the
// QGA command for error messages. It never panics on any input.
func parseReply(command string, stdout, stderr []byte, failed bool) (json.RawMessage, error) {
	if !failed {
		if ret, ok, err := decodeReply(command, stdout); ok {
			return ret, err
		}
	}
	if err := classifyVirshError(command, stderr); err != nil {
		return nil, err
	}
	if failed {
		if ret, ok, err := decodeReply(command, stdout); ok {
			return ret, err
		}
		return nil, fmt.Errorf("virsh failed without an error message (stderr: %q)", tail(stderr, 512))
	}
	return nil, fmt.Errorf("cannot parse the guest agent reply to %s: %q", command, tail(stdout, 512))
}

// decodeReply finds the QMP reply in out: the whole trimmed text, or else the
// last line (or trailing block) that decodes as a reply object.
func decodeReply(command string, out []byte) (json.RawMessage, bool, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, false, nil
	}
	if ret, ok, err := decodeOne(command, out); ok {
		return ret, true, err
	}
	// Something printed before the reply (a remote shell's startup files):
	// try the last few suffixes that start at a line beginning with '{'.
	tries := 0
	for i := len(out) - 1; i > 0 && tries < 16; i-- {
		if out[i] == '{' && out[i-1] == '\n' {
			tries++
			if ret, ok, err := decodeOne(command, out[i:]); ok {
				return ret, true, err
			}
		}
	}
	return nil, false, nil
}

func decodeOne(command string, b []byte) (json.RawMessage, bool, error) {
	var r qmpReply
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, false, nil
	}
	if dec.More() {
		return nil, false, nil
	}
	if r.Error != nil {
		return nil, true, &AgentError{Command: command, Class: r.Error.Class, Desc: r.Error.Desc}
	}
	if r.Return == nil {
		return nil, false, nil
	}
	return r.Return, true, nil
}

// Phrases libvirt uses when the agent cannot be reached.
var unavailablePhrases = []string{
	"guest agent is not responding",
	"guest agent is not connected",
	"guest agent not available",
	"domain is not running",
	"agent is not connected",
	"cannot acquire state change lock",
}

// classifyVirshError maps virsh's "error: ..." lines to a typed error, or nil
// when stderr holds no error line.
func classifyVirshError(command string, stderr []byte) error {
	var lines []string
	for _, ln := range strings.Split(string(stderr), "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		lines = append(lines, strings.TrimPrefix(ln, "error: "))
	}
	if len(lines) == 0 {
		return nil
	}
	msg := strings.Join(lines, ": ")
	lower := strings.ToLower(msg)
	for _, p := range unavailablePhrases {
		if strings.Contains(lower, p) {
			return &unavailableError{msg: msg}
		}
	}
	const agentCmd = "unable to execute QEMU agent command '"
	if i := strings.Index(msg, agentCmd); i >= 0 {
		rest := msg[i+len(agentCmd):]
		name, desc := command, ""
		if j := strings.Index(rest, "'"); j >= 0 {
			name = rest[:j]
			desc = strings.TrimPrefix(strings.TrimPrefix(rest[j+1:], ":"), " ")
		}
		return &AgentError{Command: name, Desc: desc}
	}
	switch {
	case strings.Contains(lower, "failed to connect to the hypervisor"):
		return fmt.Errorf("virsh: %s (check the protocol setting and that libvirtd on the hypervisor accepts the connection)", msg)
	case strings.Contains(lower, "failed to get domain"):
		return fmt.Errorf("virsh: %s (the VM's instance name is not known to the hypervisor: was it migrated or deleted?)", msg)
	}
	return fmt.Errorf("virsh: %s", msg)
}

// tail returns at most the last n bytes of b, cut at a line start when one
// is near.
func tail(b []byte, n int) string {
	b = bytes.TrimRight(b, "\r\n\t ")
	if len(b) <= n {
		return string(b)
	}
	t := b[len(b)-n:]
	if i := bytes.IndexByte(t, '\n'); i >= 0 && i < n/2 {
		t = t[i+1:]
	}
	for len(t) > 0 && !utf8.RuneStart(t[0]) {
		t = t[1:]
	}
	return "..." + string(t)
}
