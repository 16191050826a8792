package collab_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/codebuddy-dev/codebuddy/broker"
	"github.com/codebuddy-dev/codebuddy/collab"
)

// clock is the hub's time: real time plus what Advance added.
type clock struct{ skew atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().UTC().Add(time.Duration(c.skew.Load())) }
func (c *clock) Advance(d time.Duration) { c.skew.Add(int64(d)) }

func entry(m msg, userID string) *collab.PresenceEntry {
	for i := range m.Participants {
		if m.Participants[i].UserID == userID {
			return &m.Participants[i]
		}
	}
	return nil
}

// Presence frames of a session are paced: joins in quick succession share
// frames, and the last state is always sent. Here 20 people join a public
// session at once and the owner's presence ends listing all 21; then one
// change right after another (a leave just after a frame went out) still
// reaches the owner.
func TestPresenceOfABurstOfJoinsEndsComplete(t *testing.T) {
	e := newEnv(t, 1)
	owner := e.User("owner")
	s := e.Session(owner, true, "")
	others := make([]user, 20)
	for i := range others {
		others[i] = e.User(fmt.Sprintf("guest%02d", i))
	}
	co := e.Dial(owner)
	co.Join(s.ID)
	cs := make([]*client, len(others))
	for i, u := range others {
		cs[i] = e.Dial(u)
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); c.Send(map[string]any{"type": "join", "session": s.ID}) }()
	}
	wg.Wait()
	everyone := func(m msg) bool { return m.Type == "presence" && len(m.Participants) == 1+len(others) }
	co.Next("presence listing all 21", everyone)
	for _, c := range cs {
		c.Next("presence listing all 21", everyone)
	}
	frames := len(co.Frames("presence")) + 1
	t.Logf("the owner got %d presence frames for %d joins", frames, len(others))

	// Two changes in a row: the second falls within the spacing of the first.
	cs[0].Send(map[string]any{"type": "leave"})
	cs[1].Send(map[string]any{"type": "leave"})
	co.Next("presence without the two who left", func(m msg) bool {
		return m.Type == "presence" && len(m.Participants) == len(others)-1 && entry(m, others[0].ID) == nil && entry(m, others[1].ID) == nil
	})
}

// When a node shuts down, its members leave one after another within the
// presence spacing; the other nodes must still hear the last of them at once,
// not keep showing the departed until that node's entries go stale.
func TestPresenceAfterANodeShutsDown(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob, carol := e.User("alice"), e.User("bob"), e.User("carol")
	s := e.Session(alice, true, "")
	ca := e.DialNode(1, alice)
	ca.Join(s.ID)
	var cb *client
	for _, u := range []user{bob, carol} {
		cb = e.DialNode(0, u)
		cb.Join(s.ID)
	}
	ca.Next("presence with all three", func(m msg) bool { return m.Type == "presence" && len(m.Participants) == 3 })
	// A presence change on node0 right before it closes: the leaves that
	// follow all fall within the spacing.
	cb.Open(s.File)
	ca.Next("presence with carol in the file", func(m msg) bool { return m.Type == "presence" && hasUser(m, carol.ID, s.File) })
	forgetPresence(ca)
	e.Nodes[0].Hub.Close()
	ca.Next("presence with alice alone", func(m msg) bool {
		return m.Type == "presence" && len(m.Participants) == 1 && entry(m, alice.ID) != nil
	})
}

