// Package collabclient is a Go client of CodeBuddy's real-time protocol
// (DESIGN.md, "Real-time protocol"): it dials GET /api/ws, joins a session,
// opens files and keeps, for each open file, the state @codemirror/collab
// keeps in a browser editor: the last confirmed server version, the local
// text, and the local edits the server has not acknowledged yet.
//
// It behaves like the browser client (web/src/collab/documentSync.ts): local
// edits apply at once; at most one push per file is in flight; received
// updates apply one at a time in version order, as receiveUpdates does for a
// single update (an update carrying the file's own clientID acknowledges the
// oldest unconfirmed edit, any other is rebased over the unconfirmed edits and
// they over it); a "doc" answering a pull starts over from the server's text;
// after a reconnect the client re-joins, re-opens its files, pulls what it
// missed and pushes its unconfirmed edits again.
//
// Tests and load scripts use it to drive a real server the way browsers do.
// All methods are safe for concurrent use. Callbacks run on the client's
// read goroutine, without any client lock held; a slow callback delays
// frames, not other goroutines' calls.
package collabclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// ErrorFrame is a {type:"error"} frame the server sent.
type ErrorFrame struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	File    string    `json:"file,omitempty"`
	At      time.Time `json:"-"`
}

func (e ErrorFrame) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s (file %s): %s", e.Code, e.File, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Ack is one of a file's own updates coming back from the server: its
// acknowledgement. Version is the version the update produced (its number
// in GET /api/files/{id}/history); Changes is the change set as the server
// sent it, i.e. as committed.
type Ack struct {
	File     string
	Version  int64
	ClientID string
	Changes  json.RawMessage
	// Latency is the time from the first push of the update to its
	// acknowledgement (pushes resent after a reconnect or a deferral count
	// from the first one).
	Latency time.Duration
}

// Options configure a Client.
type Options struct {
	// BaseURL is the server, such as http://127.0.0.1:8080; the socket is
	// its /api/ws with the ws or wss scheme.
	BaseURL string
	// HTTPClient performs the upgrade request: its Jar supplies the session
	// cookie and its Transport the connection (source address, TLS).
	// Default http.DefaultClient.
	HTTPClient *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Origin is the Origin header (the server accepts only allowed origins).
	// Default: the scheme and host of BaseURL.
	Origin string
	// OnAck is called for each acknowledged own update.
	OnAck func(Ack)
	// OnError is called for each error frame (they are also kept, see Errors).
	OnError func(ErrorFrame)
	// OnFrame is called for every frame received, before it is handled.
	OnFrame func(typ string, frame []byte)
	// OnDiscard is called when a file's unconfirmed edits are dropped because
	// the server's document replaced the local one (history gone, or an edit
	// the server refused for good); text is the local text that was lost.
	OnDiscard func(file, text string)
	// RetryDelay is how long a push deferred by the server (rate_limited,
	// internal) waits before it is resent. Default 200 ms.
	RetryDelay time.Duration
	// MaxPushUpdates bounds the updates of one push (the server takes at
	// most 200). Default 200.
	MaxPushUpdates int
}

// Client is one WebSocket connection (replaced on Reconnect) and the files
// opened through it.
type Client struct {
	opts Options

	mu      sync.Mutex
	sock    *socket // nil when disconnected
	session string  // joined session, "" before Join
	joined  json.RawMessage
	role    string
	docs    map[string]*Doc
	errs    []ErrorFrame
	changed chan struct{} // closed and replaced on every state change
	closed  bool
	// joinWait is signalled with the answer to a join (nil: joined).
	joinWait chan error
}

// socket is one WebSocket; frames are written in order by its writer goroutine.
type socket struct {
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{} // closed when the reader ends
	err  error         // why the reader ended; read after done
}

// Dial connects to the server. The client is not joined to any session yet.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 200 * time.Millisecond
	}
	if opts.MaxPushUpdates <= 0 || opts.MaxPushUpdates > 200 {
		opts.MaxPushUpdates = 200
	}
	c := &Client{opts: opts, docs: map[string]*Doc{}, changed: make(chan struct{})}
	if err := c.connect(ctx, opts.BaseURL); err != nil {
		return nil, err
	}
	return c, nil
}

func wsURL(base string) string {
	base = strings.TrimRight(base, "/")
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://") + "/api/ws"
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://") + "/api/ws"
	}
	return base + "/api/ws"
}

