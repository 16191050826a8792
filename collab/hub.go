// Package collab is the real-time core: the WebSocket endpoint, one authority per
// open file that rebases, commits and broadcasts updates (operational
// transformation over CodeMirror change sets), presence with cursors, live chat,
// file-tree events and notifications, fanned out across nodes by a broker.
package collab

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/runs"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// Options wire the hub.
type Options struct {
	Workspace *workspace.Service
	Files     codebuddy.FileStore
	Log       codebuddy.ChangeLog
	Broker    codebuddy.Broker
	Logger    *slog.Logger
	// Node names this process in broker messages; must differ between nodes.
	Node string
	// Origins are the allowed browser origins (scheme://host[:port]).
	Origins []string
	// UserFrom returns the authenticated user of a request.
	UserFrom func(ctx context.Context) *codebuddy.User
	// SnapshotEvery stores the content every this many versions (default 100).
	SnapshotEvery int
	// MaxDocUnits bounds a file's length in UTF-16 units (default 1 Mi).
	MaxDocUnits int
	// SendQueue is each connection's outgoing queue; a client that lets it fill is dropped (default 1024).
	SendQueue int
	// IdleAfter marks a participant idle (default 60 s).
	IdleAfter time.Duration
	// MessageRate and MessageBurst bound client messages per connection; all
	// of one account's connections on this node together get userMessageShare
	// times as much.
	MessageRate  float64
	MessageBurst int
	// RebaseSteps bounds the rebasing one account's pushes on this node may
	// cost the server, in steps (one update mapped over one accepted update)
	// per second, with bursts of twice that (default 200,000: a push of 200
	// updates 1,000 versions behind fits in one burst; typing costs a few
	// steps a push). It is per account, not per connection, so that opening
	// more connections does not buy more of a document's goroutine.
	RebaseSteps int
	// MaxUserConns bounds one account's open connections on this node (default
	// 32); one more is accepted and closed at once with closeTooManyConns.
	MaxUserConns int
	// Heartbeat is the presence refresh period across nodes (default 10 s).
	Heartbeat time.Duration
	// PingInterval is the WebSocket keepalive period (default 25 s).
	PingInterval time.Duration
	Now          func() time.Time
	// Runs executes code for "run" messages; nil answers them with an error.
	Runs *runs.Service
}

// Hub owns the connections, open documents and session rooms of this node.
type Hub struct {
	ws            *workspace.Service
	files         codebuddy.FileStore
	log           codebuddy.ChangeLog
	broker        codebuddy.Broker
	logger        *slog.Logger
	node          string
	originHosts   []string
	userFrom      func(context.Context) *codebuddy.User
	snapshotEvery int
	maxDocUnits   int
	sendQueue     int
	idleAfter     time.Duration
	msgRate       float64
	msgBurst      int
	rebaseSteps   int
	maxUserConns  int
	heartbeat     time.Duration
	pingInterval  time.Duration
	now           func() time.Time
	runs          *runs.Service

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	docs     map[string]*document
	rooms    map[string]*room
	conns    map[*conn]struct{}
	users    map[string]map[*conn]struct{}
	quotas   map[string]*userQuota
	pace     map[string]*presencePace
	userSubs map[string]func()
	closing  bool
}