func TestPresence(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, 2, hubOption(func(o *collab.Options) { o.Now = clk.Now; o.IdleAfter = time.Minute }))
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "x\n")
	e.Invite(alice, s.ID, bob, "viewer")

	ca := e.DialNode(0, alice)
	j := ca.Join(s.ID)
	if j.Role != "owner" || len(j.Participants) != 1 || j.Participants[0].UserID != alice.ID {
		t.Fatalf("joined: role %q participants %+v", j.Role, j.Participants)
	}
	if c := j.Participants[0].Color; c != collab.Color(alice.ID) || c == "" {
		t.Errorf("alice's colour %q, want %q", c, collab.Color(alice.ID))
	}
	ca.Open(s.File)

	cb := e.DialNode(1, bob) // the other node: presence is merged over the broker
	cb.Join(s.ID)
	// The joined frame lists who that node knew; the others' nodes answer the newcomer at once.
	pb := cb.Next("presence with alice", func(m msg) bool { return m.Type == "presence" && entry(m, alice.ID) != nil })
	if a := entry(pb, alice.ID); a.Role != "owner" || len(a.Files) != 1 || a.Files[0] != s.File || a.State != "active" {
		t.Fatalf("bob sees alice as %+v", a)
	}
	m := ca.Next("presence with bob", func(m msg) bool { return m.Type == "presence" && entry(m, bob.ID) != nil })
	b := entry(m, bob.ID)
	if b.Role != "viewer" || b.Username != "bob" || len(b.Files) != 0 || b.Color != collab.Color(bob.ID) {
		t.Errorf("alice sees bob as %+v", b)
	}
	cb.Open(s.File)
	ca.Next("presence with bob in the file", func(m msg) bool { return m.Type == "presence" && hasUser(m, bob.ID, s.File) })

	// A second connection of alice is one entry, with the same colour.
	ca2 := e.DialNode(1, alice)
	j2 := ca2.Join(s.ID)
	n := 0
	for _, p := range j2.Participants {
		if p.UserID == alice.ID {
			n++
			if p.Color != collab.Color(alice.ID) {
				t.Errorf("alice's colour changed to %q", p.Color)
			}
		}
	}
	if n != 1 {
		t.Errorf("alice listed %d times: %+v", n, j2.Participants)
	}

	// Idle after IdleAfter without activity; active again on activity.
	forgetPresence(ca, cb)
	clk.Advance(2 * time.Minute)
	ca.Push(s.File, 1, "a", insert(2, 0, "a"))
	m = cb.Next("alice active, bob idle", func(m msg) bool {
		a, b := entry(m, alice.ID), entry(m, bob.ID)
		return m.Type == "presence" && a != nil && b != nil && a.State == "active" && b.State == "idle"
	})

	// Leaving removes bob from the list others see.
	cb.Send(map[string]any{"type": "leave"})
	presenceRole(ca, bob.ID, "")
	ca2.ws.Close(websocket.StatusNormalClosure, "")
	cb.Sync()
	if on := e.Nodes[0].Hub.Online(s.ID); !on[alice.ID] || on[bob.ID] {
		t.Errorf("online %v", on)
	}
}

func TestCursorsGoToViewersOfTheFileOnly(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob, carol := e.User("alice"), e.User("bob"), e.User("carol")
	s := e.Session(alice, false, "hello\n")
	e.Invite(alice, s.ID, bob, "viewer")
	e.Invite(alice, s.ID, carol, "editor")
	ca, cb, cc := e.DialNode(0, alice), e.DialNode(1, bob), e.DialNode(0, carol)
	for _, c := range []*client{ca, cb, cc} {
		c.Join(s.ID)
	}
	ca.Open(s.File)
	cb.Open(s.File) // carol has not opened it

	sel := map[string]any{"main": 0, "ranges": []any{map[string]any{"anchor": 1, "head": 3}}}
	ca.Send(map[string]any{"type": "cursor", "file": s.File, "version": 1, "selection": sel})
	m := cb.Type("cursor")
	if m.UserID != alice.ID || m.fileID() != s.File || m.Version != 1 || m.Color != collab.Color(alice.ID) ||
		m.Selection == nil || len(m.Selection.Ranges) != 1 || m.Selection.Ranges[0] != (collab.SelRange{Anchor: 1, Head: 3}) {
		t.Errorf("bob got cursor %s", m.Raw)
	}
	// A viewer's cursor is shown too.
	cb.Send(map[string]any{"type": "cursor", "file": s.File, "version": 1, "selection": sel})
	if m := ca.Type("cursor"); m.UserID != bob.ID {
		t.Errorf("alice got cursor %s", m.Raw)
	}
	ca.Sync()
	cb.Sync()
	cc.Sync()
	if got := cc.Frames("cursor"); len(got) != 0 {
		t.Errorf("carol, without the file open, got %d cursors", len(got))
	}
	for _, m := range ca.Frames("cursor") {
		if m.UserID == alice.ID {
			t.Errorf("alice got her own cursor back")
		}
	}
	// Cursors are not changes.
	if _, v := e.Content(alice, s.File); v != 1 {
		t.Errorf("version %d after cursors, want 1", v)
	}
	var h struct{ Updates []json.RawMessage }
	e.JSON(alice, http.MethodGet, "/api/files/"+s.File+"/history?from=0", nil, http.StatusOK, &h)
	if len(h.Updates) != 1 {
		t.Errorf("history has %d updates after cursors, want 1", len(h.Updates))
	}
}

