package collabclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf16"

	"github.com/codebuddy-dev/codebuddy/ot"
)

// Doc is one open file: the server version the client has confirmed, the
// local text (the server's text at that version plus the unconfirmed local
// edits) and the unconfirmed edits themselves. Its fields are guarded by the
// client's lock.
type Doc struct {
	c        *Client
	file     string
	clientID string

	doc         *ot.Doc // nil until the first "doc" frame
	version     int64
	unconfirmed []localUpdate
	synced      bool // false while loading or offline
	inFlight    int  // updates of the last push not yet acknowledged
	pullFrom    int64
	resetOnDoc  bool
	readOnly    bool
	ahead       map[int64]receivedUpdate
	retry       bool // a deferred push waits for its timer
	openErr     error
}

// localUpdate is an unconfirmed local edit. Each applies to the text the
// previous one produced, the first to the server's text at Doc.version.
type localUpdate struct {
	changes  *ot.ChangeSet
	pushedAt time.Time // zero until first pushed
}

type receivedUpdate struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
	UserID   string          `json:"userId"`
}

func newDoc(c *Client, file string) *Doc {
	return &Doc{c: c, file: file, clientID: newClientID(), pullFrom: -1, ahead: map[int64]receivedUpdate{}}
}

// File is the file's ID.
func (d *Doc) File() string { return d.file }

// ClientID identifies this document's edits in the server's history
// (CodeMirror collab's clientID); it stays the same across reconnects.
func (d *Doc) ClientID() string { return d.clientID }

// Text is the local text: the confirmed text with unconfirmed edits applied.
func (d *Doc) Text() string {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	if d.doc == nil {
		return ""
	}
	return d.doc.String()
}

// Len is the local text's length in UTF-16 code units.
func (d *Doc) Len() int {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	if d.doc == nil {
		return 0
	}
	return d.doc.Len()
}

// Version is the last server version applied (confirmed).
func (d *Doc) Version() int64 {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	return d.version
}

// Pending is the number of local edits the server has not acknowledged.
func (d *Doc) Pending() int {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	return len(d.unconfirmed)
}

// State is a consistent view of a Doc's progress.
type State struct {
	Version  int64 // confirmed server version
	Pending  int   // unconfirmed local edits
	InFlight int   // of which pushed and not yet acknowledged
	Synced   bool  // connected, loaded and not waiting for a pull
	Len      int   // local text length in UTF-16 units
}

func (d *Doc) stateLocked() State {
	s := State{Version: d.version, Pending: len(d.unconfirmed), InFlight: d.inFlight,
		Synced: d.synced && d.pullFrom < 0 && len(d.ahead) == 0 && d.doc != nil}
	if d.doc != nil {
		s.Len = d.doc.Len()
	}
	return s
}

// State returns the document's progress.
func (d *Doc) State() State {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	return d.stateLocked()
}

// Wait blocks until cond holds for the document's state, ctx ends or the
// client is closed.
func (d *Doc) Wait(ctx context.Context, cond func(State) bool) error {
	return d.c.wait(ctx, func() (bool, error) { return cond(d.stateLocked()), nil })
}

// WaitConfirmed waits until every local edit is acknowledged and no pull is
// outstanding (needs a connection to make progress).
func (d *Doc) WaitConfirmed(ctx context.Context) error {
	return d.Wait(ctx, func(s State) bool { return s.Synced && s.Pending == 0 })
}

// WaitVersion waits until the document has applied server version v.
func (d *Doc) WaitVersion(ctx context.Context, v int64) error {
	return d.Wait(ctx, func(s State) bool { return s.Synced && s.Version >= v })
}

// ErrReadOnly is returned for an edit while the user may only view.
var ErrReadOnly = errors.New("read-only: the session role does not allow editing")

// Apply applies a local edit; cs must start from the current local text
// (cs.LenBefore() == Len(), else ot.ErrLengthMismatch). It is pushed at once
// if no push is in flight, otherwise after the acknowledgement.
func (d *Doc) Apply(cs *ot.ChangeSet) error {
	return d.Edit(func([]uint16) (*ot.ChangeSet, error) { return cs, nil })
}

