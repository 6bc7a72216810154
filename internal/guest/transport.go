package guest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Transport delivers one guest-agent command to a domain and returns the
// reply's "return" value as raw JSON. The agent's own errors come back as
// *AgentError; an agent that cannot be reached (not connected, not
// responding, domain not running, no answer within timeout) as an error
// matching ErrAgentUnavailable. timeout bounds the wait for the agent;
// ctx bounds the whole call, and the child process is killed when either
// runs out.
type Transport interface {
	Command(ctx context.Context, domain string, cmd []byte, timeout time.Duration) ([]byte, error)
}

// lockSlack is how much longer than the agent timeout a virsh run may take:
// libvirt waits up to 30 s for the domain's job lock (another agent command
// in progress) before it starts the agent timeout.
const lockSlack = 35 * time.Second

// LibvirtURI is the libvirt connection URI for a hypervisor host:
// qemu+tcp://HOST/system for protocol "tcp", qemu+ssh://HOST/system
// otherwise (the default protocol is ssh). An IPv6 address is bracketed.
func LibvirtURI(protocol, host string) string {
	scheme := "qemu+ssh"
	if strings.EqualFold(strings.TrimSpace(protocol), "tcp") {
		scheme = "qemu+tcp"
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + "/system"
}

// VirshOptions configures the local virsh transport.
type VirshOptions struct {
	VirshPath string // default "virsh"
	URI       string // e.g. LibvirtURI("ssh", host); "" = virsh's default connection
}

type virshTransport struct{ o VirshOptions }

// NewVirsh returns a Transport that runs
// `virsh -c URI -q qemu-agent-command DOMAIN JSON --timeout N` on this machine.
func NewVirsh(o VirshOptions) Transport {
	if o.VirshPath == "" {
		o.VirshPath = "virsh"
	}
	return &virshTransport{o: o}
}

func (v *virshTransport) Command(ctx context.Context, domain string, cmd []byte, timeout time.Duration) ([]byte, error) {
	args, name, err := virshArgs(v.o.URI, domain, cmd, timeout)
	if err != nil {
		return nil, err
	}
	stdout, stderr, code, err := runBounded(ctx, timeout+lockSlack, v.o.VirshPath, args)
	if err != nil {
		return nil, fmt.Errorf("%s %s on %s: %w", v.o.VirshPath, name, domain, err)
	}
	ret, err := parseReply(name, stdout, stderr, code != 0)
	if err != nil {
		return nil, fmt.Errorf("%s on domain %s: %w", name, domain, err)
	}
	return ret, nil
}

// SSHOptions configures the ssh transport: virsh runs on the hypervisor.
type SSHOptions struct {
	Host           string        // the hypervisor (OS-EXT-SRV-ATTR:host)
	User           string        // default "root"
	Port           int           // 0 = ssh's default
	KeyFile        string        // "" = ssh's default identities
	ConnectTimeout time.Duration // default 10 s
	VirshPath      string        // virsh on the hypervisor; default "virsh"
	ExtraOptions   []string      // more ssh options, e.g. "-o", "UserKnownHostsFile=..."
	SSHPath        string        // default "ssh"
}

type sshTransport struct{ o SSHOptions }

// NewSSH returns a Transport that runs
// `ssh -o BatchMode=yes -o ConnectTimeout=N -i KEY -p PORT USER@HOST virsh -c qemu:///system -q qemu-agent-command DOMAIN 'JSON' --timeout N`,
// every remote word quoted for the remote shell.
func NewSSH(o SSHOptions) Transport {
	if o.User == "" {
		o.User = "root"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.VirshPath == "" {
		o.VirshPath = "virsh"
	}
	if o.SSHPath == "" {
		o.SSHPath = "ssh"
	}
	return &sshTransport{o: o}
}

func (s *sshTransport) Command(ctx context.Context, domain string, cmd []byte, timeout time.Duration) ([]byte, error) {
	args, err := s.args()
	if err != nil {
		return nil, err
	}
	vargs, name, err := virshArgs("qemu:///system", domain, cmd, timeout)
	if err != nil {
		return nil, err
	}
	remote := make([]string, 0, len(vargs)+1)
	remote = append(remote, shellQuote(s.o.VirshPath))
	for _, a := range vargs {
		remote = append(remote, shellQuote(a))
	}
	args = append(args, strings.Join(remote, " "))
	stdout, stderr, code, err := runBounded(ctx, timeout+lockSlack+s.o.ConnectTimeout, s.o.SSHPath, args)
	dest := s.dest()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %s on %s: %w", dest, name, domain, err)
	}
	if code == 255 { // ssh's own failure: connection, authentication, host key
		return nil, sshError(dest, stderr)
	}
	if code == 127 {
		return nil, fmt.Errorf("ssh %s: %s not found on the hypervisor: %s", dest, s.o.VirshPath, tail(stderr, 256))
	}
	ret, err := parseReply(name, stdout, stderr, code != 0)
	if err != nil {
		return nil, fmt.Errorf("%s on domain %s (via ssh %s): %w", name, domain, dest, err)
	}
	return ret, nil
}

func (s *sshTransport) dest() string {
	d := s.o.User + "@" + s.o.Host
	if s.o.Port > 0 {
		d += ":" + strconv.Itoa(s.o.Port)
	}
	return d
}

func (s *sshTransport) args() ([]string, error) {
	if s.o.Host == "" || strings.HasPrefix(s.o.Host, "-") || strings.ContainsAny(s.o.Host, " \t\n@") {
		return nil, fmt.Errorf("ssh transport: invalid hypervisor host %q", s.o.Host)
	}
	if strings.HasPrefix(s.o.User, "-") || strings.ContainsAny(s.o.User, " \t\n@") {
		return nil, fmt.Errorf("ssh transport: invalid ssh_user %q", s.o.User)
	}
	secs := int(math.Ceil(s.o.ConnectTimeout.Seconds()))
	args := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=" + strconv.Itoa(secs)}
	if s.o.KeyFile != "" {
		args = append(args, "-i", s.o.KeyFile)
	}
	if s.o.Port > 0 {
		args = append(args, "-p", strconv.Itoa(s.o.Port))
	}
	args = append(args, s.o.ExtraOptions...)
	host := s.o.Host
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		host = ip.String()
	}
	args = append(args, "-l", s.o.User, "--", host)
	return args, nil
}

