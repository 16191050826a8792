package collab_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// forgetPresence drops the presence frames c got so far, so that a later
// presenceRole looks at what follows only.
func forgetPresence(cs ...*client) {
	for _, c := range cs {
		c.Sync()
		c.DropType("presence")
	}
}

// presenceRole waits for a presence frame that lists userID with role
// (role "" waits for one without userID).
func presenceRole(c *client, userID, role string) {
	c.t.Helper()
	c.Next(fmt.Sprintf("presence with %s as %q", userID, role), func(m msg) bool {
		if m.Type != "presence" {
			return false
		}
		for _, p := range m.Participants {
			if p.UserID == userID {
				return p.Role == role
			}
		}
		return role == ""
	})
}

// TestRoleChangesReachLiveConnections runs on one node and with the owner and
// the participant on different nodes (the change travels over the broker).
func TestRoleChangesReachLiveConnections(t *testing.T) {
	for _, nodes := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			e := newEnv(t, nodes)
			alice, bob := e.User("alice"), e.User("bob")
			s := e.Session(alice, false, "text\n")
			e.Invite(alice, s.ID, bob, "editor")
			ca, cb := e.DialNode(0, alice), e.DialNode(nodes-1, bob)
			ca.Join(s.ID)
			ca.Open(s.File)
			if j := cb.Join(s.ID); j.Role != "editor" {
				t.Fatalf("bob joined as %q", j.Role)
			}
			cb.Open(s.File)
			cb.Push(s.File, 1, "bob-1", insert(5, 0, "b"))
			ca.Ack(s.File, "bob-1")
			cb.Ack(s.File, "bob-1")

			// Demoted: bob's next push is refused, and everyone sees the new role.
			forgetPresence(ca, cb)
			e.JSON(alice, http.MethodPatch, "/api/sessions/"+s.ID+"/participants/"+bob.ID, map[string]any{"role": "viewer"}, http.StatusNoContent, nil)
			presenceRole(cb, bob.ID, "viewer")
			presenceRole(ca, bob.ID, "viewer")
			cb.Push(s.File, 2, "bob-2", insert(6, 0, "x"))
			cb.Error("forbidden")
			if got, v := e.Content(alice, s.File); got != "btext\n" || v != 2 {
				t.Fatalf("after the refused push: %q v%d", got, v)
			}
			// Still a viewer: updates keep arriving.
			ca.Push(s.File, 2, "alice-1", insert(6, 6, "a"))
			cb.Ack(s.File, "alice-1")

			// Promoted again: pushes are accepted.
			forgetPresence(ca, cb)
			e.JSON(alice, http.MethodPatch, "/api/sessions/"+s.ID+"/participants/"+bob.ID, map[string]any{"role": "editor"}, http.StatusNoContent, nil)
			presenceRole(cb, bob.ID, "editor")
			cb.Push(s.File, 3, "bob-3", insert(7, 0, "c"))
			ca.Ack(s.File, "bob-3")

			// Removed: bob is told, leaves the session and the presence, and gets
			// nothing of it any more.
			forgetPresence(ca, cb)
			e.JSON(alice, http.MethodDelete, "/api/sessions/"+s.ID+"/participants/"+bob.ID, nil, http.StatusNoContent, nil)
			cb.Error("not_found")
			presenceRole(ca, bob.ID, "")
			cb.Push(s.File, 4, "bob-4", insert(8, 0, "d"))
			cb.Error("not_found")
			ca.Push(s.File, 4, "alice-2", insert(8, 0, "e"))
			ca.Ack(s.File, "alice-2")
			ca.Send(map[string]any{"type": "chat", "text": "secret"})
			ca.Type("chat")
			ca.Send(map[string]any{"type": "cursor", "file": s.File, "version": 5,
				"selection": map[string]any{"main": 0, "ranges": []any{map[string]any{"anchor": 1, "head": 1}}}})
			ca.Sync()
			cb.Sync()
			for _, typ := range []string{"updates", "chat", "cursor"} {
				for _, m := range cb.Frames(typ) {
					if m.Type == "chat" || m.Type == "cursor" || m.Version >= 4 {
						t.Errorf("removed participant got %s", m.Raw)
					}
				}
			}
			cb.Send(map[string]any{"type": "join", "session": s.ID})
			cb.Error("not_found")
			if got, v := e.Content(alice, s.File); got != "ecbtext\na" || v != 5 {
				t.Fatalf("document %q v%d", got, v)
			}
			if e.Nodes[nodes-1].Hub.Online(s.ID)[bob.ID] {
				t.Error("bob still online in the session")
			}
		})
	}
}

// TestLosingVisitorAccessLeavesTheSession: making a public session private
// removes its visitors (not its participants); deleting it removes everyone.
func TestLosingVisitorAccessLeavesTheSession(t *testing.T) {
	e := newEnv(t, 2)
	alice, bob, carol := e.User("alice"), e.User("bob"), e.User("carol")
	s := e.Session(alice, true, "x\n")
	e.Invite(alice, s.ID, bob, "editor")
	ca, cb, cc := e.DialNode(0, alice), e.DialNode(1, bob), e.DialNode(1, carol)
	for _, c := range []*client{ca, cb, cc} {
		c.Join(s.ID)
		c.Open(s.File)
	}
	presenceRole(ca, carol.ID, "viewer")

	// Visitors become editors: carol may push.
	forgetPresence(ca, cc)
	e.JSON(alice, http.MethodPatch, "/api/sessions/"+s.ID, map[string]any{"visitorRole": "editor"}, http.StatusOK, nil)
	presenceRole(cc, carol.ID, "editor")
	cc.Push(s.File, 1, "carol-1", insert(2, 0, "c"))
	ca.Ack(s.File, "carol-1")

	forgetPresence(ca, cc)
	e.JSON(alice, http.MethodPatch, "/api/sessions/"+s.ID, map[string]any{"isPublic": false}, http.StatusOK, nil)
	cc.Error("not_found")
	presenceRole(ca, carol.ID, "")
	cb.Push(s.File, 2, "bob-1", insert(3, 0, "b"))
	ca.Ack(s.File, "bob-1")
	cb.Ack(s.File, "bob-1")
	cc.Sync()
	for _, m := range cc.Frames("updates") {
		if m.Version >= 2 {
			t.Errorf("former visitor got %s", m.Raw)
		}
	}

	e.JSON(alice, http.MethodDelete, "/api/sessions/"+s.ID, nil, http.StatusNoContent, nil)
	ca.Error("not_found")
	cb.Error("not_found")
	// Each node hears of the other's leavers over the broker, a moment later.
	for i, n := range e.Nodes {
		deadline := time.Now().Add(wait)
		for len(n.Hub.Online(s.ID)) != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if on := n.Hub.Online(s.ID); len(on) != 0 {
			t.Errorf("node %d still has %v online in the deleted session", i, on)
		}
	}
	// The connections stay usable.
	ca.Sync()
	cb.Sync()
}