// Edit builds a local edit from the current local text, given as UTF-16
// code units (the unit change positions count in), and applies it; no
// update can arrive in between. fn must not keep units. A nil change set
// changes nothing.
func (d *Doc) Edit(fn func(units []uint16) (*ot.ChangeSet, error)) error {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.doc == nil {
		return errors.New("document not loaded")
	}
	if d.readOnly {
		return ErrReadOnly
	}
	cs, err := fn(utf16.Encode([]rune(d.doc.String())))
	if err != nil || cs == nil || cs.Empty() {
		return err
	}
	if err := d.doc.Apply(cs); err != nil {
		return err
	}
	d.unconfirmed = append(d.unconfirmed, localUpdate{changes: cs})
	d.flush()
	c.notifyLocked()
	return nil
}

// Insert inserts s at pos (UTF-16 units), clamped to the text and moved off
// the middle of a surrogate pair.
func (d *Doc) Insert(pos int, s string) error {
	return d.Edit(func(u []uint16) (*ot.ChangeSet, error) {
		pos = snap(u, pos)
		return ot.New(len(u), ot.Change{From: pos, To: pos, Insert: s})
	})
}

// Replace replaces from..to (UTF-16 units) with s; the range is clamped and
// widened so it never splits a surrogate pair.
func (d *Doc) Replace(from, to int, s string) error {
	return d.Edit(func(u []uint16) (*ot.ChangeSet, error) {
		from, to = snap(u, from), snap(u, to)
		if to < from {
			from, to = to, from
		}
		return ot.New(len(u), ot.Change{From: from, To: to, Insert: s})
	})
}

// snap clamps pos to [0, len(u)] and moves it before a low surrogate.
func snap(u []uint16, pos int) int {
	pos = max(0, min(pos, len(u)))
	if pos > 0 && pos < len(u) && u[pos] >= 0xdc00 && u[pos] < 0xe000 && u[pos-1] >= 0xd800 && u[pos-1] < 0xdc00 {
		pos--
	}
	return pos
}

// open (re)subscribes; the server answers with "doc".
func (d *Doc) open() {
	d.c.sendLocked(map[string]any{"type": "open", "file": d.file})
}

func (d *Doc) connectionLost() {
	d.synced = false
	d.inFlight = 0
	d.pullFrom = -1
	clear(d.ahead)
}

func (d *Doc) handleDoc(version int64, content string, after *[]func()) {
	if d.doc == nil {
		d.doc, d.version, d.synced = ot.NewDoc(content), version, true
		d.resetOnDoc, d.openErr = false, nil
		d.drain(after)
		return
	}
	if d.pullFrom >= 0 || d.resetOnDoc || version < d.version {
		// The server no longer has the history after our version (a pull
		// answered with a doc), or we sent something it refused for good,
		// or it is behind us: its text wins and unconfirmed edits go.
		if len(d.unconfirmed) > 0 && d.c.opts.OnDiscard != nil {
			file, text, fn := d.file, d.doc.String(), d.c.opts.OnDiscard
			*after = append(*after, func() { fn(file, text) })
		}
		d.pullFrom, d.resetOnDoc = -1, false
		d.unconfirmed, d.inFlight = nil, 0
		d.doc, d.version, d.synced = ot.NewDoc(content), version, true
		d.drain(after)
		return
	}
	// A re-open after a reconnect: keep the unconfirmed edits and fetch
	// what happened meanwhile.
	d.synced = true
	if version > d.version {
		d.pull()
	} else {
		d.flush()
	}
}

func (d *Doc) handleUpdates(version int64, ups []receivedUpdate, after *[]func()) {
	if d.doc == nil {
		return
	}
	for i, u := range ups {
		if _, ok := d.ahead[version+int64(i)]; !ok {
			d.ahead[version+int64(i)] = u
		}
	}
	// Broadcasts and pull answers look alike; the answer starts where we asked.
	if version == d.pullFrom {
		d.pullFrom = -1
	}
	d.drain(after)
}