func originOf(base string) string {
	scheme, rest, ok := strings.Cut(base, "://")
	if !ok {
		return base
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// connect dials base and installs the new socket.
func (c *Client) connect(ctx context.Context, base string) error {
	origin := c.opts.Origin
	if origin == "" || base != c.opts.BaseURL {
		origin = originOf(base)
	}
	h := http.Header{"Origin": {origin}}
	if c.opts.Token != "" {
		h.Set("Authorization", "Bearer "+c.opts.Token)
	}
	ws, resp, err := websocket.Dial(ctx, wsURL(base), &websocket.DialOptions{HTTPClient: c.opts.HTTPClient, HTTPHeader: h,
		CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: %s: %w", wsURL(base), resp.Status, err)
		}
		return fmt.Errorf("dial %s: %w", wsURL(base), err)
	}
	ws.SetReadLimit(32 << 20)
	s := &socket{ws: ws, out: make(chan []byte, 4096), done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ws.CloseNow()
		return errors.New("client closed")
	}
	c.sock = s
	c.opts.BaseURL = base
	c.notifyLocked()
	c.mu.Unlock()
	go c.writeLoop(s)
	go c.readLoop(s)
	return nil
}

func (c *Client) writeLoop(s *socket) {
	for {
		select {
		case <-s.done:
			return
		case b := <-s.out:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := s.ws.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				_ = s.ws.CloseNow()
				return
			}
		}
	}
}

func (c *Client) readLoop(s *socket) {
	var err error
	for {
		var typ websocket.MessageType
		var b []byte
		typ, b, err = s.ws.Read(context.Background())
		if err != nil {
			break
		}
		if typ == websocket.MessageText {
			c.handle(s, b)
		}
	}
	s.err = err
	close(s.done)
	c.mu.Lock()
	if c.sock == s {
		c.lostLocked()
	}
	c.mu.Unlock()
}

// lostLocked forgets the current socket: pushes in flight may or may not
// have arrived, and nothing more will come from it.
func (c *Client) lostLocked() {
	c.sock = nil
	for _, d := range c.docs {
		d.connectionLost()
	}
	if c.joinWait != nil {
		c.joinWait <- errors.New("connection lost")
		c.joinWait = nil
	}
	c.notifyLocked()
}

// sendLocked queues a frame on the current socket; false when disconnected.
func (c *Client) sendLocked(v any) bool {
	s := c.sock
	if s == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	select {
	case s.out <- b:
		return true
	case <-s.done:
		return false
	}
}

func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// wait blocks until cond (called with c.mu held) is true, the client is
// closed or ctx ends.
func (c *Client) wait(ctx context.Context, cond func() (bool, error)) error {
	for {
		c.mu.Lock()
		ok, err := cond()
		ch, closed := c.changed, c.closed
		c.mu.Unlock()
		if ok || err != nil {
			return err
		}
		if closed {
			return errors.New("client closed")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Connected reports whether a socket is open.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sock != nil
}

// BaseURL is the server the client is (or was last) connected to.
func (c *Client) BaseURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.BaseURL
}

// Join joins a session and waits for the answer. The answer is kept (see
// Joined); on Reconnect the client joins the same session again.
func (c *Client) Join(ctx context.Context, session string) error {
	ch := make(chan error, 1)
	c.mu.Lock()
	if c.joinWait != nil {
		c.mu.Unlock()
		return errors.New("a join is already waiting for its answer")
	}
	c.session = session
	c.joinWait = ch
	if !c.sendLocked(map[string]any{"type": "join", "session": session}) {
		c.joinWait = nil
		c.mu.Unlock()
		return errors.New("not connected")
	}
	c.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		if c.joinWait == ch {
			c.joinWait = nil
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Joined returns the last "joined" frame (nil before a join succeeded).
func (c *Client) Joined() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joined
}

// Role is the role the last join granted ("owner", "editor", "viewer").
func (c *Client) Role() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.role
}

// Errors returns the error frames received so far.
func (c *Client) Errors() []ErrorFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ErrorFrame(nil), c.errs...)
}

// Send sends any client frame (chat, cursor, ping, …) as JSON.
func (c *Client) Send(frame any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sendLocked(frame) {
		return errors.New("not connected")
	}
	return nil
}

// Open subscribes to a file and waits for its document. A file already open
// returns its Doc.
func (c *Client) Open(ctx context.Context, file string) (*Doc, error) {
	c.mu.Lock()
	d := c.docs[file]
	if d == nil {
		d = newDoc(c, file)
		c.docs[file] = d
		if !c.sendLocked(map[string]any{"type": "open", "file": file}) {
			delete(c.docs, file)
			c.mu.Unlock()
			return nil, errors.New("not connected")
		}
	}
	c.mu.Unlock()
	err := c.wait(ctx, func() (bool, error) {
		if d.doc != nil {
			return true, nil
		}
		if d.openErr != nil {
			return false, d.openErr
		}
		return false, nil
	})
	if err != nil {
		c.mu.Lock()
		if c.docs[file] == d && d.doc == nil {
			delete(c.docs, file)
		}
		c.mu.Unlock()
		return nil, err
	}
	return d, nil
}

// Doc returns an open file's state (nil if not open).
func (c *Client) Doc(file string) *Doc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs[file]
}

// CloseFile unsubscribes from a file; its unconfirmed edits are dropped.
func (c *Client) CloseFile(file string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs[file] != nil {
		delete(c.docs, file)
		c.sendLocked(map[string]any{"type": "close", "file": file})
		c.notifyLocked()
	}
}

