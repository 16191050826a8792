// Package redistest starts a private, real redis-server for a test: its own
// port, no persistence, stopped when the test ends. Tests that must see Redis
// go away (readiness, rate limits failing closed) stop it themselves, which
// they could not do to the shared server CI runs.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs redis-server on a free loopback port and waits until it answers.
// Without the binary the test is skipped, or fails when
// CODEBUDDY_TEST_REQUIRE_REDIS=1 (CI).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CODEBUDDY_TEST_REQUIRE_REDIS") == "1" {
			t.Fatalf("redis-server is required (CODEBUDDY_TEST_REQUIRE_REDIS=1) but not installed: %v", err)
		}
		t.Skip("redis-server not installed (apt-get install -y redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			ok := ping(c)
			c.Close()
			if ok {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("redis-server exited during start-up")
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("redis-server on %s did not answer PING within 10 s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ping(c net.Conn) bool {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 7)
	n, _ := c.Read(buf)
	return string(buf[:n]) == "+PONG\r\n"
}

// URL is the server as a CODEBUDDY_REDIS_URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr) }

// Stop kills the server and waits for it to exit; calling it again is harmless.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
