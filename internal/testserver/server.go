// Package testserver runs the real codebuddy binary for end-to-end tests:
// it builds cmd/codebuddy once, starts it on a free loopback port with its own
// data directory and extra environment, waits for /readyz, stops it
// gracefully or with SIGKILL, and reads its log (including the race
// detector's reports). Users register from their own 127.x.y.z source
// address, so the per-address sign-up limit does not bite a suite of fresh
// users, and get small HTTP and WebSocket helpers that fail the test on
// transport errors.
//
// A typical TestMain:
//
//	bin, err := testserver.Build(dir)      // -race when the tests run with -race
//	srv, err := testserver.Start(testserver.Options{Binary: bin, Dir: dir,
//		Env: []string{"CODEBUDDY_SANDBOX=off"}, ReadyStatus: http.StatusServiceUnavailable})
//	code := m.Run()
//	srv.Stop()
//	if srv.Raced() { code = 1 }
package testserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RaceEnabled reports whether this program runs with the race detector;
// Build then builds the server with it too, so the server is race-checked
// end to end.
const RaceEnabled = raceEnabled

// RaceReport is what the race detector writes when it finds a data race.
const RaceReport = "WARNING: DATA RACE"

// Build compiles the codebuddy server into dir and returns the binary's path.
// It takes a while: build once per test binary (in TestMain).
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "codebuddy")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	args := []string{"build", "-o", bin}
	if RaceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(gobin, append(args, "github.com/codebuddy-dev/codebuddy/cmd/codebuddy")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build codebuddy: %v\n%s", err, out)
	}
	return bin, nil
}

// Options describe one server process.
type Options struct {
	// Binary is the path Build returned.
	Binary string
	// Dir is the process's working directory; the data directory is
	// Dir/data and the log Dir/server.log (appended to, so a restart on the
	// same Dir keeps the earlier log).
	Dir string
	// Addr is host:port to listen on; empty picks a free loopback port.
	// Restarting with a stopped server's Addr keeps its URL.
	Addr string
	// Env is added to the process environment after the test defaults
	// (address, data dir, base URL, 2 execution slots, warn log level), so
	// it can override them: CODEBUDDY_SANDBOX=off, CODEBUDDY_DATABASE_URL,
	// CODEBUDDY_REDIS_URL, …
	Env []string
	// ReadyStatus is the /readyz status Start waits for: 200 (the default)
	// needs every check to pass, 503 suits CODEBUDDY_SANDBOX=off.
	ReadyStatus int
	// ReadyTimeout bounds the wait (default 90 s).
	ReadyTimeout time.Duration
}

// Server is one running codebuddy process.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port (also its CODEBUDDY_BASE_URL).
	URL string
	// Addr is the listening address.
	Addr string
	// Options are those it was started with (Addr filled in).
	Options Options
	// LogPath is the file its stdout and stderr go to.
	LogPath string

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start runs the server and waits until /readyz answers with o.ReadyStatus.
// On failure the error includes the server's log.
func Start(o Options) (*Server, error) {
	if o.Binary == "" || o.Dir == "" {
		return nil, errors.New("testserver: Options.Binary and Options.Dir are required")
	}
	if o.ReadyStatus == 0 {
		o.ReadyStatus = http.StatusOK
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if o.Addr == "" {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		o.Addr = addr
	}
	s := &Server{URL: "http://" + o.Addr, Addr: o.Addr, Options: o, LogPath: filepath.Join(o.Dir, "server.log"),
		exited: make(chan struct{})}
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(o.Binary, "serve")
	s.cmd.Dir = o.Dir
	s.cmd.Env = append(append(os.Environ(),
		"CODEBUDDY_ADDR="+o.Addr,
		"CODEBUDDY_DATA_DIR="+filepath.Join(o.Dir, "data"),
		"CODEBUDDY_BASE_URL="+s.URL,
		"CODEBUDDY_EXEC_SLOTS=2",
		"CODEBUDDY_GO_CACHE_DIR=/var/tmp/codebuddy-test-gocache",
		"CODEBUDDY_LOG_LEVEL=warn",
	), o.Env...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	killWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(o.ReadyStatus, o.ReadyTimeout); err != nil {
		s.Kill()
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, s.Log())
	}
	return s, nil
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Log returns everything the server wrote so far.
func (s *Server) Log() string { b, _ := os.ReadFile(s.LogPath); return string(b) }

// Raced reports whether the race detector reported a data race in the log.
func (s *Server) Raced() bool { return strings.Contains(s.Log(), RaceReport) }

// Exited is closed when the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// ExitErr is the process's exit status once Exited is closed.
func (s *Server) ExitErr() error {
	<-s.exited
	return s.waitErr
}

// Stop shuts the server down gracefully (SIGINT: it closes connections with
// "going away", stores snapshots, releases its sandbox pool) and waits; after
// 20 s it kills it. Safe to call more than once and after Kill.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	})
}

// Restart stops the server gracefully and starts it again with the same
// options (same address, data directory and environment).
func (s *Server) Restart() (*Server, error) {
	s.Stop()
	return Start(s.Options)
}

func (s *Server) waitReady(want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("server exited during start-up: %v", s.waitErr)
		default:
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			if resp.StatusCode == want {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not ready within %s (wanted /readyz %d); last /readyz: %s", timeout, want, last)
}
