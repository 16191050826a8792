package collab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/coder/websocket"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/broker"
	"github.com/codebuddy-dev/codebuddy/collab"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// The harness wires the real pieces as cmd/codebuddy does (SQLite store, auth,
// workspace service, hub, HTTP middleware and routes) behind httptest servers.
// Several nodes share one database and one in-process broker, like a cluster
// shares PostgreSQL and Redis.

// testOrigin is the allowed browser origin (the default base URL's).
const testOrigin = "http://localhost:8080"

// wait bounds every wait for a frame; tests never assert on time otherwise.
const wait = 10 * time.Second

type env struct {
	t      *testing.T
	DB     *sqlstore.DB
	Broker codebuddy.Broker
	Nodes  []*node
}

type node struct {
	Hub *collab.Hub
	WS  *workspace.Service
	URL string
}

// envOption adjusts an environment.
type envOption func(*envConfig)

type envConfig struct {
	hub []func(*collab.Options)
	// sndBuf, when set, is the server's socket send buffer: small, it makes a
	// client that does not read push back after little data.
	sndBuf int
}

// hubOption adjusts the hub options of every node.
func hubOption(f func(*collab.Options)) envOption {
	return func(c *envConfig) { c.hub = append(c.hub, f) }
}

// newEnv starts n nodes; opts adjust the hub options of every node.
func newEnv(t *testing.T, n int, opts ...envOption) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := broker.NewMemory()
	t.Cleanup(func() { b.Close() })
	e := &env{t: t, DB: db, Broker: b}
	var cfg envConfig
	for _, f := range opts {
		f(&cfg)
	}
	for i := 0; i < n; i++ {
		e.Nodes = append(e.Nodes, e.startNode(fmt.Sprintf("node%d", i), cfg))
	}
	return e
}

func (e *env) startNode(name string, ec envConfig) *node {
	t := e.t
	cfg, err := config.Load(map[string]string{
		"CODEBUDDY_DATA_DIR":             t.TempDir(),
		"CODEBUDDY_RATE_LIMIT_ANONYMOUS": "1000000",
		"CODEBUDDY_RATE_LIMIT_USER":      "1000000",
	})
	if err != nil {
		t.Fatal(err)
	}
	params := &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	as, err := auth.New(auth.Options{Users: e.DB, Tokens: e.DB, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	ws := workspace.New(workspace.Options{Store: e.DB, Starter: starter})
	o := collab.Options{Workspace: ws, Files: e.DB, Log: e.DB, Broker: e.Broker, Node: name,
		Origins: cfg.Origins, UserFrom: httpapi.UserFrom}
	for _, f := range ec.hub {
		f(&o)
	}
	hub := collab.New(o)
	ws.SetNotifier(hub)
	srv := httpapi.New(httpapi.Options{Config: cfg, Auth: as, Users: e.DB, Workspace: ws, Content: hub, Online: hub.Online})
	hub.Register(srv.API(), srv.APIError)
	srv.Mux().Handle("GET /api/ws", hub)
	ts := httptest.NewUnstartedServer(srv)
	if ec.sndBuf > 0 {
		ts.Listener = sndBufListener{ts.Listener, ec.sndBuf}
	}
	ts.Start()
	// Registered after the database's cleanup, so it runs before it.
	t.Cleanup(func() { hub.Close(); ts.Close() })
	return &node{Hub: hub, WS: ws, URL: ts.URL}
}

type sndBufListener struct {
	net.Listener
	size int
}

func (l sndBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}

func starter(language string) ([]*codebuddy.File, bool) {
	if language == "python" {
		return []*codebuddy.File{{Name: "main.py", Content: "print('hi')\n"}}, true
	}
	return nil, false
}

// in makes a subtest the one that env and client helpers report to (and
// register clean-ups with) until it ends.
func (e *env) in(t *testing.T, cs ...*client) {
	parent := e.t
	e.t = t
	for _, c := range cs {
		c.t = t
	}
	t.Cleanup(func() {
		e.t = parent
		for _, c := range cs {
			c.t = parent
		}
	})
}

// user is a signed-in account; Token is its login cookie.
type user struct {
	ID, Username, Token string
}

// User registers an account.
func (e *env) User(name string) user {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.Nodes[0].URL+"/api/register",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":"correct horse battery"}`, name)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", name, res.StatusCode, body)
	}
	var u user
	var wire struct{ ID, Username string }
	_ = json.Unmarshal(body, &wire)
	u.ID, u.Username = wire.ID, wire.Username
	for _, c := range res.Cookies() {
		if c.Name == httpapi.SessionCookie {
			u.Token = c.Value
		}
	}
	if u.ID == "" || u.Token == "" {
		e.t.Fatalf("register %s: no id or cookie: %s", name, body)
	}
	return u
}

