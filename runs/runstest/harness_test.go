// Package runstest tests code execution end to end: the real codebuddy binary
// (real sandbox pool, runner, queue, SQLite) driven over HTTP and the session
// WebSocket, as a browser would.
package runstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// base is the URL of the server TestMain started, and bin the binary it
// built. Both are written once, before any test runs, and only read afterwards.
var base, bin string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		// A sandbox that cannot be set up must fail this suite, never skip it.
		fmt.Fprintln(os.Stderr, "runstest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// run builds the real binary, serves it on a free loopback port and runs the tests.
func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "runstest-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "codebuddy")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command(gobin, append(args, "github.com/codebuddy-dev/codebuddy/cmd/codebuddy")...)
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build codebuddy: %v\n%s", err, out)
	}
	srv, err := startServer(filepath.Join(dir, "main"), http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer srv.stop()
	base = srv.base
	code := m.Run()
	srv.stop()
	if strings.Contains(srv.log(), "WARNING: DATA RACE") {
		fmt.Fprintln(os.Stderr, "the server under test reported a data race")
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "server log (warnings and errors):\n%s", srv.log())
	}
	return code, nil
}

// server is one running codebuddy process.
type server struct {
	base     string
	logPath  string
	cmd      *exec.Cmd
	exited   chan error
	stopOnce sync.Once
}

// startServer runs the built binary in dir on a free loopback port, with env
// added to the test configuration, and waits until /readyz answers ready.
func startServer(dir string, ready int, env ...string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{base: "http://" + addr, logPath: filepath.Join(dir, "server.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir
	s.cmd.Env = append(append(os.Environ(),
		"CODEBUDDY_ADDR="+addr,
		"CODEBUDDY_DATA_DIR="+filepath.Join(dir, "data"),
		"CODEBUDDY_BASE_URL="+s.base,
		"CODEBUDDY_EXEC_SLOTS=2",
		"CODEBUDDY_GO_CACHE_DIR=/var/tmp/codebuddy-test-gocache",
		"CODEBUDDY_LOG_LEVEL=warn",
	), env...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	killWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- s.cmd.Wait() }()
	if err := s.waitReady(ready); err != nil {
		s.stop()
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, s.log())
	}
	return s, nil
}

func (s *server) log() string { b, _ := os.ReadFile(s.logPath); return string(b) }

// stop shuts the server down gracefully (it releases its sandbox pool).
func (s *server) stop() {
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

// waitReady waits for /readyz to answer with the status wanted (200: ready,
// with a working sandbox).
func (s *server) waitReady(want int) error {
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("server exited during start-up: %v", err)
		default:
		}
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			if resp.StatusCode == want {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("server not ready (the sandbox may not be set up); last /readyz: %s", last)
}

// client is one signed-in user with its own cookie jar.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	ID   string
	Name string
}

func randomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newUser registers a fresh user on the suite's server.
func newUser(t testing.TB, prefix string) *client {
	t.Helper()
	return newUserAt(t, base, prefix)
}

// newUserAt registers a fresh user on the server at url.
func newUserAt(t testing.TB, url, prefix string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	// Each user connects from its own loopback address, as people do from
	// their own machines: the server limits sign-ups per address (30 an hour),
	// which a suite of fresh users from one address would exhaust.
	var ip [3]byte
	_, _ = rand.Read(ip[:])
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, ip[0], ip[1], ip[2]|1)}, Timeout: 10 * time.Second}
	transport := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 16}
	t.Cleanup(transport.CloseIdleConnections)
	c := &client{t: t, base: url, http: &http.Client{Jar: jar, Transport: transport, Timeout: 60 * time.Second}, Name: randomName(prefix)}
	var u struct{ ID string }
	c.mustJSON(http.MethodPost, "/api/register", map[string]any{"username": c.Name, "password": "correct horse battery staple"}, http.StatusCreated, &u)
	c.ID = u.ID
	return c
}

