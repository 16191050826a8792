package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
)

func TestSessionCreateAndValidation(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		alice := env.User("alice")
		var s wsSession
		env.JSON(alice, "POST", "/api/sessions", map[string]any{"name": "  Hello  ", "language": "python"}, wsCreated, &s)
		if s.Name != "Hello" || s.Language != "python" || s.IsPublic || s.VisitorRole != "viewer" || s.OwnerID != alice.ID || s.Role != "owner" {
			t.Fatalf("created %+v: want trimmed name, private, viewer visitors, owned by the caller", s)
		}
		var files struct {
			Files []wsFile `json:"files"`
		}
		env.JSON(alice, "GET", "/api/sessions/"+s.ID+"/files", nil, wsOK, &files)
		if len(files.Files) != 1 || files.Files[0].Path != "main.py" || files.Files[0].Content != nil {
			t.Fatalf("starter files %+v: want main.py, no content in the listing", files.Files)
		}
		var f wsFile
		env.JSON(alice, "GET", "/api/files/"+files.Files[0].ID, nil, wsOK, &f)
		if f.Content == nil || *f.Content != "print(\"Hello, World!\")\n" {
			t.Fatalf("starter content %+v", f)
		}

		base := func(edit func(m map[string]any)) map[string]any {
			m := map[string]any{"name": "ok", "language": "python", "isPublic": true, "visitorRole": "editor"}
			edit(m)
			return m
		}
		for _, c := range []struct {
			what, field string
			body        map[string]any
		}{
			{"missing name", "name", base(func(m map[string]any) { delete(m, "name") })},
			{"empty name", "name", base(func(m map[string]any) { m["name"] = "" })},
			{"blank name", "name", base(func(m map[string]any) { m["name"] = "   " })},
			{"101 characters", "name", base(func(m map[string]any) { m["name"] = strings.Repeat("é", 101) })},
			{"control character", "name", base(func(m map[string]any) { m["name"] = "a\u0007b" })},
			{"missing language", "language", base(func(m map[string]any) { delete(m, "language") })},
			{"unknown language", "language", base(func(m map[string]any) { m["language"] = "cobol" })},
			{"visitor role owner", "visitorRole", base(func(m map[string]any) { m["visitorRole"] = "owner" })},
			{"visitor role junk", "visitorRole", base(func(m map[string]any) { m["visitorRole"] = "admin" })},
		} {
			t.Run("create "+c.what, func(t *testing.T) {
				env.Problem(alice, "POST", "/api/sessions", c.body, http.StatusUnprocessableEntity, c.field)
			})
			if _, ok := c.body["name"]; ok || c.field != "name" {
				t.Run("patch "+c.what, func(t *testing.T) {
					patch := map[string]any{c.field: c.body[c.field]}
					if c.field == "language" && c.body["language"] == nil {
						return // absent means unchanged on PATCH
					}
					env.Problem(alice, "PATCH", "/api/sessions/"+s.ID, patch, http.StatusUnprocessableEntity, c.field)
				})
			}
		}
		// 100 characters (of two bytes each) is the longest name.
		env.JSON(alice, "PATCH", "/api/sessions/"+s.ID, map[string]any{"name": strings.Repeat("é", 100)}, wsOK, nil)
		var got wsSession
		env.JSON(alice, "PATCH", "/api/sessions/"+s.ID, map[string]any{"language": "javascript", "isPublic": true, "visitorRole": "editor"}, wsOK, &got)
		if got.Language != "javascript" || !got.IsPublic || got.VisitorRole != "editor" || got.Name != strings.Repeat("é", 100) {
			t.Fatalf("after patch %+v: only the given fields change", got)
		}
		env.Problem(alice, "GET", "/api/sessions/"+strings.Repeat("x", 65), nil, http.StatusUnprocessableEntity, "id")
	})
}