// Do sends a REST request to node 0 as u.
func (e *env) Do(u user, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.Nodes[0].URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.Token != "" {
		req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: u.Token})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// JSON sends a request, checks the status and decodes the answer into out.
func (e *env) JSON(u user, method, path string, body any, want int, out any) {
	e.t.Helper()
	status, raw := e.Do(u, method, path, body)
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.Username, status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

type session struct {
	ID   string
	File string // the starter file main.py
}

// Session creates a session owned by owner, with main.py holding content.
func (e *env) Session(owner user, public bool, content string) session {
	e.t.Helper()
	var s struct{ ID string }
	e.JSON(owner, http.MethodPost, "/api/sessions", map[string]any{"name": "s", "language": "python", "isPublic": public},
		http.StatusCreated, &s)
	var list struct{ Files []struct{ ID, Name string } }
	e.JSON(owner, http.MethodGet, "/api/sessions/"+s.ID+"/files", nil, http.StatusOK, &list)
	if len(list.Files) != 1 {
		e.t.Fatalf("starter files: %+v", list.Files)
	}
	out := session{ID: s.ID, File: list.Files[0].ID}
	if content != "" {
		e.JSON(owner, http.MethodPatch, "/api/files/"+out.File, map[string]any{"content": content, "baseVersion": 0}, http.StatusOK, nil)
	}
	return out
}

// Invite makes u a participant with role.
func (e *env) Invite(owner user, sessionID string, u user, role string) {
	e.t.Helper()
	var inv struct{ Token string }
	e.JSON(owner, http.MethodPost, "/api/sessions/"+sessionID+"/invites", map[string]any{"role": role}, http.StatusCreated, &inv)
	e.JSON(u, http.MethodPost, "/api/invites/"+inv.Token+"/accept", nil, http.StatusOK, nil)
}

// Content returns a file's content and version through GET /api/files/{id}.
func (e *env) Content(u user, fileID string) (string, int64) {
	e.t.Helper()
	var f struct {
		Content string
		Version int64
	}
	e.JSON(u, http.MethodGet, "/api/files/"+fileID, nil, http.StatusOK, &f)
	return f.Content, f.Version
}

// msg is any server frame; fields are filled for the types that have them.
type msg struct {
	Type    string          `json:"type"`
	Code    string          `json:"code"`
	Message json.RawMessage `json:"message"` // text of an error, object of a chat
	File    json.RawMessage `json:"file"`    // id, or the file of a "files" event
	Event   string          `json:"event"`
	Version int64           `json:"version"`
	Content string          `json:"content"`
	Role    string          `json:"role"`
	UserID  string          `json:"userId"`
	Color   string          `json:"color"`
	Updates []struct {
		ClientID string          `json:"clientID"`
		Changes  json.RawMessage `json:"changes"`
		UserID   string          `json:"userId"`
	} `json:"updates"`
	Participants []collab.PresenceEntry `json:"participants"`
	Selection    *collab.Selection      `json:"selection"`
	Notification json.RawMessage        `json:"notification"`
	Raw          string                 `json:"-"`
}

func (m msg) fileID() string {
	var s string
	_ = json.Unmarshal(m.File, &s)
	return s
}

func (m msg) text() string {
	var s string
	_ = json.Unmarshal(m.Message, &s)
	return s
}

// client is one WebSocket connection; a goroutine reads every frame into a queue.
type client struct {
	t      *testing.T
	name   string
	ws     *websocket.Conn
	frames chan msg
	done   chan struct{}
	err    error // the read error, after done
	// pending holds frames a wait skipped, for later waits.
	mu      sync.Mutex
	pending []msg
}

// dialOpts adjust a dial.
type dialOpts struct {
	origin  string
	noRead  bool // never read: a slow consumer
	rcvBuf  int
	nodeIdx int
}

// Dial connects u to node 0 with the allowed origin.
func (e *env) Dial(u user) *client { return e.DialWith(u, dialOpts{}) }

// DialNode connects u to node i.
func (e *env) DialNode(i int, u user) *client { return e.DialWith(u, dialOpts{nodeIdx: i}) }

func (e *env) DialWith(u user, o dialOpts) *client {
	e.t.Helper()
	c, res, err := e.dial(u, o)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		e.t.Fatalf("dial as %s: %v (HTTP %d)", u.Username, err, status)
	}
	return c
}

