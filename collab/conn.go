package collab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/ot"
)

// A pull answers with the updates after the client's version, however many
// the log holds up to maxPullBehind (beyond that, a fresh copy of the file:
// the client has been away for very long), in frames of pullFrameUpdates.
const (
	maxPullBehind    = 100_000
	pullFrameUpdates = 500
)

// MaxFrameBytes bounds one client frame: a whole-file replacement of 1 MiB of
// text fits with JSON escaping.
const MaxFrameBytes = 4 << 20

// Close codes beyond the standard ones.
const (
	closeSlowConsumer = websocket.StatusCode(4008)
	closeFlood        = websocket.StatusCode(4029)
	// closeTooManyConns ends a connection beyond the account's MaxUserConns
	// on this node, right after the upgrade (a browser cannot read an HTTP
	// status of a refused upgrade, but it sees the close code and reason).
	closeTooManyConns = websocket.StatusCode(4030)
)

// conn is one WebSocket client.
type conn struct {
	hub  *Hub
	ws   *websocket.Conn
	user *codebuddy.User
	id   string

	send      chan *outFrame
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	limiter   *rate.Limiter
	quota     *userQuota // shared by the account's connections on this node
	strikes   int

	// Closing: closing is set first (nothing more is handled or queued), then the
	// connection leaves everything, stop tells writeLoop to flush the queue
	// (unless dropQueue) and end, flushed says it did, and only then is the close
	// frame written, so that it follows the frames queued before it, and the
	// context cancelled. closed is closed at the very end.
	closing   atomic.Bool
	dropQueue bool
	stop      chan struct{}
	flushed   chan struct{}
	closed    chan struct{}

	// opMu serialises changes to the joined session and the open files: the
	// message handlers, access re-checks and the clean-up at close.
	opMu sync.Mutex

	mu         sync.Mutex // guards the fields below
	session    *codebuddy.Session
	role       string
	open       map[string]*document
	lastActive time.Time
}