// drain applies buffered updates in version order, one at a time.
func (d *Doc) drain(after *[]func()) {
	for v := range d.ahead {
		if v < d.version {
			delete(d.ahead, v)
		}
	}
	applied := false
	for {
		u, ok := d.ahead[d.version]
		if !ok {
			break
		}
		delete(d.ahead, d.version)
		if err := d.receive(u, after); err != nil {
			// The server sent something that does not fit: start over from its document.
			clear(d.ahead)
			d.pullFrom, d.resetOnDoc, d.synced = -1, true, false
			d.inFlight = 0
			d.open()
			return
		}
		applied = true
	}
	if len(d.ahead) > 0 {
		d.pull()
	}
	if applied {
		d.flush()
	}
}

// receive applies one server update as @codemirror/collab's receiveUpdates
// does for a single update.
func (d *Doc) receive(u receivedUpdate, after *[]func()) error {
	cs, err := ot.Parse(u.Changes, ot.Limits{})
	if err != nil {
		return err
	}
	base := d.doc.Len()
	if len(d.unconfirmed) > 0 {
		base = d.unconfirmed[0].changes.LenBefore()
	}
	if cs.LenBefore() != base {
		return fmt.Errorf("update of length %d for a document of length %d: %w", cs.LenBefore(), base, ot.ErrLengthMismatch)
	}
	if len(d.unconfirmed) > 0 && u.ClientID == d.clientID {
		// Our oldest unconfirmed edit, acknowledged: the local text has it already.
		own := d.unconfirmed[0]
		d.unconfirmed = d.unconfirmed[1:]
		if d.inFlight > 0 {
			d.inFlight--
		}
		d.version++
		if fn := d.c.opts.OnAck; fn != nil {
			a := Ack{File: d.file, Version: d.version, ClientID: u.ClientID, Changes: append(json.RawMessage(nil), u.Changes...)}
			if !own.pushedAt.IsZero() {
				a.Latency = time.Since(own.pushedAt)
			}
			*after = append(*after, func() { fn(a) })
		}
		return nil
	}
	// Someone else's: map each unconfirmed edit over it and it over them.
	changes := cs
	next := make([]localUpdate, len(d.unconfirmed))
	for i, l := range d.unconfirmed {
		mapped, err := l.changes.Map(changes, false)
		if err != nil {
			return err
		}
		if changes, err = changes.Map(l.changes, true); err != nil {
			return err
		}
		next[i] = localUpdate{changes: mapped, pushedAt: l.pushedAt}
	}
	if err := d.doc.Apply(changes); err != nil {
		return err
	}
	d.unconfirmed = next
	d.version++
	return nil
}

// flush pushes the unconfirmed edits when nothing is in flight.
func (d *Doc) flush() {
	if d.doc == nil || !d.synced || d.inFlight > 0 || d.pullFrom >= 0 || d.readOnly || d.retry || len(d.unconfirmed) == 0 {
		return
	}
	n := min(len(d.unconfirmed), d.c.opts.MaxPushUpdates)
	ups := make([]map[string]any, n)
	now := time.Now()
	for i, l := range d.unconfirmed[:n] {
		ups[i] = map[string]any{"clientID": d.clientID, "changes": l.changes}
	}
	if d.c.sendLocked(map[string]any{"type": "push", "file": d.file, "version": d.version, "updates": ups}) {
		d.inFlight = n
		for i := range d.unconfirmed[:n] {
			if d.unconfirmed[i].pushedAt.IsZero() {
				d.unconfirmed[i].pushedAt = now
			}
		}
	}
}

func (d *Doc) pull() {
	if d.doc == nil || d.pullFrom >= 0 {
		return
	}
	if d.c.sendLocked(map[string]any{"type": "pull", "file": d.file, "version": d.version}) {
		d.pullFrom = d.version
	}
}

// pushRefused: the server will never accept our edits; reload its document.
func (d *Doc) pushRefused() {
	if d.doc == nil {
		return
	}
	d.inFlight = 0
	clear(d.ahead)
	d.pullFrom, d.resetOnDoc, d.synced = -1, true, false
	d.open()
}

// scheduleRetry resends a deferred push after the retry delay.
func (d *Doc) scheduleRetry() {
	if d.retry {
		return
	}
	d.retry = true
	c := d.c
	time.AfterFunc(c.opts.RetryDelay, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		d.retry = false
		d.flush()
		c.notifyLocked()
	})
}