func (e *env) dial(u user, o dialOpts) (*client, *http.Response, error) {
	if o.origin == "" {
		o.origin = testOrigin
	}
	h := http.Header{}
	h.Set("Origin", o.origin)
	if u.Token != "" {
		h.Set("Cookie", httpapi.SessionCookie+"="+u.Token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.Nodes[o.nodeIdx].URL, "http") + "/api/ws"
	do := &websocket.DialOptions{HTTPHeader: h, CompressionMode: websocket.CompressionDisabled}
	if o.rcvBuf > 0 {
		// A small receive buffer makes a client that does not read push back sooner.
		do.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(o.rcvBuf)
			}
			return conn, err
		}}}
	}
	ws, res, err := websocket.Dial(ctx, url, do)
	if err != nil {
		return nil, res, err
	}
	ws.SetReadLimit(64 << 20)
	c := &client{t: e.t, name: u.Username, ws: ws, frames: make(chan msg, 100000), done: make(chan struct{})}
	e.t.Cleanup(func() { ws.CloseNow() })
	if !o.noRead {
		go c.readLoop()
	}
	return c, res, nil
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var m msg
		if err := json.Unmarshal(data, &m); err != nil {
			c.err = fmt.Errorf("undecodable frame %s: %w", data, err)
			return
		}
		m.Raw = string(data)
		select {
		case c.frames <- m:
		default:
			c.err = fmt.Errorf("test client queue full")
			return
		}
	}
}

// Send writes v as a JSON text frame.
func (c *client) Send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.SendRaw(b)
}

// SendRaw writes a text frame as is.
func (c *client) SendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// Next returns the first frame, skipped or new, for which match is true; the
// frames it passes over stay available to later calls.
func (c *client) Next(what string, match func(msg) bool) msg {
	c.t.Helper()
	c.mu.Lock()
	for i, m := range c.pending {
		if match(m) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			c.mu.Unlock()
			return m
		}
	}
	c.mu.Unlock()
	deadline := time.After(wait)
	for {
		select {
		case m := <-c.frames:
			if match(m) {
				return m
			}
			c.mu.Lock()
			c.pending = append(c.pending, m)
			c.mu.Unlock()
		case <-c.done:
			// Drain what was read before the end.
			select {
			case m := <-c.frames:
				if match(m) {
					return m
				}
				c.mu.Lock()
				c.pending = append(c.pending, m)
				c.mu.Unlock()
				continue
			default:
			}
			c.t.Fatalf("%s: connection ended (%v) while waiting for %s; frames seen: %s", c.name, c.err, what, c.seen())
		case <-deadline:
			c.t.Fatalf("%s: no %s within %v; frames seen: %s", c.name, what, wait, c.seen())
		}
	}
}

func (c *client) seen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for i, m := range c.pending {
		if i == 20 {
			fmt.Fprintf(&b, " … %d more", len(c.pending)-20)
			break
		}
		raw := m.Raw
		if len(raw) > 200 {
			raw = raw[:200] + "…"
		}
		b.WriteString(raw + " ")
	}
	return b.String()
}

// Type waits for a frame of type typ.
func (c *client) Type(typ string) msg {
	c.t.Helper()
	return c.Next(typ, func(m msg) bool { return m.Type == typ })
}