// New starts a hub.
func New(o Options) *Hub {
	h := &Hub{ws: o.Workspace, files: o.Files, log: o.Log, broker: o.Broker, logger: o.Logger, node: o.Node,
		userFrom: o.UserFrom, snapshotEvery: o.SnapshotEvery, maxDocUnits: o.MaxDocUnits, sendQueue: o.SendQueue,
		idleAfter: o.IdleAfter, msgRate: o.MessageRate, msgBurst: o.MessageBurst, rebaseSteps: o.RebaseSteps, maxUserConns: o.MaxUserConns, heartbeat: o.Heartbeat,
		pingInterval: o.PingInterval, now: o.Now, runs: o.Runs,
		docs: map[string]*document{}, rooms: map[string]*room{}, conns: map[*conn]struct{}{},
		users: map[string]map[*conn]struct{}{}, quotas: map[string]*userQuota{}, pace: map[string]*presencePace{}, userSubs: map[string]func(){}}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.snapshotEvery <= 0 {
		h.snapshotEvery = 100
	}
	if h.maxDocUnits <= 0 {
		h.maxDocUnits = codebuddy.MaxFileContentBytes
	}
	if h.sendQueue <= 0 {
		h.sendQueue = 1024
	}
	if h.idleAfter <= 0 {
		h.idleAfter = 60 * time.Second
	}
	if h.msgRate <= 0 {
		h.msgRate = 100
	}
	if h.msgBurst <= 0 {
		h.msgBurst = 300
	}
	if h.rebaseSteps <= 0 {
		h.rebaseSteps = 200_000
	}
	if h.maxUserConns <= 0 {
		h.maxUserConns = 32
	}
	if h.heartbeat <= 0 {
		h.heartbeat = 10 * time.Second
	}
	if h.pingInterval <= 0 {
		h.pingInterval = 25 * time.Second
	}
	if h.now == nil {
		h.now = func() time.Time { return time.Now().UTC() }
	}
	for _, o := range o.Origins {
		if i := strings.Index(o, "://"); i >= 0 {
			h.originHosts = append(h.originHosts, o[i+3:])
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go h.janitor()
	return h
}

// Close disconnects every client with "going away", stores snapshots of open
// documents and stops the hub.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return
	}
	h.closing = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	docs := make([]*document, 0, len(h.docs))
	for _, d := range h.docs {
		docs = append(docs, d)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.closeGoingAway()
	}
	for _, d := range docs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.do(ctx, func() { d.snapshot(ctx) })
		cancel()
	}
	// Give clients their close frame before the connections are cut.
	deadline := time.After(5 * time.Second)
	for _, c := range conns {
		select {
		case <-c.closed:
		case <-deadline:
		}
	}
	h.cancel()
	h.wg.Wait()
}

// Online reports which users have a connection in the session (any node).
func (h *Hub) Online(sessionID string) map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]bool{}
	r := h.rooms[sessionID]
	if r == nil {
		return out
	}
	for _, e := range r.entries(h) {
		out[e.UserID] = true
	}
	return out
}

// palette holds cursor colours readable on light and dark backgrounds.
var palette = [...]string{"#d81b60", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b",
	"#e53935", "#3949ab", "#7cb342", "#f4511e", "#5e35b1", "#00acc1"}

// Color is a user's stable cursor colour.
func Color(userID string) string {
	f := fnv.New32a()
	_, _ = f.Write([]byte(userID))
	return palette[f.Sum32()%uint32(len(palette))]
}

// document returns the loaded authority for a file, loading it on first use.
func (h *Hub) document(ctx context.Context, f *codebuddy.File) (*document, error) {
	h.mu.Lock()
	if d := h.docs[f.ID]; d != nil {
		h.mu.Unlock()
		return d, nil
	}
	h.mu.Unlock()
	d, err := h.loadDocument(ctx, f.ID, f.SessionID)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if cur := h.docs[f.ID]; cur != nil {
		h.mu.Unlock()
		return cur, nil
	}
	if h.closing {
		h.mu.Unlock()
		return nil, codebuddy.Errorf(codebuddy.EUNAVAILABLE, "the server is shutting down")
	}
	h.docs[f.ID] = d
	h.mu.Unlock()
	go d.run()
	cancel, err := h.broker.Subscribe(ctx, "file:"+f.ID, func(payload []byte) {
		var env fileEnvelope
		if json.Unmarshal(payload, &env) != nil || env.Node == h.node {
			return
		}
		op := func() { d.remote(env) }
		select {
		case d.ops <- op:
		default:
			// Order does not matter here: remote() checks versions and catches up from the log.
			go func() {
				defer func() { _ = recover() }() // ops closed by an unload in between
				d.ops <- op
			}()
		}
	})
	if err != nil {
		h.logger.Warn("subscribe file updates", "file", f.ID, "err", err)
	} else {
		d.cancelSub = cancel
	}
	// Updates committed elsewhere between loading and subscribing are picked up here.
	_ = d.do(ctx, func() {
		cctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = d.catchUpAndBroadcast(cctx)
	})
	return d, nil
}

// janitor unloads idle documents and refreshes presence.
func (h *Hub) janitor() {
	defer h.wg.Done()
	t := time.NewTicker(h.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		h.unloadIdle()
		h.forgetQuotas()
		h.forgetPace()
		h.refreshPresence()
	}
}