// Drop closes the socket abruptly, with no close handshake, as a network
// failure or a killed browser would. Unconfirmed edits are kept; Reconnect
// resumes.
func (c *Client) Drop() {
	c.mu.Lock()
	s := c.sock
	if s != nil {
		c.lostLocked()
	}
	c.mu.Unlock()
	if s != nil {
		_ = s.ws.CloseNow()
		<-s.done
	}
}

// Reconnect replaces the socket with a new one to the same server.
func (c *Client) Reconnect(ctx context.Context) error {
	return c.ReconnectTo(ctx, c.BaseURL())
}

// ReconnectTo drops the current socket (if any) and connects to base,
// another node of the same cluster or the same server. It re-joins the
// session and waits for the answer; the files re-open and resync in the
// background (see Doc.WaitSynced).
func (c *Client) ReconnectTo(ctx context.Context, base string) error {
	c.Drop()
	if err := c.connect(ctx, base); err != nil {
		return err
	}
	c.mu.Lock()
	session := c.session
	c.mu.Unlock()
	if session == "" {
		return nil
	}
	return c.Join(ctx, session)
}

// Done is closed when the current socket ends (nil when disconnected).
func (c *Client) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sock == nil {
		return nil
	}
	return c.sock.done
}

// Close closes the connection normally; the client cannot be used again.
func (c *Client) Close() error {
	c.mu.Lock()
	s := c.sock
	c.closed = true
	if s != nil {
		c.lostLocked()
	}
	c.notifyLocked()
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	err := s.ws.Close(websocket.StatusNormalClosure, "")
	<-s.done
	return err
}

// serverFrame holds the fields of every server frame type the client acts on.
type serverFrame struct {
	Type    string           `json:"type"`
	Role    string           `json:"role"`
	File    string           `json:"file"`
	Version int64            `json:"version"`
	Content string           `json:"content"`
	Updates []receivedUpdate `json:"updates"`
}

// handle dispatches one frame from socket s.
func (c *Client) handle(s *socket, b []byte) {
	// One decoding for every frame type this client acts on (a load test's
	// clients spend most of their time here).
	var m serverFrame
	if file, version, ups, ok := parseUpdates(b); ok {
		m.Type, m.File, m.Version, m.Updates = "updates", file, version, ups
	} else if json.Unmarshal(b, &m) != nil {
		// A files event carries an object in "file": only the type matters then.
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &head) != nil {
			return
		}
		m.Type = head.Type
	}
	if c.opts.OnFrame != nil {
		c.opts.OnFrame(m.Type, b)
	}
	var after []func() // callbacks, run once the lock is released
	c.mu.Lock()
	if c.sock != s {
		c.mu.Unlock()
		return
	}
	switch m.Type {
	case "joined":
		c.joined, c.role = append(json.RawMessage(nil), b...), m.Role
		for _, d := range c.docs {
			d.readOnly = m.Role == "viewer"
			d.open()
		}
		if c.joinWait != nil {
			c.joinWait <- nil
			c.joinWait = nil
		}
	case "doc":
		if d := c.docs[m.File]; d != nil {
			d.handleDoc(m.Version, m.Content, &after)
		}
	case "updates":
		if d := c.docs[m.File]; d != nil {
			d.handleUpdates(m.Version, m.Updates, &after)
		}
	case "error":
		var e ErrorFrame
		_ = json.Unmarshal(b, &e)
		e.At = time.Now()
		c.errs = append(c.errs, e)
		c.receiveError(e)
		if c.opts.OnError != nil {
			after = append(after, func() { c.opts.OnError(e) })
		}
	}
	c.notifyLocked()
	c.mu.Unlock()
	for _, fn := range after {
		fn()
	}
}

// receiveError reacts to an error frame as the browser client does.
func (c *Client) receiveError(e ErrorFrame) {
	if c.joinWait != nil && e.File == "" && isJoinError(e.Code) {
		c.joinWait <- e
		c.joinWait = nil
		return
	}
	var affected []*Doc
	for _, d := range c.docs {
		if e.File != "" && d.file == e.File || e.File == "" && d.inFlight > 0 {
			affected = append(affected, d)
		}
	}
	switch e.Code {
	case "invalid_change", "too_large":
		for _, d := range affected {
			d.pushRefused()
		}
	case "rate_limited", "internal":
		for _, d := range affected {
			if d.doc == nil {
				continue
			}
			d.inFlight = 0
			d.scheduleRetry()
		}
	case "forbidden":
		for _, d := range c.docs {
			d.readOnly = true
		}
		for _, d := range affected {
			d.pushRefused()
		}
	}
	// An open that failed (no such file, not joined) ends its Open call.
	for _, d := range affected {
		if d.doc == nil && (e.Code == "not_found" || e.Code == "not_joined" || e.Code == "invalid_message" || e.Code == "too_large") {
			d.openErr = e
		}
	}
}

func isJoinError(code string) bool {
	switch code {
	case "not_found", "forbidden", "invalid_message", "unauthorized", "internal":
		return true
	}
	return false
}

func newClientID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