func TestSessionListing(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		alice, bob := env.User("alice"), env.User("bob")
		mine := env.CreateSession(alice, "alpha 100%", false, "viewer")
		env.CreateSession(alice, "beta_1", true, "viewer")
		shared := env.CreateSession(bob, "gamma", false, "viewer")
		env.Join(bob, shared.ID, alice, "editor")
		env.CreateSession(bob, "delta", true, "viewer")
		env.CreateSession(bob, "hidden", false, "viewer")

		list := func(query string) ([]string, *int) {
			t.Helper()
			var out struct {
				Sessions   []wsSession `json:"sessions"`
				NextOffset *int        `json:"nextOffset"`
			}
			env.JSON(alice, "GET", "/api/sessions"+query, nil, wsOK, &out)
			var names []string
			for _, s := range out.Sessions {
				names = append(names, s.Name)
			}
			slices.Sort(names)
			return names, out.NextOffset
		}
		for q, want := range map[string][]string{
			"":               {"alpha 100%", "beta_1", "delta", "gamma"},
			"?scope=all":     {"alpha 100%", "beta_1", "delta", "gamma"},
			"?scope=mine":    {"alpha 100%", "beta_1"},
			"?scope=shared":  {"gamma"},
			"?scope=public":  {"beta_1", "delta"},
			"?q=%25":         {"alpha 100%"}, // a literal %, not a wildcard
			"?q=_":           {"beta_1"},     // a literal _, not a wildcard
			"?q=ALPHA":       {"alpha 100%"},
			"?q=zzz":         nil,
			"?scope=mine&q=": {"alpha 100%", "beta_1"},
		} {
			if got, _ := list(q); !slices.Equal(got, want) {
				t.Errorf("GET /api/sessions%s = %v, want %v", q, got, want)
			}
		}
		// Each listed session says the caller's role in it.
		var withRoles struct {
			Sessions []wsSession `json:"sessions"`
		}
		env.JSON(alice, "GET", "/api/sessions?scope=all", nil, wsOK, &withRoles)
		for _, s := range withRoles.Sessions {
			want := map[string]string{"alpha 100%": "owner", "beta_1": "owner", "gamma": "editor", "delta": "viewer"}[s.Name]
			if s.Role != want {
				t.Errorf("listed %q with role %q, want %q", s.Name, s.Role, want)
			}
		}
		var seen []string
		for off := 0; ; {
			page, next := list(fmt.Sprintf("?limit=3&offset=%d", off))
			seen = append(seen, page...)
			if next == nil {
				break
			}
			if *next != off+3 {
				t.Fatalf("nextOffset %d after offset %d", *next, off)
			}
			off = *next
		}
		if slices.Sort(seen); !slices.Equal(seen, []string{"alpha 100%", "beta_1", "delta", "gamma"}) {
			t.Errorf("paged listing %v", seen)
		}
		for q, field := range map[string]string{
			"?scope=everything":              "scope",
			"?limit=0":                       "limit",
			"?limit=101":                     "limit",
			"?offset=-1":                     "offset",
			"?q=" + strings.Repeat("q", 101): "q",
		} {
			env.Problem(alice, "GET", "/api/sessions"+q, nil, http.StatusUnprocessableEntity, field)
		}
		_ = mine
	})
}

func TestParticipantRules(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner, ed, vw := env.User("owner"), env.User("editor"), env.User("viewer")
		s := env.CreateSession(owner, "s", false, "viewer")
		env.Join(owner, s.ID, ed, "editor")
		env.Join(owner, s.ID, vw, "viewer")
		base := "/api/sessions/" + s.ID + "/participants/"

		var ps struct {
			Participants []struct {
				UserID   string `json:"userId"`
				Username string `json:"username"`
				Role     string `json:"role"`
				Online   *bool  `json:"online"`
			} `json:"participants"`
		}
		env.JSON(vw, "GET", "/api/sessions/"+s.ID+"/participants", nil, wsOK, &ps)
		var got []string
		for _, p := range ps.Participants {
			if p.Online == nil {
				t.Fatalf("participant %+v has no online field", p)
			}
			got = append(got, p.Username+":"+p.Role)
		}
		if !slices.Equal(got, []string{"owner:owner", "editor:editor", "viewer:viewer"}) {
			t.Fatalf("participants %v", got)
		}

		env.Problem(owner, "PATCH", base+owner.ID, map[string]any{"role": "viewer"}, wsConflict, "")
		env.Problem(owner, "DELETE", base+owner.ID, nil, wsConflict, "")
		env.Problem(ed, "DELETE", base+owner.ID, nil, wsConflict, "")
		env.Problem(owner, "PATCH", base+vw.ID, map[string]any{"role": "owner"}, http.StatusUnprocessableEntity, "role")
		env.Problem(owner, "PATCH", base+vw.ID, map[string]any{}, http.StatusUnprocessableEntity, "role")
		stranger := env.User("stranger")
		env.Problem(owner, "PATCH", base+stranger.ID, map[string]any{"role": "editor"}, wsNotFound, "")
		env.Problem(owner, "DELETE", base+stranger.ID, nil, wsNotFound, "")

		// Promote, then demote: the role follows.
		env.JSON(owner, "PATCH", base+vw.ID, map[string]any{"role": "editor"}, wsNoContent, nil)
		var me wsSession
		env.JSON(vw, "GET", "/api/sessions/"+s.ID, nil, wsOK, &me)
		if me.Role != "editor" {
			t.Fatalf("promoted viewer's role %q", me.Role)
		}
		env.JSON(owner, "PATCH", base+vw.ID, map[string]any{"role": "viewer"}, wsNoContent, nil)
		env.Problem(vw, "POST", "/api/sessions/"+s.ID+"/files", map[string]any{"name": "x.py"}, wsForbidden, "")

		// A participant leaves; the private session is then invisible to them.
		env.JSON(vw, "DELETE", base+vw.ID, nil, wsNoContent, nil)
		env.Problem(vw, "GET", "/api/sessions/"+s.ID, nil, wsNotFound, "")
		// The owner removes the editor.
		env.JSON(owner, "DELETE", base+ed.ID, nil, wsNoContent, nil)
		env.Problem(ed, "GET", "/api/sessions/"+s.ID+"/files", nil, wsNotFound, "")
	})
}