// Error waits for an error frame and checks its code.
func (c *client) Error(code string) msg {
	c.t.Helper()
	m := c.Type("error")
	if m.Code != code {
		c.t.Fatalf("%s: error code %q (%s), want %q", c.name, m.Code, m.text(), code)
	}
	return m
}

// Sync sends a ping and waits for its pong: every frame the server sent this
// client before handling the ping has then been received.
func (c *client) Sync() {
	c.t.Helper()
	c.Send(map[string]any{"type": "ping"})
	c.Type("pong")
}

// Drain forgets the frames received so far (after a Sync).
func (c *client) Drain() {
	c.mu.Lock()
	c.pending = nil
	c.mu.Unlock()
	for {
		select {
		case <-c.frames:
		default:
			return
		}
	}
}

// DropType forgets the frames of type typ received so far.
func (c *client) DropType(typ string) {
	c.Frames(typ)
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.pending[:0]
	for _, m := range c.pending {
		if m.Type != typ {
			kept = append(kept, m)
		}
	}
	c.pending = kept
}

// Frames returns the frames of type typ received so far (after a Sync), keeping them.
func (c *client) Frames(typ string) []msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		select {
		case m := <-c.frames:
			c.pending = append(c.pending, m)
			continue
		default:
		}
		break
	}
	var out []msg
	for _, m := range c.pending {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// Closed waits for the server to close the connection and returns the close code.
func (c *client) Closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatalf("%s: connection still open", c.name)
	}
	return websocket.CloseStatus(c.err)
}

// Join joins a session and returns the joined frame.
func (c *client) Join(sessionID string) msg {
	c.t.Helper()
	c.Send(map[string]any{"type": "join", "session": sessionID})
	return c.Type("joined")
}

// Open opens a file and returns its doc frame.
func (c *client) Open(fileID string) msg {
	c.t.Helper()
	c.Send(map[string]any{"type": "open", "file": fileID})
	return c.Next("doc of "+fileID, func(m msg) bool { return m.Type == "doc" && m.fileID() == fileID })
}

// Push sends one update.
func (c *client) Push(fileID string, version int64, clientID string, changes any) {
	c.t.Helper()
	c.Send(map[string]any{"type": "push", "file": fileID, "version": version,
		"updates": []map[string]any{{"clientID": clientID, "changes": changes}}})
}

// Ack waits for the updates frame carrying clientID's update and returns the
// version that update produced.
func (c *client) Ack(fileID, clientID string) int64 {
	c.t.Helper()
	var v int64
	c.Next("ack of "+clientID, func(m msg) bool {
		if m.Type != "updates" || m.fileID() != fileID {
			return false
		}
		for i, u := range m.Updates {
			if u.ClientID == clientID {
				v = m.Version + int64(i) + 1
				return true
			}
		}
		return false
	})
	return v
}

// PushInserts pushes count updates, each inserting "x" at the start of a
// document of n units (n+1 for the next), in pushes of at most 200 from
// version v, waiting for each push's acknowledgement. It returns the
// version and length after them.
func (c *client) PushInserts(fileID string, v int64, n, count int) (int64, int) {
	c.t.Helper()
	for count > 0 {
		per := min(count, 200)
		ups := make([]map[string]any, per)
		for i := range ups {
			ups[i] = map[string]any{"clientID": "w", "changes": insert(n, 0, "x")}
			n++
		}
		c.Send(map[string]any{"type": "push", "file": fileID, "version": v, "updates": ups})
		c.Next(fmt.Sprintf("ack of the push from %d", v), func(m msg) bool {
			return m.Type == "updates" && m.fileID() == fileID && m.Version == v && len(m.Updates) == per
		})
		v += int64(per)
		count -= per
	}
	return v, n
}

// insert is the change set inserting text at pos into a document of docLen units.
func insert(docLen, pos int, text string) []any {
	var cs []any
	if pos > 0 {
		cs = append(cs, pos)
	}
	cs = append(cs, []any{0, text})
	if docLen > pos {
		cs = append(cs, docLen-pos)
	}
	return cs
}
