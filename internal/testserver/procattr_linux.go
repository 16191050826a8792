package testserver

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the server die with the test binary (a go test timeout
// kills the binary without running deferred clean-up), so no server and no
// sandbox pool outlive a failed CI job.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