func TestChatIsStoredAndBroadcast(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "")
	e.Invite(alice, s.ID, bob, "viewer")
	ca, cb := e.DialNode(0, alice), e.DialNode(1, bob)
	ca.Join(s.ID)
	cb.Join(s.ID)

	type wireMsg struct {
		ID, UserID, Username, Content string
		CreatedAt                     time.Time
	}
	chatOf := func(m msg) wireMsg {
		var w wireMsg
		_ = json.Unmarshal(m.Message, &w)
		return w
	}
	cb.Send(map[string]any{"type": "chat", "text": "hi <b>all</b> 👋"}) // a viewer may chat
	for _, c := range []*client{ca, cb} {
		w := chatOf(c.Type("chat"))
		if w.Content != "hi <b>all</b> 👋" || w.UserID != bob.ID || w.Username != "bob" || w.ID == "" || w.CreatedAt.IsZero() {
			t.Errorf("%s got chat %+v", c.name, w)
		}
	}
	// Posted over REST: broadcast the same way.
	e.JSON(alice, http.MethodPost, "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "from rest"}, http.StatusCreated, nil)
	if w := chatOf(cb.Type("chat")); w.Content != "from rest" || w.UserID != alice.ID {
		t.Errorf("bob got %+v", w)
	}
	var page struct{ Messages []wireMsg }
	e.JSON(bob, http.MethodGet, "/api/sessions/"+s.ID+"/messages", nil, http.StatusOK, &page)
	if len(page.Messages) != 2 || page.Messages[0].Content != "from rest" || page.Messages[1].Content != "hi <b>all</b> 👋" {
		t.Errorf("stored messages %+v", page.Messages)
	}
	// Someone not joined gets nothing.
	outsider := e.Dial(e.User("carol"))
	outsider.Send(map[string]any{"type": "chat", "text": "x"})
	outsider.Error("not_joined")
	outsider.Sync()
	if len(outsider.Frames("chat")) != 0 {
		t.Error("outsider got chat")
	}
}

func TestFileTreeEvents(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "")
	e.Invite(alice, s.ID, bob, "editor")
	ca, cb := e.DialNode(0, alice), e.DialNode(1, bob)
	ca.Join(s.ID)
	cb.Join(s.ID)

	type wireFile struct {
		ID, Name, Path string
		IsFolder       bool
		Content        *string
	}
	event := func(c *client, ev string) wireFile {
		t.Helper()
		m := c.Next("files "+ev, func(m msg) bool { return m.Type == "files" && m.Event == ev })
		var f wireFile
		_ = json.Unmarshal(m.File, &f)
		if f.Content != nil {
			t.Errorf("files event carries content: %s", m.Raw)
		}
		return f
	}
	var dir, file wireFile
	e.JSON(bob, http.MethodPost, "/api/sessions/"+s.ID+"/folders", map[string]any{"name": "lib"}, http.StatusCreated, &dir)
	e.JSON(bob, http.MethodPost, "/api/sessions/"+s.ID+"/files", map[string]any{"name": "a.py", "parentId": dir.ID, "content": "secret"}, http.StatusCreated, &file)
	for _, c := range []*client{ca, cb} {
		if f := event(c, "created"); f.ID != dir.ID || !f.IsFolder {
			t.Errorf("%s: first created %+v", c.name, f)
		}
		if f := event(c, "created"); f.ID != file.ID || f.Path != "lib/a.py" {
			t.Errorf("%s: second created %+v", c.name, f)
		}
	}
	e.JSON(alice, http.MethodPatch, "/api/files/"+file.ID, map[string]any{"name": "b.py"}, http.StatusOK, nil)
	if f := event(cb, "renamed"); f.ID != file.ID || f.Path != "lib/b.py" {
		t.Errorf("renamed %+v", f)
	}
	e.JSON(alice, http.MethodDelete, "/api/files/"+dir.ID, nil, http.StatusNoContent, nil)
	if f := event(cb, "deleted"); f.ID != dir.ID {
		t.Errorf("deleted %+v", f)
	}
}