func newConnID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ServeHTTP upgrades GET /api/ws. The user comes from the cookie or bearer
// token (resolved by the HTTP middleware); the Origin must be allowed.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := h.userFrom(r.Context())
	if u == nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"status":401,"title":"Unauthorized","detail":"sign in before opening the real-time connection"}`))
		return
	}
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	q := h.reserveConn(u.ID)
	if q != nil {
		defer h.releaseConn(u.ID)
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  h.originHosts,
		CompressionMode: websocket.CompressionDisabled, // per-connection deflate state costs more memory than it saves here
	})
	if err != nil {
		return // Accept has answered (403 for a foreign Origin)
	}
	if q == nil {
		_ = ws.Close(closeTooManyConns, fmt.Sprintf("too many open connections for this account (%d): close a tab", h.maxUserConns))
		return
	}
	ws.SetReadLimit(MaxFrameBytes)
	ctx, cancel := context.WithCancel(h.ctx)
	c := &conn{hub: h, ws: ws, user: u, id: newConnID(), send: make(chan *outFrame, h.sendQueue), ctx: ctx, cancel: cancel,
		limiter: rate.NewLimiter(rate.Limit(h.msgRate), h.msgBurst), quota: q, open: map[string]*document{}, lastActive: h.now(),
		stop: make(chan struct{}), flushed: make(chan struct{}), closed: make(chan struct{})}
	h.addUserConn(c)
	go c.writeLoop()
	go c.pingLoop()
	c.readLoop()
	c.close(websocket.StatusNormalClosure, "")
	<-c.closed
}

func (c *conn) readLoop() {
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) || errors.Is(err, context.Canceled) {
				c.close(websocket.StatusNormalClosure, "")
			} else if websocket.CloseStatus(err) == websocket.StatusMessageTooBig || errors.Is(err, websocket.ErrMessageTooBig) {
				c.close(websocket.StatusMessageTooBig, "frame too large")
			} else {
				c.close(websocket.StatusProtocolError, "read failed")
			}
			return
		}
		if !c.limiter.Allow() {
			c.strikes++
			if c.strikes > 3*c.hub.msgBurst {
				c.close(closeFlood, "too many messages")
				return
			}
			c.sendError("rate_limited", "too many messages, slow down", "")
			continue
		}
		if !c.quota.msgs.Allow() {
			// The account's connections together sent too much: refused, but
			// not a strike against this one, which may be a quiet tab.
			c.sendError("rate_limited", "too many messages from your connections, slow down", "")
			continue
		}
		c.strikes = 0
		if typ != websocket.MessageText {
			c.sendError("invalid_message", "frames must be JSON text", "")
			continue
		}
		c.opMu.Lock()
		if !c.closing.Load() {
			c.handle(data)
		}
		c.opMu.Unlock()
	}
}

// writeTimeout bounds the write of one frame; a client that takes longer is
// cut off.
const writeTimeout = 10 * time.Second

// maxMerged bounds a frame the writer builds by merging queued update frames.
const maxMerged = 256 << 10

// outFrame is one queued frame. A broadcast of updates also carries its file
// and versions so that the writer can merge consecutive ones.
type outFrame struct {
	b        []byte
	file     string // "" for frames that cannot be merged
	from, to int64  // the frame carries the updates producing versions from+1..to
	items    int    // offset in b of the first update
}

// updatesFrame wraps a marshalled updatesMsg of the updates after version
// from, up to version to.
func updatesFrame(b []byte, file string, from, to int64) *outFrame {
	// The file ID is a plain string, so the first `"updates":[` is the key.
	i := bytes.Index(b, []byte(`"updates":[`))
	if i < 0 || to <= from || !bytes.HasSuffix(b, []byte("]}")) {
		return &outFrame{b: b}
	}
	return &outFrame{b: b, file: file, from: from, to: to, items: i + len(`"updates":[`)}
}

// writeLoop writes the queued frames in order. When the client reads more
// slowly than updates arrive (or the server is busy), consecutive update
// frames of one file waiting in the queue go out as one frame: the client
// receives the same updates in the same order, and both sides spend one write
// and one read instead of many, which is what lets a busy document catch up.
func (c *conn) writeLoop() {
	defer close(c.flushed)
	// A write is bounded by a watchdog timer rather than a context per frame:
	// a context per write costs a timer and a cancellation hook every time.
	var writing atomic.Bool
	watchdog := time.AfterFunc(time.Hour, func() { _ = c.ws.CloseNow() })
	watchdog.Stop()
	defer watchdog.Stop()
	// The connection's end also ends a write in flight, as a cancelled
	// context would.
	defer context.AfterFunc(c.ctx, func() {
		if writing.Load() {
			_ = c.ws.CloseNow()
		}
	})()
	wctx := context.WithoutCancel(c.ctx)
	var held *outFrame // taken from the queue but not merged: next to write
	write := func(f *outFrame) bool {
		b := f.b
		if f.file != "" {
			b, held = c.merge(f)
		}
		writing.Store(true)
		watchdog.Reset(writeTimeout)
		err := c.ws.Write(wctx, websocket.MessageText, b)
		watchdog.Stop()
		writing.Store(false)
		if err != nil {
			c.close(websocket.StatusGoingAway, "write failed")
			return false
		}
		return true
	}
	// Once stop is closed the queue is drained without waiting (unless it is
	// to be dropped); a frame merge held back always goes next.
	draining := false
	for {
		f := held
		held = nil
		if f == nil && draining {
			select {
			case f = <-c.send:
			default:
				return
			}
		}
		if f == nil {
			select {
			case <-c.ctx.Done():
				return
			case <-c.stop:
				if c.dropQueue {
					return
				}
				draining = true
				continue
			case f = <-c.send:
			}
		}
		if !write(f) {
			return
		}
	}
}

// merge appends to update frame f the update frames of the same file that
// follow it in the queue without a gap, up to maxMerged bytes. It returns
// the frame to write and the first frame it took from the queue but could
// not merge (nil if none).
func (c *conn) merge(f *outFrame) ([]byte, *outFrame) {
	var buf []byte
	to := f.to
	for {
		var g *outFrame
		select {
		case g = <-c.send:
		default:
		}
		if g == nil {
			break
		}
		if g.file != f.file || g.from != to || max(len(buf), len(f.b))+len(g.b) > maxMerged {
			if buf == nil {
				return f.b, g
			}
			return append(buf, "]}"...), g
		}
		if buf == nil {
			buf = append(make([]byte, 0, 2*(len(f.b)+len(g.b))), f.b[:len(f.b)-2]...)
		}
		buf = append(append(buf, ','), g.b[g.items:len(g.b)-2]...)
		to = g.to
	}
	if buf == nil {
		return f.b, nil
	}
	return append(buf, "]}"...), nil
}

func (c *conn) pingLoop() {
	t := time.NewTicker(c.hub.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.close(websocket.StatusGoingAway, "keepalive timed out")
				return
			}
		}
	}
}

// sendRaw queues a frame; a client whose queue is full is dropped rather than
// allowed to hold up the document for everyone else.
func (c *conn) sendRaw(frame []byte) { c.enqueue(&outFrame{b: frame}) }

// enqueue queues a frame (see sendRaw).
func (c *conn) enqueue(f *outFrame) {
	if c.closing.Load() {
		return
	}
	select {
	case c.send <- f:
	case <-c.ctx.Done():
	default:
		go c.close(closeSlowConsumer, "too slow: send queue full, reconnect and pull")
	}
}

func (c *conn) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.hub.logger.Error("marshal frame", "err", err)
		return
	}
	c.sendRaw(b)
}

func (c *conn) sendError(code, msg, file string) {
	c.sendJSON(errorMsg{Type: "error", Code: code, Message: msg, File: file})
}

// close ends the connection with code; it returns at once (closed says when done).
// The client gets the frames queued before (all of them, except when it is too
// slow to read them) and then the close code.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.dropQueue = code == closeSlowConsumer
		go func() {
			defer close(c.closed)
			c.opMu.Lock()
			c.cleanup()
			c.opMu.Unlock()
			close(c.stop)
			// Bounded by the write timeout of a frame in flight and of the queued ones.
			<-c.flushed
			// Close writes the close frame and waits (at most 5 s) for the client's.
			_ = c.ws.Close(code, reason)
			c.cancel()
		}()
	})
}

func (c *conn) closeGoingAway() { c.close(websocket.StatusGoingAway, "server shutting down") }

// cleanup takes c out of its session, documents and the hub (c.opMu held).
func (c *conn) cleanup() {
	c.mu.Lock()
	sess := c.session
	docs := c.open
	c.open = map[string]*document{}
	c.session = nil
	c.mu.Unlock()
	for _, d := range docs {
		d.unsubscribe(c)
	}
	if sess != nil {
		c.hub.leave(c, sess.ID)
	}
	c.hub.removeUserConn(c)
}

func (c *conn) presence() nodePresence {
	c.mu.Lock()
	defer c.mu.Unlock()
	files := make([]string, 0, len(c.open))
	for id := range c.open {
		files = append(files, id)
	}
	return nodePresence{Conn: c.id, UserID: c.user.ID, Username: c.user.Username, Role: c.role, Files: files, LastActive: c.lastActive}
}

func (c *conn) hasOpen(fileID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.open[fileID]
	return ok
}

func (c *conn) touch() (wasIdle bool) {
	now := c.hub.now()
	c.mu.Lock()
	wasIdle = now.Sub(c.lastActive) >= c.hub.idleAfter
	c.lastActive = now
	c.mu.Unlock()
	return wasIdle
}

func (c *conn) joined() (*codebuddy.Session, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session, c.role
}

func (c *conn) handle(data []byte) {
	var m inMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.sendError("invalid_message", "not a valid message: "+jsonProblem(err), "")
		return
	}
	switch m.Type {
	case "ping":
		c.sendJSON(map[string]string{"type": "pong"})
	case "join":
		c.handleJoin(m)
	case "leave":
		c.handleLeave()
	case "open":
		c.handleOpen(m)
	case "close":
		c.handleClose(m)
	case "push":
		c.handlePush(m, len(data))
	case "pull":
		c.handlePull(m)
	case "cursor":
		c.handleCursor(m)
	case "chat":
		c.handleChat(m)
	case "run":
		c.handleRun(m)
	case "stdin":
		c.handleStdin(m)
	case "cancel":
		c.handleCancel(m)
	case "":
		c.sendError("invalid_message", "a message needs a type", "")
	default:
		c.sendError("invalid_message", fmt.Sprintf("unknown message type %q", m.Type), "")
	}
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
	}
	return "malformed JSON"
}

// domainError sends a domain error as an error frame.
func (c *conn) domainError(err error, file string) {
	code := codebuddy.ErrorCode(err)
	switch code {
	case codebuddy.EINTERNAL:
		c.hub.logger.Error("websocket request", "user", c.user.ID, "err", err)
		c.sendError("internal", "something went wrong, try again", file)
	case codebuddy.ENOTFOUND:
		c.sendError("not_found", codebuddy.ErrorMessage(err), file)
	case codebuddy.EFORBIDDEN:
		c.sendError("forbidden", codebuddy.ErrorMessage(err), file)
	case codebuddy.EINVALID:
		c.sendError("invalid_message", codebuddy.ErrorMessage(err), file)
	case codebuddy.ETOOLARGE:
		c.sendError("too_large", codebuddy.ErrorMessage(err), file)
	default:
		c.sendError(code, codebuddy.ErrorMessage(err), file)
	}
}

func (c *conn) handleJoin(m inMessage) {
	if m.Session == "" || len(m.Session) > 64 {
		c.sendError("invalid_message", "join needs a session id", "")
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	sess, role, err := c.hub.ws.Access(ctx, c.user, m.Session)
	if err != nil {
		c.domainError(err, "")
		return
	}
	files, err := c.hub.ws.Files(ctx, c.user, m.Session)
	if err != nil {
		c.domainError(err, "")
		return
	}
	if cur, _ := c.joined(); cur != nil {
		c.handleLeave()
	}
	c.mu.Lock()
	c.session, c.role = sess, role
	c.mu.Unlock()
	c.touch()
	if err := c.hub.join(ctx, c, sess.ID); err != nil {
		c.mu.Lock()
		c.session, c.role = nil, ""
		c.mu.Unlock()
		c.domainError(err, "")
		return
	}
	// A change of access between the read above and joining the room reached
	// the room without c: read it again now that later ones will reach c.
	sess, role, err = c.hub.ws.Access(ctx, c.user, m.Session)
	if err != nil {
		c.handleLeave()
		c.domainError(err, "")
		return
	}
	c.mu.Lock()
	c.session, c.role = sess, role
	c.mu.Unlock()
	wf := make([]httpapi.File, 0, len(files))
	for _, f := range files {
		wf = append(wf, httpapi.WireFile(f, false))
	}
	c.hub.mu.Lock()
	entries := c.hub.rooms[sess.ID].entries(c.hub)
	c.hub.mu.Unlock()
	c.sendJSON(joinedMsg{Type: "joined", Session: sessionWire(sess, role), User: httpapi.User{ID: c.user.ID, Username: c.user.Username, Theme: c.user.Theme, CreatedAt: c.user.CreatedAt},
		Role: role, Participants: entries, Files: wf})
	c.hub.presenceChanged(sess.ID)
}

func sessionWire(s *codebuddy.Session, role string) map[string]any {
	return map[string]any{"id": s.ID, "name": s.Name, "language": s.Language, "isPublic": s.IsPublic,
		"visitorRole": s.VisitorRole, "ownerId": s.OwnerID, "role": role, "createdAt": s.CreatedAt, "updatedAt": s.UpdatedAt}
}

// applyAccess brings c up to date with its access to the session (sess nil: none left).
func (c *conn) applyAccess(sessionID string, sess *codebuddy.Session, role string) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if c.closing.Load() {
		return
	}
	c.mu.Lock()
	if c.session == nil || c.session.ID != sessionID {
		c.mu.Unlock()
		return
	}
	if sess != nil {
		changed := c.role != role
		c.session, c.role = sess, role
		c.mu.Unlock()
		if changed {
			c.hub.presenceChanged(sessionID)
		}
		return
	}
	c.mu.Unlock()
	c.sendError("not_found", "this session was deleted or you no longer have access to it", "")
	c.handleLeave()
}

func (c *conn) handleLeave() {
	c.mu.Lock()
	sess := c.session
	docs := c.open
	c.open = map[string]*document{}
	c.session = nil
	c.role = ""
	c.mu.Unlock()
	for _, d := range docs {
		d.unsubscribe(c)
	}
	if sess != nil {
		c.hub.leave(c, sess.ID)
	}
}

// fileInSession loads a file and checks it belongs to the joined session.
func (c *conn) fileInSession(ctx context.Context, fileID string) (*codebuddy.File, bool) {
	sess, _ := c.joined()
	if sess == nil {
		c.sendError("not_joined", "join a session first", fileID)
		return nil, false
	}
	if fileID == "" || len(fileID) > 64 {
		c.sendError("invalid_message", "a file id is required", fileID)
		return nil, false
	}
	f, err := c.hub.files.File(ctx, fileID)
	if err != nil || f.SessionID != sess.ID {
		c.sendError("not_found", "no such file in this session", fileID)
		return nil, false
	}
	if f.IsFolder {
		c.sendError("invalid_message", "a folder has no content", fileID)
		return nil, false
	}
	return f, true
}

func (c *conn) handleOpen(m inMessage) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	f, ok := c.fileInSession(ctx, m.File)
	if !ok {
		return
	}
	c.mu.Lock()
	if len(c.open) >= 64 {
		c.mu.Unlock()
		c.sendError("too_large", "at most 64 files open per connection", f.ID)
		return
	}
	c.mu.Unlock()
	for attempt := 0; attempt < 3; attempt++ {
		d, err := c.hub.document(ctx, f)
		if err != nil {
			c.domainError(err, f.ID)
			return
		}
		var version int64
		var content string
		ok := false
		// Subscribing and reading the state happen on the document goroutine, so no
		// update can fall between the snapshot sent and the first update delivered.
		err = d.do(ctx, func() {
			// Another node may have committed updates this one never heard of (it
			// died between commit and publish): read the log's tail first, or a
			// client that saw them would be handed an older document.
			if err := d.catchUpAndBroadcast(ctx); err != nil {
				c.hub.logger.Warn("catch up on open", "file", d.fileID, "err", err)
			}
			if !d.subscribe(c) {
				return
			}
			ok = true
			version, content = d.version, d.doc.String()
			c.mu.Lock()
			c.open[f.ID] = d
			c.mu.Unlock()
			// Queued inside the goroutine: it precedes any later broadcast to c.
			c.sendJSON(docMsg{Type: "doc", File: f.ID, Version: version, Content: content})
		})
		if err != nil {
			c.sendError("internal", "could not open the file", f.ID)
			return
		}
		if ok {
			c.hub.presenceChanged(f.SessionID)
			return
		}
	}
	c.sendError("internal", "could not open the file, try again", f.ID)
}

func (d *document) subscribe(c *conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.subs[c] = struct{}{}
	return true
}

func (d *document) unsubscribe(c *conn) {
	d.mu.Lock()
	delete(d.subs, c)
	if len(d.subs) == 0 {
		d.idle = d.hub.now()
	}
	d.mu.Unlock()
}

func (c *conn) handleClose(m inMessage) {
	c.mu.Lock()
	d := c.open[m.File]
	delete(c.open, m.File)
	sess := c.session
	c.mu.Unlock()
	if d != nil {
		d.unsubscribe(c)
		if sess != nil {
			c.hub.presenceChanged(sess.ID)
		}
	}
}

func (c *conn) openDoc(fileID string) *document {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open[fileID]
}

func (c *conn) handlePush(m inMessage, size int) {
	d := c.openDoc(m.File)
	if d == nil {
		c.sendError("not_found", "open the file before pushing to it", m.File)
		return
	}
	if _, role := c.joined(); codebuddy.RoleRank(role) < codebuddy.RoleRank(codebuddy.RoleEditor) {
		c.sendError("forbidden", "viewers cannot edit", m.File)
		return
	}
	if m.Version == nil {
		c.sendError("invalid_message", "push needs the version it is based on", m.File)
		return
	}
	if len(m.Updates) == 0 || len(m.Updates) > 200 {
		c.sendError("invalid_change", "push needs 1 to 200 updates", m.File)
		return
	}
	ups := make([]ot.Update, len(m.Updates))
	for i, u := range m.Updates {
		if u.ClientID == "" || len(u.ClientID) > 64 {
			c.sendError("invalid_change", "each update needs a clientID of at most 64 characters", m.File)
			return
		}
		cs, err := ot.Parse(u.Changes, ot.Limits{MaxBytes: MaxFrameBytes, MaxLength: c.hub.maxDocUnits * 2})
		if err != nil {
			code := "invalid_change"
			if errors.Is(err, ot.ErrTooLarge) {
				code = "too_large"
			}
			c.sendError(code, fmt.Sprintf("update %d: %v", i, err), m.File)
			return
		}
		ups[i] = ot.Update{ClientID: u.ClientID, Changes: cs}
	}
	if c.touch() {
		if sess, _ := c.joined(); sess != nil {
			c.hub.presenceChanged(sess.ID)
		}
	}
	p := &pushReq{c: c, user: c.user, version: *m.Version, updates: ups, raw: size}
	select {
	case d.pushes() <- p:
	case <-c.ctx.Done():
	case <-time.After(5 * time.Second):
		c.sendError("rate_limited", "the document is busy, resend", m.File)
	}
}

func (c *conn) handlePull(m inMessage) {
	d := c.openDoc(m.File)
	if d == nil {
		c.sendError("not_found", "open the file before pulling it", m.File)
		return
	}
	if m.Version == nil || *m.Version < 0 {
		c.sendError("invalid_message", "pull needs a version", m.File)
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	v := *m.Version
	var (
		head  int64
		out   []OutUpdate
		ahead bool
		fresh *docMsg
	)
	err := d.do(ctx, func() {
		if v > d.version {
			// The client saw updates this node has not heard of (another node
			// committed them and its broadcast was lost, or it died between
			// commit and publish): read them from the log before answering.
			if err := d.catchUpAndBroadcast(ctx); err != nil {
				c.hub.logger.Warn("catch up on pull", "file", d.fileID, "err", err)
			}
		}
		head = d.version
		switch oldest := d.version - int64(len(d.recent)); {
		case v > d.version:
			ahead = true
		case d.version-v > maxPullBehind:
			fresh = &docMsg{Type: "doc", File: d.fileID, Version: d.version, Content: d.doc.String()}
		case v >= oldest:
			// Answered from memory, in order with the broadcasts.
			out = make([]OutUpdate, 0, d.version-v)
			for _, a := range d.recent[v-oldest:] {
				out = append(out, OutUpdate{ClientID: a.ClientID, Changes: a.JSON, UserID: a.UserID})
			}
		}
	})
	switch {
	case err != nil:
		c.sendError("internal", "could not read the file's history, pull again", m.File)
		return
	case ahead:
		c.sendError("invalid_message", fmt.Sprintf("version %d is ahead of the document (at %d)", v, head), m.File)
		return
	case fresh != nil:
		c.sendJSON(*fresh)
		return
	case out == nil:
		// Older than what the document keeps in memory: read the log, off the
		// document's goroutine (versions up to head never change). A client
		// holding unconfirmed edits must get the updates, not a fresh copy of
		// the file, or its edits are lost.
		ups, err := c.hub.log.Updates(ctx, d.fileID, v, head)
		if err != nil || int64(len(ups)) != head-v {
			c.hub.logger.Warn("pull from the log", "file", d.fileID, "from", v, "to", head, "got", len(ups), "err", err)
			c.sendError("internal", "could not read the file's history, pull again", m.File)
			return
		}
		out = make([]OutUpdate, len(ups))
		for i, u := range ups {
			out[i] = OutUpdate{ClientID: u.ClientID, Changes: json.RawMessage(u.Changes), UserID: u.UserID}
		}
	}
	// Long histories go in several frames, in order.
	for first := true; first || len(out) > 0; first = false {
		n := min(len(out), pullFrameUpdates)
		c.sendJSON(updatesMsg{Type: "updates", File: d.fileID, Version: v, Updates: out[:n]})
		out, v = out[n:], v+int64(n)
	}
}

func (c *conn) handleCursor(m inMessage) {
	sess, _ := c.joined()
	if sess == nil {
		c.sendError("not_joined", "join a session first", m.File)
		return
	}
	if c.openDoc(m.File) == nil {
		c.sendError("not_found", "open the file first", m.File)
		return
	}
	sel := m.Selection
	if sel == nil || len(sel.Ranges) == 0 || len(sel.Ranges) > 100 || sel.Main < 0 || sel.Main >= len(sel.Ranges) {
		c.sendError("invalid_message", "selection needs 1 to 100 ranges and a main index", m.File)
		return
	}
	for _, r := range sel.Ranges {
		if r.Anchor < 0 || r.Head < 0 || r.Anchor > c.hub.maxDocUnits || r.Head > c.hub.maxDocUnits {
			c.sendError("invalid_message", "selection positions out of range", m.File)
			return
		}
	}
	var v int64
	if m.Version != nil {
		v = *m.Version
	}
	if c.touch() {
		c.hub.presenceChanged(sess.ID)
	}
	frame, _ := json.Marshal(cursorMsg{Type: "cursor", UserID: c.user.ID, Username: c.user.Username, Color: Color(c.user.ID),
		File: m.File, Version: v, Selection: sel})
	c.hub.publishSession(c.ctx, sess.ID, frame, c.id, m.File)
}

func (c *conn) handleChat(m inMessage) {
	sess, _ := c.joined()
	if sess == nil {
		c.sendError("not_joined", "join a session first", "")
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	c.touch()
	if _, err := c.hub.ws.PostMessage(ctx, c.user, sess.ID, m.Text); err != nil {
		c.domainError(err, "")
	}
}

func (c *conn) handleRun(m inMessage) {
	sess, _ := c.joined()
	if sess == nil {
		c.sendError("not_joined", "join a session first", "")
		return
	}
	if c.hub.runs == nil {
		c.sendError("unavailable", "code execution is not available on this server", "")
		return
	}
	req := httpapi.ExecuteRequest{Language: m.Language, Code: m.Code, Files: m.Files, Entry: m.Entry, Stdin: m.Stdin,
		SessionID: sess.ID, Limits: m.Limits}
	in := req.Input()
	in.Interactive = true
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if _, err := c.hub.runs.Start(ctx, c.user, in, nil); err != nil {
		c.domainError(err, "")
	}
}

func (c *conn) handleStdin(m inMessage) {
	if c.hub.runs == nil {
		c.sendError("unavailable", "code execution is not available on this server", "")
		return
	}
	if len(m.Data) > 64<<10 {
		c.sendError("too_large", "send standard input in chunks of at most 64 KiB", "")
		return
	}
	if err := c.hub.runs.Stdin(c.user, m.Run, m.Data, m.EOF); err != nil {
		c.domainError(err, "")
	}
}

func (c *conn) handleCancel(m inMessage) {
	if c.hub.runs == nil {
		c.sendError("unavailable", "code execution is not available on this server", "")
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if err := c.hub.runs.Cancel(ctx, c.user, m.Run); err != nil {
		c.domainError(err, "")
	}
}
