package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/codebuddy-dev/codebuddy/internal/testserver"
)

// server is the codebuddy process under test: one this program started, or
// one named by -url (then pid is whatever -pid says, 0 for unknown).
type server struct {
	url  string
	pid  int
	proc *testserver.Server // nil for -url
	dir  string
}

// raiseNoFile lifts this process's open-file limit to its hard limit. Calling
// syscall.Setrlimit explicitly also makes os/exec pass the raised limit on to
// the server started later (Go otherwise restores the original soft limit for
// children).
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}

// buildServer builds bin/codebuddy unless skip is set and it exists.
func buildServer(bin string, rebuild bool) error {
	if _, err := os.Stat(bin); err == nil && !rebuild {
		return nil
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/codebuddy")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -o %s ./cmd/codebuddy: %w", bin, err)
	}
	return nil
}

// startServer runs bin serve (through internal/testserver) on a free
// loopback port with a temporary data dir, execution off, warn-level logs and
// request limits far above the load.
func startServer(bin string, extraEnv []string) (*server, error) {
	dir, err := os.MkdirTemp("", "codebuddy-load-")
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	env := append([]string{
		"CODEBUDDY_SANDBOX=off",
		"CODEBUDDY_LOG_FORMAT=text",
		// Every writer is a signed-in user making a few requests; the WebSocket
		// upgrade is one request. Raised so only the collaboration path is measured.
		"CODEBUDDY_RATE_LIMIT_ANONYMOUS=1000000",
		"CODEBUDDY_RATE_LIMIT_USER=1000000",
		// Idle mode holds 100 connections per user (10,000 over 100 users).
		"CODEBUDDY_WS_CONNS_PER_USER=100000",
		"CODEBUDDY_REDIS_URL=",
		"CODEBUDDY_DATABASE_URL=",
	}, extraEnv...)
	// With execution off /readyz answers 503 (the sandbox check fails by design).
	proc, err := testserver.Start(testserver.Options{Binary: abs, Dir: dir, Env: env,
		ReadyStatus: http.StatusServiceUnavailable, ReadyTimeout: 60 * time.Second})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &server{url: proc.URL, pid: proc.Pid(), proc: proc, dir: dir}, nil
}

// restart stops the server and starts it again on the same address and data:
// a fresh process, without the garbage of earlier requests in its RSS.
func (s *server) restart() error {
	if s.proc == nil {
		return errors.New("cannot restart a server this program did not start")
	}
	proc, err := s.proc.Restart()
	if err != nil {
		return err
	}
	s.proc, s.pid = proc, proc.Pid()
	return nil
}

// logTail is the end of the server's log ("" for -url).
func (s *server) logTail(lines int) string {
	if s.proc == nil {
		return ""
	}
	return lastLines(s.proc.Log(), lines)
}

// Close stops a server this program started and removes its data.
func (s *server) Close() {
	if s.proc != nil {
		s.proc.Stop()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// procStat is a process's CPU time and memory from /proc.
type procStat struct {
	CPU   time.Duration // user + system
	RSS   int64         // bytes
	HWM   int64         // peak RSS, bytes
	Files int           // open descriptors
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100

func readProc(pid int) (procStat, error) {
	var st procStat
	if pid <= 0 {
		return st, errors.New("no server process id")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) may hold spaces; fields after it start after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return st, errors.New("unparsable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return st, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stm, _ := strconv.ParseInt(f[12], 10, 64)
	st.CPU = time.Duration(ut+stm) * time.Second / clkTck
	sf, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	defer sf.Close()
	sc := bufio.NewScanner(sf)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb := func() int64 {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
		switch k {
		case "VmRSS":
			st.RSS = kb()
		case "VmHWM":
			st.HWM = kb()
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		st.Files = len(ents)
	}
	return st, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// profiler records the server with perf (the server exposes no pprof
// endpoint); stop ends the recording and writes file.
type profiler struct {
	cmd  *exec.Cmd
	file string
}

func startPerf(pid int, file string) (*profiler, error) {
	if file == "" {
		return nil, nil
	}
	if pid <= 0 {
		return nil, errors.New("-perf needs the server's process id")
	}
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", file)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %w", err)
	}
	return &profiler{cmd: cmd, file: file}, nil
}

func (p *profiler) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	_ = p.cmd.Wait()
	fmt.Printf("server profile: %s (perf report -i %s --no-children)\n", p.file, p.file)
}