func TestNotificationsReachTheUsersConnections(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "")
	// alice is connected twice, on both nodes, joined to nothing.
	a0, a1 := e.DialNode(0, alice), e.DialNode(1, alice)
	b0 := e.DialNode(1, bob)
	a0.Sync()
	a1.Sync()
	e.JSON(bob, http.MethodPost, "/api/sessions/"+s.ID+"/requests", map[string]any{"message": "let me in"}, http.StatusCreated, nil)
	for _, c := range []*client{a0, a1} {
		m := c.Type("notification")
		var n struct{ ID, Kind, Body string }
		_ = json.Unmarshal(m.Notification, &n)
		if n.Kind != "access_requested" || n.Body != "let me in" || n.ID == "" {
			t.Errorf("%s got %s", c.name, m.Raw)
		}
	}
	b0.Sync()
	if len(b0.Frames("notification")) != 0 {
		t.Error("bob got alice's notification")
	}
}

func TestHistoryAndContentAt(t *testing.T) {
	e := newEnv(t, 1, hubOption(func(o *collab.Options) { o.SnapshotEvery = 2 }))
	alice := e.User("alice")
	s := e.Session(alice, false, "ab") // version 1
	c := e.Dial(alice)
	c.Join(s.ID)
	c.Open(s.File)
	texts := []string{"print('hi')\n", "ab"}
	doc := "ab"
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("c%d", i)
		c.Push(s.File, int64(i+1), id, insert(len(doc), len(doc), fmt.Sprint(i)))
		c.Ack(s.File, id)
		doc += fmt.Sprint(i)
		texts = append(texts, doc)
	}
	// texts[v] is the content at version v (0 is the starter file).
	type hist struct {
		Version   int64
		ClientID  string
		UserID    string
		Changes   json.RawMessage
		CreatedAt time.Time
	}
	var all struct{ Updates []hist }
	e.JSON(alice, http.MethodGet, "/api/files/"+s.File+"/history?from=0", nil, http.StatusOK, &all)
	if len(all.Updates) != 6 {
		t.Fatalf("history has %d updates, want 6", len(all.Updates))
	}
	for i, u := range all.Updates {
		if u.Version != int64(i+1) || u.UserID != alice.ID || u.CreatedAt.IsZero() {
			t.Errorf("history[%d] = %+v", i, u)
		}
		if i > 0 && u.ClientID != fmt.Sprintf("c%d", i-1) {
			t.Errorf("history[%d] clientId %q", i, u.ClientID)
		}
	}
	var page struct{ Updates []hist }
	e.JSON(alice, http.MethodGet, "/api/files/"+s.File+"/history?from=2&to=4", nil, http.StatusOK, &page)
	if len(page.Updates) != 2 || page.Updates[0].Version != 3 || page.Updates[1].Version != 4 {
		t.Errorf("from=2&to=4 gave %+v", page.Updates)
	}
	type content struct {
		Version int64
		Content string
	}
	for v := range texts {
		var got content
		e.JSON(alice, http.MethodGet, fmt.Sprintf("/api/files/%s/content?version=%d", s.File, v), nil, http.StatusOK, &got)
		if got.Version != int64(v) || got.Content != texts[v] {
			t.Errorf("version %d: got v%d %q, want %q", v, got.Version, got.Content, texts[v])
		}
	}
	// At a time: the last version created at or before it.
	for _, u := range all.Updates {
		at := u.CreatedAt.Format(time.RFC3339Nano)
		want := int64(0)
		for _, w := range all.Updates {
			if !w.CreatedAt.After(u.CreatedAt) {
				want = w.Version
			}
		}
		var got content
		e.JSON(alice, http.MethodGet, "/api/files/"+s.File+"/content?at="+url.QueryEscape(at), nil, http.StatusOK, &got)
		if got.Version != want || got.Content != texts[want] {
			t.Errorf("at %s: got v%d %q, want v%d", at, got.Version, got.Content, want)
		}
	}
	var before content
	e.JSON(alice, http.MethodGet, "/api/files/"+s.File+"/content?at=2000-01-01T00:00:00Z", nil, http.StatusOK, &before)
	if before.Version != 0 || before.Content != texts[0] {
		t.Errorf("before everything: %+v", before)
	}
	for _, q := range []string{"version=7", "", "at=yesterday", "version=-5"} {
		if status, body := e.Do(alice, http.MethodGet, "/api/files/"+s.File+"/content?"+q, nil); status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
			t.Errorf("content?%s: %d %s", q, status, body)
		}
	}
	outsider := e.User("mallory")
	for _, p := range []string{"/history?from=0", "/content?version=1"} {
		if status, _ := e.Do(outsider, http.MethodGet, "/api/files/"+s.File+p, nil); status != http.StatusNotFound {
			t.Errorf("outsider %s: %d, want 404", p, status)
		}
	}
}