// do sends a request (body marshalled unless it is a []byte) and returns the response with its body read.
func (c *client) do(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// State-changing requests from a browser carry the page's origin (CrossOriginProtection).
	req.Header.Set("Origin", c.base)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// call is do with the test's failure handling: it returns the status and body.
func (c *client) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	resp, b, err := c.do(context.Background(), method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// mustJSON calls and checks the status, decoding the body into out (if not nil).
func (c *client) mustJSON(method, path string, body any, want int, out any) {
	c.t.Helper()
	status, b := c.call(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// result is the response of POST /api/execute and an entry of the run history.
type result struct {
	ID       string `json:"id"`
	Language struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"language"`
	Status          string  `json:"status"`
	ExitCode        int     `json:"exitCode"`
	Signal          string  `json:"signal"`
	Stdout          string  `json:"stdout"`
	Stderr          string  `json:"stderr"`
	CompileOutput   string  `json:"compileOutput"`
	TimeMs          int64   `json:"timeMs"`
	CPUMs           int64   `json:"cpuMs"`
	MemoryKb        int64   `json:"memoryKb"`
	StdoutTruncated bool    `json:"stdoutTruncated"`
	StderrTruncated bool    `json:"stderrTruncated"`
	UserID          string  `json:"userId"`
	SessionID       *string `json:"sessionId"`
}

// execute runs code synchronously and expects 200.
func (c *client) execute(req map[string]any) result {
	c.t.Helper()
	var r result
	c.mustJSON(http.MethodPost, "/api/execute", req, http.StatusOK, &r)
	return r
}

// problem is an RFC 9457 error body.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

type session struct {
	ID       string `json:"id"`
	Language string `json:"language"`
}

func (c *client) newSession(language string) session {
	c.t.Helper()
	var s session
	c.mustJSON(http.MethodPost, "/api/sessions", map[string]any{"name": randomName("s"), "language": language}, http.StatusCreated, &s)
	return s
}

// invite makes other a participant of the session with role.
func (c *client) invite(sessionID, role string, other *client) {
	c.t.Helper()
	var inv struct{ Token string }
	c.mustJSON(http.MethodPost, "/api/sessions/"+sessionID+"/invites", map[string]any{"role": role}, http.StatusCreated, &inv)
	other.mustJSON(http.MethodPost, "/api/invites/"+inv.Token+"/accept", nil, http.StatusOK, nil)
}

// history lists a session's runs.
func (c *client) history(sessionID, query string) (list []result, next string) {
	c.t.Helper()
	var out struct {
		Executions []result `json:"executions"`
		NextBefore string   `json:"nextBefore"`
	}
	c.mustJSON(http.MethodGet, "/api/sessions/"+sessionID+"/executions"+query, nil, http.StatusOK, &out)
	return out.Executions, out.NextBefore
}

// waitStatus polls a run's record until its status is one of want.
func (c *client) waitStatus(id string, want ...string) result {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var r result
	for time.Now().Before(deadline) {
		c.mustJSON(http.MethodGet, "/api/executions/"+id, nil, http.StatusOK, &r)
		for _, w := range want {
			if r.Status == w {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("run %s: status %q, want one of %v", id, r.Status, want)
	return r
}

// asyncExecute posts a run in the background; its outcome arrives on the channel.
type asyncResult struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (c *client) asyncExecute(ctx context.Context, wg *sync.WaitGroup, req map[string]any) <-chan asyncResult {
	ch := make(chan asyncResult, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, b, err := c.do(ctx, http.MethodPost, "/api/execute", req)
		if err != nil {
			ch <- asyncResult{err: err}
			return
		}
		ch <- asyncResult{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	return ch
}

// ws is one WebSocket connection of a user, joined to a session.
type ws struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan map[string]any
	// pending holds frames read while waiting for another, so that waiting
	// for an error frame does not lose a run's events that came first.
	pending []map[string]any
	joined  map[string]any // the answer to join
}

// dial connects and joins the session (none when sessionID is empty).
func (c *client) dial(sessionID string) *ws {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/api/ws"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: http.Header{"Origin": {c.base}}})
	if err != nil {
		c.t.Fatalf("dial %s: %v", u, err)
	}
	conn.SetReadLimit(8 << 20)
	w := &ws{t: c.t, c: conn, frames: make(chan map[string]any, 1024)}
	go func() {
		defer close(w.frames)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				w.frames <- m
			}
		}
	}()
	c.t.Cleanup(func() { _ = conn.Close(websocket.StatusNormalClosure, "") })
	if sessionID == "" {
		return w
	}
	w.send(map[string]any{"type": "join", "session": sessionID})
	w.joined = w.next(func(m map[string]any) bool { return m["type"] == "joined" })
	return w
}

func (w *ws) send(m map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("websocket write: %v", err)
	}
}

// next returns the first frame matching, oldest first; others stay pending.
func (w *ws) next(match func(map[string]any) bool) map[string]any {
	w.t.Helper()
	for i, m := range w.pending {
		if match(m) {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			return m
		}
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-w.frames:
			if !ok {
				w.t.Fatal("websocket closed while waiting for a frame")
			}
			if match(m) {
				return m
			}
			w.pending = append(w.pending, m)
		case <-timeout:
			w.t.Fatalf("timed out waiting for a websocket frame; unmatched frames: %v", w.pending)
		}
	}
}

// runFrames collects the run frames of one run until (and including) finished.
func (w *ws) runFrames(runID string) []map[string]any {
	w.t.Helper()
	var out []map[string]any
	for {
		m := w.next(func(m map[string]any) bool { return m["type"] == "run" && m["run"] == runID })
		out = append(out, m)
		if m["event"] == "finished" {
			return out
		}
	}
}

var errTimeout = errors.New("timeout")

// waitFor polls cond until it is true or 30 s pass.
func waitFor(cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errTimeout
}