func (h *Hub) unloadIdle() {
	now := h.now()
	var drop []*document
	h.mu.Lock()
	for id, d := range h.docs {
		d.mu.Lock()
		if len(d.subs) == 0 && now.Sub(d.idle) > 2*h.heartbeat {
			d.closed = true
			delete(h.docs, id)
			drop = append(drop, d)
		}
		d.mu.Unlock()
	}
	h.mu.Unlock()
	for _, d := range drop {
		if d.cancelSub != nil {
			d.cancelSub()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = d.do(ctx, func() { d.snapshot(ctx) })
		cancel()
		close(d.ops)
	}
}

// --- Notifier: workspace events to connections --------------------------------

var _ codebuddy.Notifier = (*Hub)(nil)

// FileChanged implements codebuddy.Notifier.
func (h *Hub) FileChanged(ctx context.Context, event string, f *codebuddy.File) {
	frame, _ := json.Marshal(filesMsg{Type: "files", Event: event, File: httpapi.WireFile(f, false)})
	h.publishSession(ctx, f.SessionID, frame, "", "")
}

// ChatPosted implements codebuddy.Notifier.
func (h *Hub) ChatPosted(ctx context.Context, m *codebuddy.Message) {
	frame, _ := json.Marshal(chatMsg{Type: "chat", Message: httpapi.WireMessage(m)})
	h.publishSession(ctx, m.SessionID, frame, "", "")
}

// Notified implements codebuddy.Notifier.
func (h *Hub) Notified(ctx context.Context, n *codebuddy.Notification) {
	frame, _ := json.Marshal(notificationMsg{Type: "notification", Notification: httpapi.WireNotification(n)})
	if err := h.broker.Publish(ctx, "user:"+n.UserID, frame); err != nil {
		h.logger.Warn("publish notification", "err", err)
	}
}

// AccessChanged implements codebuddy.Notifier: every node re-reads the role of
// the affected connections, so a demoted editor's next push is refused and
// someone who lost access leaves the session.
func (h *Hub) AccessChanged(ctx context.Context, sessionID, userID string) {
	env, _ := json.Marshal(sessionEnvelope{Node: h.node, Kind: "access", UserID: userID})
	if err := h.broker.Publish(ctx, "session:"+sessionID, env); err != nil {
		h.logger.Warn("publish access change", "session", sessionID, "err", err)
	}
}

// recheckAccess re-reads the access of conns to the session and applies it.
func (h *Hub) recheckAccess(sessionID string, conns []*conn) {
	defer h.wg.Done()
	byUser := map[string][]*conn{}
	for _, c := range conns {
		byUser[c.user.ID] = append(byUser[c.user.ID], c)
	}
	for _, cs := range byUser {
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		sess, role, err := h.ws.Access(ctx, cs[0].user, sessionID)
		cancel()
		if err != nil && codebuddy.ErrorCode(err) != codebuddy.ENOTFOUND {
			// A failing database must not throw people out; the next change or join retries.
			h.logger.Warn("re-read session access", "session", sessionID, "user", cs[0].user.ID, "err", err)
			continue
		}
		for _, c := range cs {
			c.applyAccess(sessionID, sess, role)
		}
	}
}

func (h *Hub) publishSession(ctx context.Context, sessionID string, frame []byte, skipConn, onlyFile string) {
	env, _ := json.Marshal(sessionEnvelope{Node: h.node, Kind: "frame", Frame: frame, SkipConn: skipConn, OnlyFile: onlyFile})
	if err := h.broker.Publish(ctx, "session:"+sessionID, env); err != nil {
		h.logger.Warn("publish session event", "session", sessionID, "err", err)
	}
}

// --- rooms and presence -------------------------------------------------------

type remoteNode struct {
	entries []nodePresence
	seen    time.Time
}

type room struct {
	id        string
	members   map[*conn]struct{}
	remote    map[string]remoteNode
	cancelSub func()
	last      string
}

// entries merges local and remote connections per user (h.mu held).
func (r *room) entries(h *Hub) []PresenceEntry {
	now := h.now()
	byUser := map[string]*PresenceEntry{}
	var order []string
	add := func(p nodePresence) {
		e := byUser[p.UserID]
		if e == nil {
			e = &PresenceEntry{UserID: p.UserID, Username: p.Username, Color: Color(p.UserID), Role: p.Role, State: "idle"}
			byUser[p.UserID] = e
			order = append(order, p.UserID)
		}
		if codebuddy.RoleRank(p.Role) > codebuddy.RoleRank(e.Role) {
			e.Role = p.Role
		}
		for _, f := range p.Files {
			if !contains(e.Files, f) {
				e.Files = append(e.Files, f)
			}
		}
		if now.Sub(p.LastActive) < h.idleAfter {
			e.State = "active"
		}
	}
	for c := range r.members {
		add(c.presence())
	}
	for node, rn := range r.remote {
		if now.Sub(rn.seen) > 3*h.heartbeat {
			delete(r.remote, node) // that node stopped refreshing: it is gone
			continue
		}
		for _, p := range rn.entries {
			add(p)
		}
	}
	out := make([]PresenceEntry, 0, len(order))
	for _, id := range order {
		e := byUser[id]
		if e.Files == nil {
			e.Files = []string{}
		}
		sort.Strings(e.Files)
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// join adds c to the session's room, subscribing the node to it on first use; the
// caller announces the new presence after greeting c.
func (h *Hub) join(ctx context.Context, c *conn, sessionID string) error {
	h.mu.Lock()
	r := h.rooms[sessionID]
	if r == nil {
		r = &room{id: sessionID, members: map[*conn]struct{}{}, remote: map[string]remoteNode{}}
		h.rooms[sessionID] = r
		h.mu.Unlock()
		cancel, err := h.broker.Subscribe(ctx, "session:"+sessionID, func(p []byte) { h.sessionEvent(sessionID, p) })
		h.mu.Lock()
		if err != nil {
			delete(h.rooms, sessionID)
			h.mu.Unlock()
			return err
		}
		r.cancelSub = cancel
	}
	r.members[c] = struct{}{}
	h.mu.Unlock()
	return nil
}

func (h *Hub) leave(c *conn, sessionID string) {
	h.mu.Lock()
	r := h.rooms[sessionID]
	if r == nil {
		h.mu.Unlock()
		return
	}
	delete(r.members, c)
	if len(r.members) == 0 {
		delete(h.rooms, sessionID)
		if r.cancelSub != nil {
			defer r.cancelSub()
		}
	}
	h.mu.Unlock()
	h.presenceChanged(sessionID)
}

// sessionEvent handles a broker message on a session topic (delivery goroutine: no blocking).
func (h *Hub) sessionEvent(sessionID string, payload []byte) {
	var env sessionEnvelope
	if json.Unmarshal(payload, &env) != nil {
		return
	}
	switch env.Kind {
	case "frame":
		h.mu.Lock()
		r := h.rooms[sessionID]
		var targets []*conn
		if r != nil {
			for c := range r.members {
				if c.id == env.SkipConn || (env.OnlyFile != "" && !c.hasOpen(env.OnlyFile)) {
					continue
				}
				targets = append(targets, c)
			}
		}
		h.mu.Unlock()
		for _, c := range targets {
			c.sendRaw(env.Frame)
		}
	case "access":
		h.mu.Lock()
		var targets []*conn
		if r := h.rooms[sessionID]; r != nil && !h.closing {
			for c := range r.members {
				if env.UserID == "" || c.user.ID == env.UserID {
					targets = append(targets, c)
				}
			}
		}
		if len(targets) > 0 {
			h.wg.Add(1)
		}
		h.mu.Unlock()
		if len(targets) > 0 {
			go h.recheckAccess(sessionID, targets) // reads the database: not on the delivery goroutine
		}
	case "presence":
		if env.Node == h.node {
			return
		}
		h.mu.Lock()
		r := h.rooms[sessionID]
		newcomer := false
		if r != nil {
			_, known := r.remote[env.Node]
			newcomer = !known && len(env.Presence) > 0
			r.remote[env.Node] = remoteNode{entries: env.Presence, seen: h.now()}
		}
		h.mu.Unlock()
		if r != nil {
			h.sendPresence(sessionID, false)
		}
		if newcomer {
			// A node new to the session knows nobody here until the next
			// heartbeat: tell it now (not on the delivery goroutine, which
			// an in-process broker would re-enter).
			go h.sendPresence(sessionID, true)
		}
	}
}

// presenceEvery is the shortest spacing of one session's presence frames
// from this node. A presence frame lists everyone in the session and goes to
// every member, so sending one per join cost a session of n members n² entries
// as they all joined (a class joining a lecture at once: 500 members connected
// at 53/s and left two seconds of presence frames queued on every connection).
// A change after a quiet spell goes out at once; changes following it within
// presenceEvery share one frame, sent when the spacing has passed.
const presenceEvery = 100 * time.Millisecond

// presencePace is one session's presence pacing (h.mu).
type presencePace struct {
	last      time.Time // when the last paced presence went out
	scheduled bool      // a send at last+presenceEvery is pending
}

// presenceChanged tells local members and the other nodes, at most once per
// presenceEvery per session (the newest state then).
func (h *Hub) presenceChanged(sessionID string) {
	now := time.Now()
	h.mu.Lock()
	p := h.pace[sessionID]
	if p == nil {
		p = &presencePace{}
		h.pace[sessionID] = p
	}
	if p.scheduled {
		h.mu.Unlock()
		return
	}
	wait := presenceEvery - now.Sub(p.last)
	// While the hub closes, its connections leave one after another and
	// each leave goes out at once: the other nodes must hear the last one.
	if wait <= 0 || h.closing {
		p.last = now
		h.mu.Unlock()
		h.sendPresence(sessionID, true)
		return
	}
	p.scheduled = true
	h.mu.Unlock()
	time.AfterFunc(wait, func() {
		h.mu.Lock()
		p.scheduled, p.last = false, time.Now()
		h.mu.Unlock()
		h.sendPresence(sessionID, true)
	})
}

// forgetPace drops the pacing of sessions with no members here that sent
// nothing lately.
func (h *Hub) forgetPace() {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, p := range h.pace {
		if h.rooms[id] == nil && !p.scheduled && now.Sub(p.last) > presenceEvery {
			delete(h.pace, id)
		}
	}
}

func (h *Hub) sendPresence(sessionID string, publish bool) {
	h.mu.Lock()
	r := h.rooms[sessionID]
	var local []nodePresence
	var members []*conn
	var frame []byte
	if r != nil {
		for c := range r.members {
			local = append(local, c.presence())
			members = append(members, c)
		}
		entries := r.entries(h)
		frame, _ = json.Marshal(presenceMsg{Type: "presence", Participants: entries})
		if string(frame) == r.last {
			frame = nil
		} else {
			r.last = string(frame)
		}
	}
	h.mu.Unlock()
	for _, c := range members {
		if frame != nil {
			c.sendRaw(frame)
		}
	}
	if publish {
		env, _ := json.Marshal(sessionEnvelope{Node: h.node, Kind: "presence", Presence: local})
		if err := h.broker.Publish(context.Background(), "session:"+sessionID, env); err != nil {
			h.logger.Warn("publish presence", "session", sessionID, "err", err)
		}
	}
}

func (h *Hub) refreshPresence() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.rooms))
	for id := range h.rooms {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.sendPresence(id, true)
	}
}