func TestRESTContentReplacementGoesThroughTheLog(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "one\n")
	e.Invite(alice, s.ID, bob, "viewer")
	cb := e.DialNode(1, bob)
	cb.Join(s.ID)
	cb.Open(s.File)

	var f struct {
		Version int64
		Content string
	}
	e.JSON(alice, http.MethodPatch, "/api/files/"+s.File, map[string]any{"content": "one\ntwo\n", "baseVersion": 1}, http.StatusOK, &f)
	if f.Version != 2 || f.Content != "one\ntwo\n" {
		t.Errorf("PATCH answered %+v", f)
	}
	m := cb.Type("updates")
	if m.Version != 1 || len(m.Updates) != 1 || m.Updates[0].UserID != alice.ID {
		t.Fatalf("bob got %s", m.Raw)
	}
	// A stale base version is a conflict and changes nothing.
	if status, body := e.Do(alice, http.MethodPatch, "/api/files/"+s.File, map[string]any{"content": "x", "baseVersion": 1}); status != http.StatusConflict {
		t.Errorf("stale baseVersion: %d %s", status, body)
	}
	// A viewer cannot replace it.
	if status, _ := e.Do(bob, http.MethodPatch, "/api/files/"+s.File, map[string]any{"content": "x", "baseVersion": 2}); status != http.StatusForbidden {
		t.Errorf("viewer PATCH: %d", status)
	}
	cb.Sync()
	if n := len(cb.Frames("updates")); n != 0 {
		t.Errorf("bob got %d more updates frames", n)
	}
	if got, v := e.Content(bob, s.File); got != "one\ntwo\n" || v != 2 {
		t.Errorf("content %q v%d", got, v)
	}
	var h struct{ Updates []struct{ Version int64 } }
	e.JSON(alice, http.MethodGet, "/api/files/"+s.File+"/history?from=0", nil, http.StatusOK, &h)
	if len(h.Updates) != 2 {
		t.Errorf("history %+v", h.Updates)
	}
}