func TestInviteRules(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner, ed := env.User("owner"), env.User("editor")
		s := env.CreateSession(owner, "s", false, "viewer")
		env.Join(owner, s.ID, ed, "editor")
		path := "/api/sessions/" + s.ID + "/invites"

		for _, c := range []struct {
			field string
			body  map[string]any
		}{
			{"role", map[string]any{}},
			{"role", map[string]any{"role": "owner"}},
			{"expiresInHours", map[string]any{"role": "viewer", "expiresInHours": -1}},
			{"expiresInHours", map[string]any{"role": "viewer", "expiresInHours": 2161}},
			{"maxUses", map[string]any{"role": "viewer", "maxUses": 0}},
			{"maxUses", map[string]any{"role": "viewer", "maxUses": 1001}},
		} {
			env.Problem(owner, "POST", path, c.body, http.StatusUnprocessableEntity, c.field)
		}

		type inviteOut struct {
			Invite struct {
				ID        string     `json:"id"`
				Role      string     `json:"role"`
				ExpiresAt *time.Time `json:"expiresAt"`
				MaxUses   *int       `json:"maxUses"`
				Uses      int        `json:"uses"`
				Revoked   bool       `json:"revoked"`
			} `json:"invite"`
			Token string `json:"token"`
			URL   string `json:"url"`
		}
		var once inviteOut
		env.JSON(owner, "POST", path, map[string]any{"role": "editor", "maxUses": 1, "expiresInHours": 2}, wsCreated, &once)
		if once.Token == "" || !strings.HasSuffix(once.URL, "/invite/"+once.Token) || once.Invite.ExpiresAt == nil || *once.Invite.MaxUses != 1 {
			t.Fatalf("invite %+v", once)
		}
		type accepted struct {
			Session wsSession `json:"session"`
			Role    string    `json:"role"`
		}
		u1, u2 := env.User("first"), env.User("second")
		var a accepted
		env.JSON(u1, "POST", "/api/invites/"+once.Token+"/accept", nil, wsOK, &a)
		if a.Role != "editor" || a.Session.ID != s.ID {
			t.Fatalf("accept %+v", a)
		}
		// Used up.
		env.Problem(u2, "POST", "/api/invites/"+once.Token+"/accept", nil, wsNotFound, "")
		env.Problem(u2, "GET", "/api/sessions/"+s.ID, nil, wsNotFound, "")
		// Opening it again as the one who used it is harmless.
		env.JSON(u1, "POST", "/api/invites/"+once.Token+"/accept", nil, wsOK, &a)

		// Accepting never lowers a role: an editor opening a viewer link stays editor.
		var viewerLink inviteOut
		env.JSON(owner, "POST", path, map[string]any{"role": "viewer"}, wsCreated, &viewerLink)
		env.JSON(ed, "POST", "/api/invites/"+viewerLink.Token+"/accept", nil, wsOK, &a)
		if a.Role != "editor" {
			t.Fatalf("editor accepting a viewer link has role %q", a.Role)
		}
		env.JSON(owner, "POST", "/api/invites/"+viewerLink.Token+"/accept", nil, wsOK, &a)
		if a.Role != "owner" {
			t.Fatalf("owner accepting own link has role %q", a.Role)
		}

		// Expiry: after two hours the link is dead.
		env.Advance(2*time.Hour + time.Second)
		env.Problem(u2, "POST", "/api/invites/"+once.Token+"/accept", nil, wsNotFound, "")
		var expiring inviteOut
		env.JSON(owner, "POST", path, map[string]any{"role": "viewer", "expiresInHours": 1}, wsCreated, &expiring)
		env.Advance(time.Hour)
		env.Problem(u2, "POST", "/api/invites/"+expiring.Token+"/accept", nil, wsNotFound, "")

		// Revocation.
		env.JSON(owner, "DELETE", path+"/"+viewerLink.Invite.ID, nil, wsNoContent, nil)
		env.Problem(owner, "DELETE", path+"/"+viewerLink.Invite.ID, nil, wsNotFound, "")
		env.Problem(u2, "POST", "/api/invites/"+viewerLink.Token+"/accept", nil, wsNotFound, "")
		var list struct {
			Invites []struct {
				ID      string `json:"id"`
				Uses    int    `json:"uses"`
				Revoked bool   `json:"revoked"`
			} `json:"invites"`
		}
		env.JSON(owner, "GET", path, nil, wsOK, &list)
		byID := map[string]int{}
		for i, inv := range list.Invites {
			byID[inv.ID] = i
		}
		// Four: the one the editor joined through, and the three above.
		if len(list.Invites) != 4 || !list.Invites[byID[viewerLink.Invite.ID]].Revoked || list.Invites[byID[once.Invite.ID]].Uses != 1 {
			t.Fatalf("invites %+v", list.Invites)
		}
		// Tokens that are not invites at all.
		env.Problem(u2, "POST", "/api/invites/nonsense/accept", nil, wsNotFound, "")
		env.Problem(u2, "POST", "/api/invites/inv_"+strings.Repeat("a", 200)+"/accept", nil, http.StatusUnprocessableEntity, "token")
	})
}