func sshError(dest string, stderr []byte) error {
	msg := strings.TrimSpace(tail(stderr, 512))
	hint := "check ssh_user, ssh_key_file, ssh_connection_timeout and that the hypervisor accepts the key"
	if strings.Contains(msg, "Host key verification failed") {
		hint = "add the hypervisor's host key to known_hosts of the user running the module"
	}
	return fmt.Errorf("ssh %s: %s (%s)", dest, msg, hint)
}

// virshArgs builds virsh's arguments for one agent command; name is the
// QGA command name (for messages).
func virshArgs(uri, domain string, cmd []byte, timeout time.Duration) (args []string, name string, err error) {
	if domain == "" || strings.HasPrefix(domain, "-") || strings.ContainsAny(domain, " \t\n") {
		return nil, "", fmt.Errorf("invalid libvirt domain name %q", domain)
	}
	var probe struct {
		Execute string `json:"execute"`
	}
	if err := json.Unmarshal(cmd, &probe); err != nil || probe.Execute == "" {
		return nil, "", fmt.Errorf("invalid guest agent command %q: want a JSON object with \"execute\"", tail(cmd, 200))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, cmd); err != nil {
		return nil, "", fmt.Errorf("invalid guest agent command: %w", err)
	}
	secs := int(math.Ceil(timeout.Seconds()))
	if secs < 1 {
		secs = 1
	}
	if uri != "" {
		args = append(args, "-c", uri)
	}
	args = append(args, "-q", "qemu-agent-command", domain, compact.String(), "--timeout", strconv.Itoa(secs))
	return args, probe.Execute, nil
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runBounded runs path with args, bounded by ctx and by limit. It returns
// what the process wrote and its exit code (-1 when it died by a signal).
// err is set when the process could not run to completion: it could not
// start, ctx ended (ctx's error), or limit passed (an ErrAgentUnavailable
// error). The process group is killed in those cases.
func runBounded(ctx context.Context, limit time.Duration, path string, args []string) (stdout, stderr []byte, code int, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, -1, err
	}
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := exec.CommandContext(runCtx, path, args...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	setProcessGroup(c)
	c.WaitDelay = 2 * time.Second
	runErr := c.Run()
	if ctx.Err() != nil {
		return o.Bytes(), e.Bytes(), -1, ctx.Err()
	}
	if runCtx.Err() != nil {
		return o.Bytes(), e.Bytes(), -1, &unavailableError{
			msg:   fmt.Sprintf("no answer within %s; the process was stopped", limit.Round(time.Second)),
			cause: context.DeadlineExceeded,
		}
	}
	if runErr != nil {
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			return o.Bytes(), e.Bytes(), ee.ExitCode(), nil
		}
		if errors.Is(runErr, exec.ErrNotFound) || errors.Is(runErr, fs.ErrNotExist) {
			return nil, nil, -1, fmt.Errorf("%s not found: install it or configure its full path", path)
		}
		return o.Bytes(), e.Bytes(), -1, fmt.Errorf("run %s: %w", path, runErr)
	}
	return o.Bytes(), e.Bytes(), 0, nil
}

// TransportOptions mirrors the configuration keys that pick and shape a
// transport (script_transport, protocol, virsh_path, ssh_user, ssh_key_file,
// ssh_connection_timeout), so callers need not know both constructors.
type TransportOptions struct {
	Kind                 string // "virsh" (default) | "ssh"
	Protocol             string // libvirt transport for Kind "virsh": "ssh" (default) | "tcp"
	VirshPath            string // default "virsh" (for Kind "ssh": on the hypervisor)
	SSHUser              string // default "root"
	SSHKeyFile           string
	SSHPort              int // 0 = ssh's default
	SSHConnectionTimeout time.Duration
	SSHExtraOptions      []string
}

// NewTransport returns the transport that reaches the agents of VMs on the
// hypervisor host (OS-EXT-SRV-ATTR:host).
func NewTransport(o TransportOptions, host string) (Transport, error) {
	if host == "" {
		return nil, fmt.Errorf("no hypervisor host for the guest agent (the admin view of the server has no OS-EXT-SRV-ATTR:host)")
	}
	switch strings.ToLower(o.Kind) {
	case "", "virsh":
		return NewVirsh(VirshOptions{VirshPath: o.VirshPath, URI: LibvirtURI(o.Protocol, host)}), nil
	case "ssh":
		return NewSSH(SSHOptions{Host: host, User: o.SSHUser, Port: o.SSHPort, KeyFile: o.SSHKeyFile,
			ConnectTimeout: o.SSHConnectionTimeout, VirshPath: o.VirshPath, ExtraOptions: o.SSHExtraOptions}), nil
	}
	return nil, fmt.Errorf("script_transport %q: want virsh or ssh", o.Kind)
}