// TestResentUpdatesAreNotAppliedTwice: a client whose acknowledgement was lost
// reconnects and pushes its unconfirmed updates again from its old version; the
// ones already committed are recognised by clientID (as @codemirror/collab's
// rebaseUpdates does) and only the rest is applied, also when the base version
// lies before everything the serving node keeps in memory.
func TestResentUpdatesAreNotAppliedTwice(t *testing.T) {
	e := newEnv(t, 2, hubOption(func(o *collab.Options) { o.SnapshotEvery = 2 }))
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "abc") // version 1
	e.Invite(alice, s.ID, bob, "editor")
	ca := e.DialNode(0, alice)
	ca.Join(s.ID)
	ca.Open(s.File)
	doc := "abc"

	for _, tc := range []struct {
		name string
		node int
	}{{"same node", 0}, {"node that loads the file from a later snapshot", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			e.in(t, ca)
			cid := fmt.Sprintf("bob-%d", tc.node) // one editor instance
			b1 := e.DialNode(0, bob)
			b1.Join(s.ID)
			base := b1.Open(s.File).Version
			u1 := insert(len(doc), 0, "X")
			b1.Push(s.File, base, cid, u1)
			ca.Ack(s.File, cid) // bob's connection drops before he reads the ack
			b1.ws.CloseNow()
			doc = "X" + doc

			// Others keep typing, with snapshots on the way.
			_, v := e.Content(alice, s.File)
			for i := 0; i < 4; i++ {
				id := fmt.Sprintf("%s-alice-%d", tc.name, i)
				ca.Push(s.File, v, id, insert(len(doc), len(doc), "z"))
				v = ca.Ack(s.File, id)
				doc += "z"
			}

			b2 := e.DialNode(tc.node, bob)
			b2.Join(s.ID)
			b2.Open(s.File)
			// Resent from the old base: the first update again, then a new one made after it.
			b2.Send(map[string]any{"type": "push", "file": s.File, "version": base, "updates": []map[string]any{
				{"clientID": cid, "changes": u1},
				{"clientID": cid, "changes": insert(len(doc)-4, 1, "Y")}, // after the X, on bob's old text
			}})
			m := b2.Next("ack", func(m msg) bool { return m.Type == "updates" && len(m.Updates) > 0 && m.Updates[0].ClientID == cid })
			if len(m.Updates) != 1 || m.Version != v {
				t.Errorf("committed %s, want one update after version %d", m.Raw, v)
			}
			doc = "XY" + doc[1:]
			if got, gv := e.Content(alice, s.File); got != doc || gv != v+1 {
				t.Errorf("content %q v%d, want %q v%d", got, gv, doc, v+1)
			}
			// Resending only what is committed commits nothing; a pull shows it.
			b2.Send(map[string]any{"type": "push", "file": s.File, "version": base, "updates": []map[string]any{{"clientID": cid, "changes": u1}}})
			b2.Send(map[string]any{"type": "pull", "file": s.File, "version": base})
			p := b2.Next("pull", func(m msg) bool { return m.Type == "updates" && m.Version == base })
			if len(p.Updates) != int(v+1-base) || p.Updates[0].ClientID != cid {
				t.Errorf("pull from %d gave %s", base, p.Raw)
			}
			if got, gv := e.Content(alice, s.File); got != doc || gv != v+1 {
				t.Errorf("after a duplicate push: %q v%d, want %q v%d", got, gv, doc, v+1)
			}
			b2.ws.Close(websocket.StatusNormalClosure, "")
		})
	}
}

func TestShutdownSaysGoingAway(t *testing.T) {
	e := newEnv(t, 1)
	alice := e.User("alice")
	s := e.Session(alice, false, "x")
	c := e.Dial(alice)
	c.Join(s.ID)
	c.Open(s.File)
	e.Nodes[0].Hub.Close()
	if code := c.Closed(); code != websocket.StatusGoingAway {
		t.Errorf("close code %v, want going away", code)
	}
}

// A client that saw updates this node never heard of (another node committed
// them and the broadcast was lost) pulls from their version: the node reads
// them from the log instead of answering that the version is ahead, which left
// the client waiting for ever.
func TestPullAheadOfTheNodeReadsTheLog(t *testing.T) {
	// Each node has its own broker, so node1 never hears what node0 commits.
	e := newEnv(t, 2, hubOption(func(o *collab.Options) {
		b := broker.NewMemory()
		t.Cleanup(func() { b.Close() })
		o.Broker = b
	}))
	alice := e.User("alice")
	s := e.Session(alice, false, "abc")
	late := e.DialNode(1, alice)
	late.Join(s.ID)
	v0 := late.Open(s.File).Version

	writer := e.DialNode(0, alice)
	writer.Join(s.ID)
	writer.Open(s.File)
	writer.Push(s.File, v0, "w1", insert(3, 3, "d"))
	v := writer.Ack(s.File, "w1")

	late.Send(map[string]any{"type": "pull", "file": s.File, "version": v})
	late.Ack(s.File, "w1")
	late.Sync()
	if errs := late.Frames("error"); len(errs) != 0 {
		t.Fatalf("pull from a version the node had not reached: %s", errs[0].Raw)
	}
	if text, version := e.Content(alice, s.File); text != "abcd" || version != v {
		t.Fatalf("content %q at %d, want abcd at %d", text, version, v)
	}
}