type wsNotification struct {
	ID        string  `json:"id"`
	Kind      string  `json:"kind"`
	Title     string  `json:"title"`
	Body      string  `json:"body"`
	SessionID *string `json:"sessionId"`
	IsRead    bool    `json:"isRead"`
}

func (e *wsEnv) notifications(u wsUser, query string) []wsNotification {
	e.t.Helper()
	var out struct {
		Notifications []wsNotification `json:"notifications"`
	}
	e.JSON(u, "GET", "/api/notifications"+query, nil, wsOK, &out)
	return out.Notifications
}

func (e *wsEnv) unread(u wsUser) int {
	e.t.Helper()
	var out struct {
		Count int `json:"count"`
	}
	e.JSON(u, "GET", "/api/notifications/unread-count", nil, wsOK, &out)
	return out.Count
}

func TestAccessRequestFlow(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner, asker, other := env.User("owner"), env.User("asker"), env.User("other")
		s := env.CreateSession(owner, "secret", false, "viewer")
		reqs := "/api/sessions/" + s.ID + "/requests"

		env.Problem(asker, "POST", reqs, map[string]any{"message": strings.Repeat("é", 501)}, http.StatusUnprocessableEntity, "message")
		var r struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Username string `json:"username"`
			Message  string `json:"message"`
		}
		env.JSON(asker, "POST", reqs, map[string]any{"message": "I'm on the team"}, wsCreated, &r)
		if r.Status != "pending" || r.Username != "asker" || r.Message != "I'm on the team" {
			t.Fatalf("request %+v", r)
		}
		// One pending request per user and session.
		env.Problem(asker, "POST", reqs, map[string]any{}, wsConflict, "")
		var r2 struct {
			ID string `json:"id"`
		}
		env.JSON(other, "POST", reqs, nil, wsCreated, &r2)
		env.Problem(asker, "POST", "/api/sessions/0190d1c4-0000-7000-8000-000000000000/requests", nil, wsNotFound, "")

		// The owner is told, with the message and the session.
		ns := env.notifications(owner, "")
		if len(ns) != 2 || ns[1].Kind != codebuddy.NotifyAccessRequested || ns[1].Body != "I'm on the team" ||
			ns[1].SessionID == nil || *ns[1].SessionID != s.ID || !strings.Contains(ns[1].Title, "asker") {
			t.Fatalf("owner's notifications %+v", ns)
		}

		var list struct {
			Requests []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"requests"`
		}
		env.JSON(owner, "GET", reqs, nil, wsOK, &list)
		if len(list.Requests) != 2 {
			t.Fatalf("pending requests %+v", list)
		}
		env.Problem(owner, "GET", reqs+"?status=maybe", nil, http.StatusUnprocessableEntity, "status")
		env.Problem(owner, "PATCH", "/api/requests/"+r.ID, map[string]any{"status": "pending"}, http.StatusUnprocessableEntity, "status")
		env.Problem(owner, "PATCH", "/api/requests/"+r.ID, map[string]any{}, http.StatusUnprocessableEntity, "status")
		env.Problem(asker, "PATCH", "/api/requests/"+r.ID, map[string]any{"status": "accepted"}, wsNotFound, "")

		var decided struct {
			Status    string     `json:"status"`
			DecidedAt *time.Time `json:"decidedAt"`
		}
		env.JSON(owner, "PATCH", "/api/requests/"+r.ID, map[string]any{"status": "accepted"}, wsOK, &decided)
		if decided.Status != "accepted" || decided.DecidedAt == nil {
			t.Fatalf("decided %+v", decided)
		}
		env.Problem(owner, "PATCH", "/api/requests/"+r.ID, map[string]any{"status": "rejected"}, wsConflict, "")
		// Accepting grants editor.
		var seen wsSession
		env.JSON(asker, "GET", "/api/sessions/"+s.ID, nil, wsOK, &seen)
		if seen.Role != "editor" {
			t.Fatalf("accepted requester's role %q", seen.Role)
		}
		env.JSON(asker, "POST", "/api/sessions/"+s.ID+"/files", map[string]any{"name": "mine.py"}, wsCreated, nil)
		env.Problem(asker, "POST", reqs, nil, wsConflict, "")

		env.JSON(owner, "PATCH", "/api/requests/"+r2.ID, map[string]any{"status": "rejected"}, wsOK, nil)
		env.Problem(other, "GET", "/api/sessions/"+s.ID, nil, wsNotFound, "")
		// The requesters are told the answer.
		for u, kind := range map[wsUser]string{asker: codebuddy.NotifyAccessAccepted, other: codebuddy.NotifyAccessRejected} {
			ns := env.notifications(u, "")
			if len(ns) != 1 || ns[0].Kind != kind || ns[0].SessionID == nil || *ns[0].SessionID != s.ID {
				t.Fatalf("%s's notifications %+v, want one %s", u.Username, ns, kind)
			}
		}
		// After a rejection one may ask again.
		env.JSON(other, "POST", reqs, nil, wsCreated, nil)
		env.JSON(owner, "GET", reqs+"?status=all", nil, wsOK, &list)
		if len(list.Requests) != 3 {
			t.Fatalf("all requests %+v", list)
		}
	})
}

func TestNotificationEndpoints(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner := env.User("owner")
		s := env.CreateSession(owner, "s", false, "viewer")
		for i := range 5 {
			env.JSON(env.User(fmt.Sprintf("asker%d", i)), "POST", "/api/sessions/"+s.ID+"/requests", nil, wsCreated, nil)
		}
		// An invite accepted is news too.
		var inv struct {
			Token string `json:"token"`
		}
		env.JSON(owner, "POST", "/api/sessions/"+s.ID+"/invites", map[string]any{"role": "viewer"}, wsCreated, &inv)
		joiner := env.User("joiner")
		env.JSON(joiner, "POST", "/api/invites/"+inv.Token+"/accept", nil, wsOK, nil)

		all := env.notifications(owner, "")
		if len(all) != 6 || all[0].Kind != codebuddy.NotifyInviteAccepted || env.unread(owner) != 6 {
			t.Fatalf("notifications %+v", all)
		}
		page := env.notifications(owner, "?limit=2&before="+all[1].ID)
		if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
			t.Fatalf("page before the second: %+v", page)
		}
		env.JSON(owner, "PATCH", "/api/notifications/"+all[0].ID+"/read", nil, wsNoContent, nil)
		if n := env.unread(owner); n != 5 {
			t.Fatalf("unread after one read = %d", n)
		}
		if un := env.notifications(owner, "?unread=true"); len(un) != 5 || un[0].ID != all[1].ID {
			t.Fatalf("unread list %+v", un)
		}
		env.JSON(owner, "PATCH", "/api/notifications/read-all", nil, wsNoContent, nil)
		if n := env.unread(owner); n != 0 {
			t.Fatalf("unread after read-all = %d", n)
		}
		env.JSON(owner, "DELETE", "/api/notifications/"+all[0].ID, nil, wsNoContent, nil)
		env.Problem(owner, "DELETE", "/api/notifications/"+all[0].ID, nil, wsNotFound, "")
		env.Problem(owner, "PATCH", "/api/notifications/"+all[0].ID+"/read", nil, wsNotFound, "")
		// Each user sees only their own.
		env.Problem(joiner, "PATCH", "/api/notifications/"+all[1].ID+"/read", nil, wsNotFound, "")
		env.Problem(joiner, "DELETE", "/api/notifications/"+all[1].ID, nil, wsNotFound, "")
		if ns := env.notifications(joiner, ""); len(ns) != 0 {
			t.Fatalf("joiner sees %+v", ns)
		}
		if len(env.notifications(owner, "")) != 5 {
			t.Fatal("the owner's notifications changed through another user")
		}
		for _, q := range []string{"?limit=0", "?limit=101"} {
			env.Problem(owner, "GET", "/api/notifications"+q, nil, http.StatusUnprocessableEntity, "limit")
		}
	})
}

type wsMessage struct {
	ID       string `json:"id"`
	UserID   string `json:"userId"`
	Username string `json:"username"`
	Content  string `json:"content"`
}

func TestChatAPI(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner, vw := env.User("owner"), env.User("viewer")
		s := env.CreateSession(owner, "s", false, "viewer")
		env.Join(owner, s.ID, vw, "viewer")
		msgs := "/api/sessions/" + s.ID + "/messages"

		// Plain text both ways: markup is data, returned byte for byte, as JSON.
		literal := `<script>alert("x")</script> & <img src=x onerror=alert(1)>` + "\n  indented 😀 "
		var m wsMessage
		env.JSON(vw, "POST", msgs, map[string]any{"content": literal}, wsCreated, &m)
		if m.Content != literal || m.Username != "viewer" || m.UserID != vw.ID {
			t.Fatalf("posted %+v", m)
		}
		status, raw := env.Do(vw, "GET", msgs, nil)
		var page struct {
			Messages   []wsMessage `json:"messages"`
			NextBefore string      `json:"nextBefore"`
		}
		if err := json.Unmarshal(raw, &page); status != wsOK || err != nil || len(page.Messages) != 1 || page.Messages[0].Content != literal {
			t.Fatalf("history %d %s", status, raw)
		}
		if bytes.Contains(raw, []byte("&lt;")) || bytes.Contains(raw, []byte("&amp;")) {
			t.Fatalf("history is HTML-escaped: %s", raw)
		}

		for what, content := range map[string]any{
			"empty":      "",
			"blank":      " \n\t ",
			"4001 chars": strings.Repeat("é", 4001),
			"a number":   42,
		} {
			t.Run(what, func(t *testing.T) {
				env.Problem(owner, "POST", msgs, map[string]any{"content": content}, http.StatusUnprocessableEntity, "content")
			})
		}
		env.Problem(owner, "POST", msgs, map[string]any{}, http.StatusUnprocessableEntity, "content")
		// 4000 characters of 4 bytes each fit: the limit counts characters.
		env.JSON(owner, "POST", msgs, map[string]any{"content": strings.Repeat("😀", 4000)}, wsCreated, nil)
		// A body far past any limit is refused as too large before it is read.
		env.Problem(owner, "POST", msgs, []byte(`{"content":"`+strings.Repeat("x", 9<<20)+`"}`), http.StatusRequestEntityTooLarge, "")
		env.Problem(owner, "POST", msgs, []byte(`{"content":"`+strings.Repeat("x", 2<<20)+`"}`), http.StatusRequestEntityTooLarge, "")
	})
}

func TestChatPagingAPI(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner := env.User("owner")
		s := env.CreateSession(owner, "s", false, "viewer")
		msgs := "/api/sessions/" + s.ID + "/messages"
		const n = 130
		for i := range n {
			env.JSON(owner, "POST", msgs, map[string]any{"content": fmt.Sprintf("m%03d", i)}, wsCreated, nil)
		}
		var want []string
		for i := n - 1; i >= 0; i-- {
			want = append(want, fmt.Sprintf("m%03d", i))
		}
		for _, limit := range []int{1, 13, 50, 100} {
			var got []string
			before := ""
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				var page struct {
					Messages   []wsMessage `json:"messages"`
					NextBefore string      `json:"nextBefore"`
				}
				q := fmt.Sprintf("?limit=%d", limit)
				if before != "" {
					q += "&before=" + before
				}
				env.JSON(owner, "GET", msgs+q, nil, wsOK, &page)
				if len(page.Messages) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(page.Messages))
				}
				for _, m := range page.Messages {
					got = append(got, m.Content)
				}
				if page.NextBefore == "" {
					break
				}
				before = page.NextBefore
			}
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d: %d messages joined, want %d newest first without gaps or repeats", limit, len(got), len(want))
			}
		}
		// Posting while paging does not shift older pages: the cursor is a message, not an offset.
		var first struct {
			Messages   []wsMessage `json:"messages"`
			NextBefore string      `json:"nextBefore"`
		}
		env.JSON(owner, "GET", msgs+"?limit=10", nil, wsOK, &first)
		env.JSON(owner, "POST", msgs, map[string]any{"content": "late"}, wsCreated, nil)
		var second struct {
			Messages []wsMessage `json:"messages"`
		}
		env.JSON(owner, "GET", msgs+"?limit=10&before="+first.NextBefore, nil, wsOK, &second)
		if second.Messages[0].Content != want[10] {
			t.Fatalf("second page starts at %q, want %q", second.Messages[0].Content, want[10])
		}
		for _, q := range []string{"?limit=0", "?limit=101", "?before=" + strings.Repeat("z", 65)} {
			field := "limit"
			if strings.HasPrefix(q, "?before") {
				field = "before"
			}
			env.Problem(owner, "GET", msgs+q, nil, http.StatusUnprocessableEntity, field)
		}
	})
}

func TestDeleteSessionOverAPI(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner, ed := env.User("owner"), env.User("editor")
		s := env.CreateSession(owner, "s", false, "viewer")
		env.Join(owner, s.ID, ed, "editor")
		var f wsFile
		env.JSON(ed, "POST", "/api/sessions/"+s.ID+"/files", map[string]any{"name": "x.py", "content": "x"}, wsCreated, &f)
		env.JSON(ed, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "bye"}, wsCreated, nil)
		env.JSON(owner, "DELETE", "/api/sessions/"+s.ID, nil, wsNoContent, nil)
		env.Problem(owner, "GET", "/api/sessions/"+s.ID, nil, wsNotFound, "")
		env.Problem(ed, "GET", "/api/files/"+f.ID, nil, wsNotFound, "")
		env.Problem(owner, "DELETE", "/api/sessions/"+s.ID, nil, wsNotFound, "")
		var list struct {
			Sessions []wsSession `json:"sessions"`
		}
		env.JSON(ed, "GET", "/api/sessions?scope=shared", nil, wsOK, &list)
		if len(list.Sessions) != 0 {
			t.Fatalf("deleted session still listed: %+v", list.Sessions)
		}
	})
}

// TestSessionListFullPages: paging with the largest page size still says when
// another page follows.
func TestSessionListFullPages(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		alice := env.User("alice")
		for i := range 205 {
			s := &codebuddy.Session{Name: fmt.Sprintf("s%03d", i), Language: "python", VisitorRole: codebuddy.RoleViewer, OwnerID: alice.ID}
			if err := env.DB.CreateSession(context.Background(), s, nil); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		pages := 0
		for off := 0; ; pages++ {
			var out struct {
				Sessions   []wsSession `json:"sessions"`
				NextOffset *int        `json:"nextOffset"`
			}
			env.JSON(alice, "GET", fmt.Sprintf("/api/sessions?scope=mine&limit=100&offset=%d", off), nil, wsOK, &out)
			for _, s := range out.Sessions {
				seen[s.ID] = true
			}
			if out.NextOffset == nil {
				break
			}
			off = *out.NextOffset
		}
		if len(seen) != 205 || pages != 2 {
			t.Fatalf("paging by 100 saw %d sessions in %d pages, want 205 in 3", len(seen), pages+1)
		}
	})
}
