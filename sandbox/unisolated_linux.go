package sandbox

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runUnisolated runs cmd as a plain child process in dir: the development
// mode behind Options.Unisolated. It keeps the wall-clock limit and the
// output caps so that the rest of the server behaves the same, and nothing
// else: no namespaces, no cgroup, no seccomp.
func runUnisolated(ctx context.Context, dir string, cmd Cmd) (Result, error) {
	lim := cmd.Limits
	c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	c.Dir = filepath.Join(dir, cmd.Dir)
	env := defaultEnv(append(cmd.Env, "HOME="+dir, "TMPDIR="+os.TempDir()))
	c.Env = env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	rs := &runState{killCh: make(chan struct{})}
	rs.stdout.max, rs.stderr.max = lim.Stdout, lim.Stderr
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{Status: StatusInternalError, Reason: err.Error()}, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{Status: StatusInternalError, Reason: err.Error()}, err
	}
	c.Stdout, c.Stderr = outW, errW
	stdin, err := c.StdinPipe()
	if err != nil {
		return Result{Status: StatusInternalError, Reason: err.Error()}, err
	}
	start := time.Now()
	if err := c.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return Result{Status: StatusInternalError, Reason: err.Error()}, err
	}
	outW.Close()
	errW.Close()
	var readers sync.WaitGroup
	readers.Add(2)
	go readStream(&readers, rs, outR, &rs.stdout, Stdout, cmd.OnOutput)
	go readStream(&readers, rs, errR, &rs.stderr, Stderr, cmd.OnOutput)
	go func() {
		defer stdin.Close()
		if cmd.Stdin != nil {
			io.Copy(stdin, cmd.Stdin)
		}
	}()
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.Wait() }()
	wall := time.NewTimer(lim.WallTime)
	defer wall.Stop()
	killGroup := func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	var werr error
loop:
	for {
		select {
		case werr = <-waitErr:
			break loop
		case <-wall.C:
			rs.kill(StatusTimeLimit, "wall time limit")
			killGroup()
		case <-ctx.Done():
			rs.kill(StatusCancelled, "cancelled")
			killGroup()
		case <-rs.killCh:
			rs.killCh = make(chan struct{})
			killGroup()
		}
	}
	killGroup()
	readers.Wait()
	outR.Close()
	errR.Close()
	res := Result{
		Stdout: rs.stdout.buf, Stderr: rs.stderr.buf,
		StdoutTruncated: rs.stdout.truncated, StderrTruncated: rs.stderr.truncated,
		Time: time.Since(start), ExitCode: -1,
	}
	if res.Stdout == nil {
		res.Stdout = []byte{}
	}
	if res.Stderr == nil {
		res.Stderr = []byte{}
	}
	if ps := c.ProcessState; ps != nil {
		res.CPUTime = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MemoryBytes = ru.Maxrss * 1024
		}
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			if ws.Exited() {
				res.ExitCode = ws.ExitStatus()
			} else if ws.Signaled() {
				res.Signal = unix.SignalName(ws.Signal())
			}
		}
	}
	var ee *exec.ExitError
	rs.mu.Lock()
	killed, why, reason := rs.killed, rs.why, rs.reason
	rs.mu.Unlock()
	switch {
	case killed:
		res.Status, res.Reason = why, reason
	case werr == nil:
		res.Status = StatusOK
	case errors.As(werr, &ee):
		res.Status = StatusRuntimeError
	default:
		res.Status, res.Reason = StatusInternalError, werr.Error()
		return res, werr
	}
	return res, nil
}
