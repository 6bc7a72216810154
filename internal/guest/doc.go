// Package guest runs commands inside a VM through qemu-guest-agent
// (guest-exec / guest-exec-status), reached with virsh locally or over ssh on
// the VM's hypervisor, and implements the before/after script rules.
// It knows nothing about snapshots, clouds or archives: the caller gives it
// the hypervisor host and the libvirt domain (the admin-only server
// attributes OS-EXT-SRV-ATTR:host and OS-EXT-SRV-ATTR:instance_name).
//
// # Transports
//
// A Transport sends one QGA JSON command and returns the reply's "return"
// value. NewVirsh runs `virsh -c URI -q qemu-agent-command DOMAIN JSON
// --timeout N` on this machine, with URI = LibvirtURI(protocol, host)
// (qemu+ssh://HOST/system or qemu+tcp://HOST/system). NewSSH runs the same
// virsh on the hypervisor through `ssh -o BatchMode=yes`, against
// qemu:///system there, every remote word quoted for the remote shell.
// Every call is bounded by its context and by the agent timeout plus the
// time libvirt may wait for the domain's job lock; the child process group
// is killed when the bound passes or the context ends.
//
// Errors: the agent's own error is an *AgentError (Class, Desc); an agent
// that is not connected, not responding, whose domain is not running, or
// that did not answer in time matches ErrAgentUnavailable. A program that
// did not exit within Exec's timeout matches ErrExecTimeout (qemu-ga cannot
// stop it; it keeps running in the guest).
//
// # Script rules
//
// Scripts implements them for one VM and one backup (docs/guest-scripts.md
// says the same for operators):
//
//   - A configured script (script_before_snapshot, script_after_snapshot)
//     replaces the default script for both steps: when either is set, the
//     default script is neither looked for nor run, and a step without a
//     configured script runs nothing.
//   - Before: a configured before script (the rule parameter
//     script_before_snapshot) runs as given, without arguments. Otherwise,
//     when no script is configured, the
//     default script (guest_script, /opt/rubackup/scripts/rustack.sh) runs
//     as `rustack.sh before`, but only if `test -f P -a -x P` succeeds in the
//     guest; if it is absent or not executable the log says "no guest
//     script" and nothing runs. An agent that answers but cannot run `test`
//     (a Windows guest, guest-exec disabled) counts as "absent", with a
//     warning.
//   - After: runs at most once, and only after Before was called. If Before
//     started a script, After always runs, even when that script failed or
//     the snapshots failed: the configured after script
//     (script_after_snapshot) as given, else `rustack.sh after` when that is
//     what Before started (nothing when Before ran a configured script). If
//     Before started nothing, only a configured after script runs, and only
//     when Before did not fail. After ignores the cancellation of its
//     context (an interrupted backup must still undo what before did); it is
//     bounded by the script timeout plus two minutes instead.
//   - Failure: a non-zero exit, a signal, a script that outlives
//     script_timeout, or an agent that cannot be reached (also while checking
//     for the default script) is a *ScriptError that names the exit code and
//     ends with the tail of the script's stderr (or stdout); the backup fails.
//     With IgnoreErrors (ignore_script_errors=yes) it is logged as a warning
//     and Before/After return nil.
//   - Output: both streams are decoded from base64 and logged line by line
//     with Infof, whatever the outcome; output the agent truncated is noted.
//
// Without an admin account there are no scripts at all: HOST and INSTANCE
// are admin-only server attributes, so the caller cannot address the agent.
// The caller logs that once per backup; this package is then not used.
package guest