// A client back after more updates than a document keeps in memory pulls them
// from the log, in order and in several frames, never a fresh copy of the
// file: a fresh copy would throw away its unconfirmed edits.
func TestPullFarBehindGetsTheUpdatesFromTheLog(t *testing.T) {
	e := newEnv(t, 1)
	alice := e.User("alice")
	s := e.Session(alice, false, "")
	away := e.Dial(alice)
	away.Join(s.ID)
	v0 := away.Open(s.File).Version
	text, _ := e.Content(alice, s.File)
	n := len(text) // the starter code is ASCII: bytes are UTF-16 units

	writer := e.Dial(alice)
	writer.Join(s.ID)
	writer.Open(s.File)
	v, _ := writer.PushInserts(s.File, v0, n, 1400) // more than the 1000 kept in memory

	// The broadcasts reach each connection in its own time: the writer's ack
	// says nothing about when away's copy of the last one is queued, so wait
	// for it before forgetting what was broadcast.
	away.Next("the broadcast of the last push", func(m msg) bool {
		return m.Type == "updates" && m.fileID() == s.File && m.Version+int64(len(m.Updates)) == v
	})
	away.Drain()
	away.Send(map[string]any{"type": "pull", "file": s.File, "version": v0})
	next := v0
	frames := 0
	for next < v {
		m := away.Next("pull answer", func(m msg) bool { return (m.Type == "updates" || m.Type == "doc") && m.fileID() == s.File })
		if m.Type == "doc" {
			t.Fatalf("pull from %d of %d answered with a fresh copy at %d", v0, v, m.Version)
		}
		if m.Version != next {
			t.Fatalf("pull frame starts at %d, want %d", m.Version, next)
		}
		next += int64(len(m.Updates))
		frames++
	}
	if next != v || frames < 3 {
		t.Fatalf("pull gave updates up to %d in %d frames, want %d in several", next, frames, v)
	}
}

// A push based on a version more than 1000 updates old is not rebased: the
// client has not read the updates already sent to it. It is deferred like a
// rate limit, the document is unchanged, and once the client has caught up
// the same edit is accepted.
func TestPushFarBehindIsDeferredUntilTheClientCatchesUp(t *testing.T) {
	e := newEnv(t, 1)
	alice := e.User("alice")
	s := e.Session(alice, false, "")
	late := e.Dial(alice)
	late.Join(s.ID)
	v0 := late.Open(s.File).Version
	text, _ := e.Content(alice, s.File)
	n := len(text) // the starter code is ASCII: bytes are UTF-16 units

	writer := e.Dial(alice)
	writer.Join(s.ID)
	writer.Open(s.File)
	v, n := writer.PushInserts(s.File, v0, n, 1200)
	before, bv := e.Content(alice, s.File)

	// Based on v0, 1200 behind: deferred, nothing committed.
	late.Push(s.File, v0, "late", insert(len(text), 0, "L"))
	m := late.Error("rate_limited")
	if m.fileID() != s.File || !strings.Contains(m.text(), "1200 versions behind") {
		t.Fatalf("error frame %s", m.Raw)
	}
	if after, av := e.Content(alice, s.File); after != before || av != bv {
		t.Fatalf("a deferred push changed the file: version %d -> %d", bv, av)
	}
	// 1000 behind (the most allowed): rebased and accepted.
	late.Push(s.File, v-1000, "late", insert(n-1000, n-1000, "L"))
	if got := late.Ack(s.File, "late"); got != v+1 {
		t.Fatalf("push 1000 behind committed as version %d, want %d", got, v+1)
	}
	if after, _ := e.Content(alice, s.File); after != before+"L" {
		t.Fatalf("file after the accepted push ends %q", after[max(0, len(after)-10):])
	}
}

