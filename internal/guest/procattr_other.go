//go:build !unix

package guest

import "os/exec"

// setProcessGroup: exec.CommandContext already kills the process on cancel.
func setProcessGroup(c *exec.Cmd) {}