// --- per-user delivery (notifications) -----------------------------------------

func (h *Hub) addUserConn(c *conn) {
	h.mu.Lock()
	set := h.users[c.user.ID]
	first := set == nil
	if first {
		set = map[*conn]struct{}{}
		h.users[c.user.ID] = set
	}
	set[c] = struct{}{}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	if first {
		uid := c.user.ID
		cancel, err := h.broker.Subscribe(h.ctx, "user:"+uid, func(p []byte) {
			h.mu.Lock()
			targets := make([]*conn, 0, len(h.users[uid]))
			for c := range h.users[uid] {
				targets = append(targets, c)
			}
			h.mu.Unlock()
			for _, c := range targets {
				c.sendRaw(p)
			}
		})
		if err != nil {
			h.logger.Warn("subscribe user", "err", err)
			return
		}
		h.mu.Lock()
		if _, still := h.users[uid]; still && h.userSubs[uid] == nil {
			h.userSubs[uid] = cancel
			cancel = nil
		}
		h.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	}
}

func (h *Hub) removeUserConn(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	set := h.users[c.user.ID]
	delete(set, c)
	var cancel func()
	if len(set) == 0 {
		delete(h.users, c.user.ID)
		cancel = h.userSubs[c.user.ID]
		delete(h.userSubs, c.user.ID)
	}
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

var _ runs.Publisher = (*Hub)(nil)

// RunEvent implements runs.Publisher: every participant of the session sees the run live.
func (h *Hub) RunEvent(ctx context.Context, sessionID string, ev runs.Event) {
	m := runMsg{Type: "run", Event: string(ev.Type), Run: ev.RunID, UserID: ev.UserID, Username: ev.Username,
		Position: ev.Position, Stream: ev.Stream, Data: ev.Data}
	if ev.Result != nil {
		r := httpapi.WireResult(ev.RunID, *ev.Result)
		m.Result = &r
	}
	frame, _ := json.Marshal(m)
	h.publishSession(ctx, sessionID, frame, "", "")
}