// The rebasing an account's pushes cost the server is bounded per second:
// a push that would cost more than its budget has left is deferred and
// changes nothing, and cheap pushes go on being accepted.
func TestRebaseWorkIsBounded(t *testing.T) {
	e := newEnv(t, 1, hubOption(func(o *collab.Options) { o.RebaseSteps = 1000 })) // bursts of 2000
	alice := e.User("alice")
	s := e.Session(alice, false, "")
	old := e.Dial(alice)
	old.Join(s.ID)
	v0 := old.Open(s.File).Version
	text, _ := e.Content(alice, s.File)
	n0 := len(text) // the starter code is ASCII: bytes are UTF-16 units

	writer := e.Dial(alice)
	writer.Join(s.ID)
	writer.Open(s.File)
	v, _ := writer.PushInserts(s.File, v0, n0, 100)
	before, bv := e.Content(alice, s.File)

	// 50 updates based 100 versions back: 5000 steps, more than a burst.
	heavy := make([]map[string]any, 50)
	for i := range heavy {
		heavy[i] = map[string]any{"clientID": "old", "changes": insert(n0+i, n0+i, "y")}
	}
	old.Send(map[string]any{"type": "push", "file": s.File, "version": v0, "updates": heavy})
	m := old.Error("rate_limited")
	if m.fileID() != s.File || !strings.Contains(m.text(), "5000 rebase steps") {
		t.Fatalf("error frame %s", m.Raw)
	}
	if after, av := e.Content(alice, s.File); after != before || av != bv {
		t.Fatalf("a refused push changed the file: version %d -> %d", bv, av)
	}
	// One update 100 back (100 steps) fits.
	old.Push(s.File, v0, "old", insert(n0, n0, "y"))
	if got := old.Ack(s.File, "old"); got != v+1 {
		t.Fatalf("cheap push committed as version %d, want %d", got, v+1)
	}
}

// The rebase budget belongs to the account, not to a connection: a second
// connection of the same user gets what the first left, while another user
// has a budget of their own.
func TestRebaseWorkIsBoundedPerAccount(t *testing.T) {
	e := newEnv(t, 1, hubOption(func(o *collab.Options) { o.RebaseSteps = 1000 })) // bursts of 2000
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, false, "")
	e.Invite(alice, s.ID, bob, "editor")
	a1, a2, b := e.Dial(alice), e.Dial(alice), e.Dial(bob)
	var v0 int64
	for _, c := range []*client{a1, a2, b} {
		c.Join(s.ID)
		v0 = c.Open(s.File).Version
	}
	text, _ := e.Content(alice, s.File)
	n0 := len(text)
	v, _ := b.PushInserts(s.File, v0, n0, 100) // bob's pushes, each on the newest version

	heavy := func(id string) []map[string]any { // 16 updates based 100+ versions back: 1600-1856 steps
		ups := make([]map[string]any, 16)
		for i := range ups {
			ups[i] = map[string]any{"clientID": id, "changes": insert(n0+i, n0+i, "y")}
		}
		return ups
	}
	a1.Send(map[string]any{"type": "push", "file": s.File, "version": v0, "updates": heavy("a1")})
	if got := a1.Ack(s.File, "a1"); got != v+1 { // the version of its first update
		t.Fatalf("alice's first heavy push committed from version %d, want %d", got, v+1)
	}
	v += 16
	a2.Send(map[string]any{"type": "push", "file": s.File, "version": v0, "updates": heavy("a2")})
	if m := a2.Error("rate_limited"); !strings.Contains(m.text(), "rebase steps") {
		t.Fatalf("alice's second connection: %s", m.Raw)
	}
	b.Send(map[string]any{"type": "push", "file": s.File, "version": v0, "updates": heavy("b")})
	if got := b.Ack(s.File, "b"); got != v+1 {
		t.Fatalf("bob's heavy push committed from version %d, want %d", got, v+1)
	}
}
