// Package runstest tests code execution end to end: the real codebuddy binary
// (real sandbox pool, runner, queue, SQLite) driven over HTTP and the session
// WebSocket, as a browser would.
package runstest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/internal/testserver"
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
	if bin, err = testserver.Build(dir); err != nil {
		return 0, err
	}
	srv, err := startServer(filepath.Join(dir, "main"), http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	base = srv.URL
	code := m.Run()
	srv.Stop()
	if srv.Raced() {
		fmt.Fprintln(os.Stderr, "the server under test reported a data race")
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "server log (warnings and errors):\n%s", srv.Log())
	}
	return code, nil
}

// startServer runs the built binary in dir, with env added to the test
// configuration, and waits until /readyz answers ready.
func startServer(dir string, ready int, env ...string) (*testserver.Server, error) {
	return testserver.Start(testserver.Options{Binary: bin, Dir: dir, Env: env, ReadyStatus: ready})
}

// client is one signed-in user with its own cookie jar.
type client struct {
	*testserver.User
	t testing.TB
}

// newUser registers a fresh user on the suite's server.
func newUser(t testing.TB, prefix string) *client {
	t.Helper()
	return newUserAt(t, base, prefix)
}

// newUserAt registers a fresh user on the server at url.
func newUserAt(t testing.TB, url, prefix string) *client {
	t.Helper()
	return &client{User: testserver.NewUser(t, url, prefix), t: t}
}

func (c *client) do(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
	return c.Do(ctx, method, path, body)
}

func (c *client) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	return c.Call(method, path, body)
}

func (c *client) mustJSON(method, path string, body any, want int, out any) {
	c.t.Helper()
	c.MustJSON(method, path, body, want, out)
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

type problem = testserver.Problem

type session = testserver.Session

func (c *client) newSession(language string) session {
	c.t.Helper()
	return c.NewSession(language, nil)
}

// invite makes other a participant of the session with role.
func (c *client) invite(sessionID, role string, other *client) {
	c.t.Helper()
	c.Invite(sessionID, role, other.User)
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
	*testserver.WS
	joined map[string]any // the answer to join
}

// dial connects and joins the session (none when sessionID is empty).
func (c *client) dial(sessionID string) *ws {
	c.t.Helper()
	w := c.Dial(sessionID)
	return &ws{WS: w, joined: w.Joined}
}

func (w *ws) send(m map[string]any) {
	w.T.Helper()
	w.Send(m)
}

// next returns the first frame matching, oldest first; others stay pending.
func (w *ws) next(match func(map[string]any) bool) map[string]any {
	w.T.Helper()
	return w.Next(match)
}

// runFrames collects the run frames of one run until (and including) finished.
func (w *ws) runFrames(runID string) []map[string]any {
	w.T.Helper()
	var out []map[string]any
	for {
		m := w.next(func(m map[string]any) bool { return m["type"] == "run" && m["run"] == runID })
		out = append(out, m)
		if m["event"] == "finished" {
			return out
		}
	}
}

var errTimeout = testserver.ErrTimeout

// waitFor polls cond until it is true or 30 s pass.
func waitFor(cond func() bool) error { return testserver.WaitFor(30*time.Second, cond) }
