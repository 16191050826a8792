package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

const sessionCookie = "codebuddy_session"

// sourceAddr is a random loopback address other than 127.0.0.1: every user
// connects from its own address, as people do from their own machines (the
// server allows 30 sign-ups per address and hour).
func sourceAddr() net.IP {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return net.IPv4(127, b[0]|1, b[1], b[2]|1)
}

// newTransport dials from ip.
func newTransport(ip net.IP) *http.Transport {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
}

// user is a registered account with its own source address and login token.
type user struct {
	base  string
	name  string
	id    string
	token string
	ip    net.IP
	http  *http.Client
}

func randomName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// register signs up a fresh user from a fresh source address.
func register(ctx context.Context, base, prefix string) (*user, error) {
	u := &user{base: base, name: randomName(prefix), ip: sourceAddr()}
	u.http = &http.Client{Transport: newTransport(u.ip), Timeout: 60 * time.Second}
	resp, body, err := u.do(ctx, http.MethodPost, "/api/register",
		map[string]any{"username": u.name, "password": "correct horse battery staple"})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("register %s: %s: %s", u.name, resp.Status, body)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	u.id = out.ID
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			u.token = c.Value
		}
	}
	if u.token == "" {
		return nil, fmt.Errorf("register %s: no %s cookie", u.name, sessionCookie)
	}
	return u, nil
}

// registerMany signs up n users, par at a time (sign-up hashes a password,
// which the server bounds by CODEBUDDY_HASH_CONCURRENCY anyway).
func registerMany(ctx context.Context, base string, n, par int) ([]*user, error) {
	users := make([]*user, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			u, err := register(ctx, base, "load")
			if err != nil {
				errs <- err
				return
			}
			users[i] = u
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return users, nil
}

// do sends a JSON request with the user's token and the server's Origin
// (state-changing requests must carry an allowed origin).
func (u *user) do(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Origin", u.base)
	if u.token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: u.token})
	}
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// call is do expecting status want and decoding the body into out.
func (u *user) call(ctx context.Context, method, path string, body any, want int, out any) error {
	resp, b, err := u.do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createSession makes a public session every signed-in user may edit, with one
// file holding content.
func (u *user) createSession(ctx context.Context, content string) (sessionID, fileID string, err error) {
	var s struct{ ID string }
	if err := u.call(ctx, http.MethodPost, "/api/sessions",
		map[string]any{"name": "load test", "language": "python", "isPublic": true, "visitorRole": "editor"},
		http.StatusCreated, &s); err != nil {
		return "", "", err
	}
	var f struct{ ID string }
	if err := u.call(ctx, http.MethodPost, "/api/sessions/"+s.ID+"/files",
		map[string]any{"name": "load.py", "content": content}, http.StatusCreated, &f); err != nil {
		return "", "", err
	}
	return s.ID, f.ID, nil
}

type fileState struct {
	Version int64  `json:"version"`
	Content string `json:"content"`
}

func (u *user) file(ctx context.Context, id string) (fileState, error) {
	var f fileState
	err := u.call(ctx, http.MethodGet, "/api/files/"+id, nil, http.StatusOK, &f)
	return f, err
}

// dialWS opens /api/ws as u from source address ip.
func dialWS(ctx context.Context, base string, u *user, client *http.Client) (*websocket.Conn, error) {
	h := http.Header{}
	h.Set("Origin", base)
	h.Set("Cookie", sessionCookie+"="+u.token)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/ws",
		&websocket.DialOptions{HTTPClient: client, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20)
	return ws, nil
}

// metric reads one unlabelled value from the server's /metrics (NaN-free: ok false when absent).
func metric(ctx context.Context, base, name string) (float64, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// healthz times one GET /healthz.
func healthz(ctx context.Context, base string) (time.Duration, error) {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("healthz: %s", resp.Status)
	}
	return time.Since(start), nil
}
