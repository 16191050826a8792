package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Password is the password of every user NewUser registers.
const Password = "correct horse battery staple"

// User is one signed-in user with its own cookie jar and source address.
// Its helpers fail t on transport errors and unexpected statuses.
type User struct {
	T    testing.TB
	Base string // server URL requests go to
	// HTTP carries the session cookie; its transport dials from Source.
	HTTP   *http.Client
	Source net.IP
	ID     string
	Name   string
}

// RandomName returns prefix followed by 8 random hex digits.
func RandomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewUser registers a fresh user on the server at base. Each user connects
// from its own loopback address, as people do from their own machines: the
// server limits sign-ups per address (30 an hour), which a suite of fresh
// users from one address would exhaust.
func NewUser(t testing.TB, base, prefix string) *User {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var ip [3]byte
	_, _ = rand.Read(ip[:])
	src := net.IPv4(127, ip[0], ip[1], ip[2]|1)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	transport := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 16}
	t.Cleanup(transport.CloseIdleConnections)
	u := &User{T: t, Base: base, HTTP: &http.Client{Jar: jar, Transport: transport, Timeout: 60 * time.Second}, Source: src, Name: RandomName(prefix)}
	var out struct{ ID string }
	u.MustJSON(http.MethodPost, "/api/register", map[string]any{"username": u.Name, "password": Password}, http.StatusCreated, &out)
	u.ID = out.ID
	return u
}

// At returns the same user (same cookies and source address) talking to
// another server, such as another node of a cluster. Cookie jars ignore the
// port, so the session cookie goes along.
func (u *User) At(base string) *User {
	c := *u
	c.Base = base
	return &c
}

// Do sends a request (body marshalled as JSON unless it is a []byte) with the
// Origin header a browser page would send, and returns the response with its
// body read.
func (u *User) Do(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
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
	req, err := http.NewRequestWithContext(ctx, method, u.Base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// State-changing requests from a browser carry the page's origin (CrossOriginProtection).
	req.Header.Set("Origin", u.Base)
	resp, err := u.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// Call is Do failing the test on a transport error; it returns the status and body.
func (u *User) Call(method, path string, body any) (int, []byte) {
	u.T.Helper()
	resp, b, err := u.Do(context.Background(), method, path, body)
	if err != nil {
		u.T.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// MustJSON calls, checks the status and decodes the body into out (if not nil).
func (u *User) MustJSON(method, path string, body any, want int, out any) {
	u.T.Helper()
	status, b := u.Call(method, path, body)
	if status != want {
		u.T.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			u.T.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// Session is the part of a session the helpers need.
type Session struct {
	ID       string `json:"id"`
	Language string `json:"language"`
}

// NewSession creates a session in language; extra fields (isPublic,
// visitorRole, …) are added to the request.
func (u *User) NewSession(language string, extra map[string]any) Session {
	u.T.Helper()
	req := map[string]any{"name": RandomName("s"), "language": language}
	for k, v := range extra {
		req[k] = v
	}
	var s Session
	u.MustJSON(http.MethodPost, "/api/sessions", req, http.StatusCreated, &s)
	return s
}

// Invite makes other a participant of the session with role.
func (u *User) Invite(sessionID, role string, other *User) {
	u.T.Helper()
	var inv struct{ Token string }
	u.MustJSON(http.MethodPost, "/api/sessions/"+sessionID+"/invites", map[string]any{"role": role}, http.StatusCreated, &inv)
	other.MustJSON(http.MethodPost, "/api/invites/"+inv.Token+"/accept", nil, http.StatusOK, nil)
}

// Problem is an RFC 9457 error body.
type Problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

// WS is a raw WebSocket connection of a user, frames decoded as JSON maps.
type WS struct {
	T    testing.TB
	Conn *websocket.Conn
	// Frames delivers frames as they arrive; closed when the socket ends.
	Frames chan map[string]any
	// Pending holds frames read while waiting for another, so that waiting
	// for one frame does not lose others that came first.
	Pending []map[string]any
	// Joined is the answer to the join (nil when no session was given).
	Joined map[string]any
}

// Dial opens /api/ws and joins the session (none when sessionID is empty).
// The socket closes when the test ends.
func (u *User) Dial(sessionID string) *WS {
	u.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(u.Base, "http") + "/api/ws"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: u.HTTP, HTTPHeader: http.Header{"Origin": {u.Base}}})
	if err != nil {
		u.T.Fatalf("dial %s: %v", url, err)
	}
	conn.SetReadLimit(8 << 20)
	w := &WS{T: u.T, Conn: conn, Frames: make(chan map[string]any, 1024)}
	go func() {
		defer close(w.Frames)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				w.Frames <- m
			}
		}
	}()
	u.T.Cleanup(func() { _ = conn.Close(websocket.StatusNormalClosure, "") })
	if sessionID == "" {
		return w
	}
	w.Send(map[string]any{"type": "join", "session": sessionID})
	w.Joined = w.Next(func(m map[string]any) bool { return m["type"] == "joined" })
	return w
}

// Send writes one frame.
func (w *WS) Send(m map[string]any) {
	w.T.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Conn.Write(ctx, websocket.MessageText, b); err != nil {
		w.T.Fatalf("websocket write: %v", err)
	}
}

// Next returns the first frame matching, oldest first, waiting up to 30 s;
// frames that do not match stay pending.
func (w *WS) Next(match func(map[string]any) bool) map[string]any {
	w.T.Helper()
	for i, m := range w.Pending {
		if match(m) {
			w.Pending = append(w.Pending[:i], w.Pending[i+1:]...)
			return m
		}
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-w.Frames:
			if !ok {
				w.T.Fatal("websocket closed while waiting for a frame")
			}
			if match(m) {
				return m
			}
			w.Pending = append(w.Pending, m)
		case <-timeout:
			w.T.Fatalf("timed out waiting for a websocket frame; unmatched frames: %v", w.Pending)
		}
	}
}

// ErrTimeout is WaitFor's error.
var ErrTimeout = errors.New("timeout")

// WaitFor polls cond every 50 ms until it is true or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ErrTimeout
}

// Environment variables naming the shared test services.
const (
	PostgresURLEnv     = "CODEBUDDY_TEST_POSTGRES_URL"
	RequirePostgresEnv = "CODEBUDDY_TEST_REQUIRE_POSTGRES"
	RedisURLEnv        = "CODEBUDDY_TEST_REDIS_URL"
	RequireRedisEnv    = "CODEBUDDY_TEST_REQUIRE_REDIS"
)

// Service returns the value of urlEnv. When it is unset the test is skipped
// with a message, or fails when requireEnv is "1" (CI sets it so that a
// missing service cannot silently turn a suite off).
func Service(t testing.TB, urlEnv, requireEnv string) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s=1 but %s is not set", requireEnv, urlEnv)
		}
		t.Skipf("%s is not set; set it (and %s=1 in CI) to run this test", urlEnv, requireEnv)
	}
	return u
}
