//go:build unix

package guest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts c in its own process group and makes cancellation
// kill the whole group, so nothing c started outlives the call.
func setProcessGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		if c.Process == nil {
			return nil
		}
		if err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL); err != nil {
			return c.Process.Kill()
		}
		return nil
	}
}
