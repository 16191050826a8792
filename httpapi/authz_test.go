package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// The session kinds of the matrix: who is not a participant sees a private session
// not at all, a public one with its visitor role.
const (
	kindPrivate      = "private"
	kindPublicViewer = "public-viewer"
	kindPublicEditor = "public-editor"
	actorOwner       = "owner"
	actorEditor      = "editor"
	actorViewer      = "viewer"
	actorOutsider    = "outsider"
	actorAnonymous   = "anonymous"
)

var authzKinds = []string{kindPrivate, kindPublicViewer, kindPublicEditor}

// authzWorld is the cast of the matrix: four accounts and one shared session per
// kind in which editor and viewer joined through invites.
type authzWorld struct {
	env      *wsEnv
	users    map[string]wsUser
	sessions map[string]wsSession
	seq      int
}

func newAuthzWorld(t *testing.T, env *wsEnv) *authzWorld {
	w := &authzWorld{env: env, users: map[string]wsUser{actorAnonymous: wsAnon}, sessions: map[string]wsSession{}}
	for _, a := range []string{actorOwner, actorEditor, actorViewer, actorOutsider} {
		w.users[a] = env.User(a)
	}
	for _, k := range authzKinds {
		w.sessions[k] = w.session(t, k, true)
	}
	return w
}

// session creates a session of kind owned by owner with editor and viewer in it;
// viaAPI joins them through invites (the real path), otherwise through the store (fast).
func (w *authzWorld) session(t *testing.T, kind string, viaAPI bool) wsSession {
	t.Helper()
	public, visitor := kind != kindPrivate, codebuddy.RoleViewer
	if kind == kindPublicEditor {
		visitor = codebuddy.RoleEditor
	}
	w.seq++
	owner := w.users[actorOwner]
	if viaAPI {
		s := w.env.CreateSession(owner, fmt.Sprintf("%s %d", kind, w.seq), public, visitor)
		w.env.Join(owner, s.ID, w.users[actorEditor], codebuddy.RoleEditor)
		w.env.Join(owner, s.ID, w.users[actorViewer], codebuddy.RoleViewer)
		return s
	}
	ctx := context.Background()
	name, lang := fmt.Sprintf("%s %d", kind, w.seq), "python"
	s, err := w.env.WS.CreateSession(ctx, owner.User, workspace.SessionInput{Name: &name, Language: &lang, IsPublic: &public, VisitorRole: &visitor})
	if err != nil {
		t.Fatal(err)
	}
	for a, role := range map[string]string{actorEditor: codebuddy.RoleEditor, actorViewer: codebuddy.RoleViewer} {
		if err := w.env.DB.SetRole(ctx, s.ID, w.users[a].ID, role); err != nil {
			t.Fatal(err)
		}
	}
	return wsSession{ID: s.ID, Name: s.Name, IsPublic: public, VisitorRole: visitor, OwnerID: owner.ID}
}

// stranger is a fresh account that no request of the matrix acts as.
func (w *authzWorld) stranger(t *testing.T) *codebuddy.User {
	t.Helper()
	w.seq++
	u := &codebuddy.User{Username: fmt.Sprintf("stranger%d", w.seq)}
	if err := w.env.DB.CreateUser(context.Background(), u, "x"); err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *authzWorld) file(t *testing.T, sessionID string) *codebuddy.File {
	t.Helper()
	w.seq++
	f, err := w.env.WS.CreateFile(context.Background(), w.users[actorOwner].User, sessionID,
		workspace.FileInput{Name: fmt.Sprintf("f%d.py", w.seq), Content: "x = 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// authzCall is one cell's request; prep may use up resources of the session it is given.
type authzCall struct {
	w     *authzWorld
	t     *testing.T
	kind  string
	s     wsSession // the kind's shared session
	actor wsUser
}

// fresh is a new session of the cell's kind, for calls that change who is in it.
func (c *authzCall) fresh() wsSession { return c.w.session(c.t, c.kind, false) }

// authzWant is what each actor gets: participants the same on every kind (except a
// viewer where visitors edit), the outsider per kind (private, public with viewer
// visitors, public with editor visitors).
// Anonymous callers always get 401.
type authzWant struct {
	owner, editor, viewer int
	outsider              [3]int
}

func (w authzWant) of(actor, kind string) int {
	switch actor {
	case actorOwner:
		return w.owner
	case actorEditor:
		return w.editor
	case actorViewer:
		if kind == kindPublicEditor {
			// Never less than a visitor: there the viewer acts as an editor visitor does.
			return w.outsider[2]
		}
		return w.viewer
	case actorOutsider:
		for i, k := range authzKinds {
			if k == kind {
				return w.outsider[i]
			}
		}
	}
	return http.StatusUnauthorized
}

const (
	wsOK        = http.StatusOK
	wsCreated   = http.StatusCreated
	wsNoContent = http.StatusNoContent
	wsForbidden = http.StatusForbidden
	wsNotFound  = http.StatusNotFound
	wsConflict  = http.StatusConflict
)

// TestAuthorizationMatrix sends every session-scoped endpoint as every kind of
// caller on a private session and on public sessions of both visitor roles.
func TestAuthorizationMatrix(t *testing.T) {
	rows := []struct {
		name   string
		method string
		prep   func(c *authzCall) (path string, body any)
		want   authzWant
	}{
		{"get session", "GET", func(c *authzCall) (string, any) { return "/api/sessions/" + c.s.ID, nil },
			authzWant{wsOK, wsOK, wsOK, [3]int{wsNotFound, wsOK, wsOK}}},
		{"patch session", "PATCH", func(c *authzCall) (string, any) {
			return "/api/sessions/" + c.s.ID, map[string]any{"name": c.s.Name}
		}, authzWant{wsOK, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},
		{"delete session", "DELETE", func(c *authzCall) (string, any) { return "/api/sessions/" + c.fresh().ID, nil },
			authzWant{wsNoContent, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},

		{"list participants", "GET", func(c *authzCall) (string, any) { return "/api/sessions/" + c.s.ID + "/participants", nil },
			authzWant{wsOK, wsOK, wsOK, [3]int{wsNotFound, wsOK, wsOK}}},
		{"set participant role", "PATCH", func(c *authzCall) (string, any) {
			u := c.w.stranger(c.t)
			if err := c.w.env.DB.SetRole(context.Background(), c.s.ID, u.ID, codebuddy.RoleViewer); err != nil {
				c.t.Fatal(err)
			}
			return "/api/sessions/" + c.s.ID + "/participants/" + u.ID, map[string]any{"role": "editor"}
		}, authzWant{wsNoContent, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},
		{"remove another participant", "DELETE", func(c *authzCall) (string, any) {
			u := c.w.stranger(c.t)
			if err := c.w.env.DB.SetRole(context.Background(), c.s.ID, u.ID, codebuddy.RoleEditor); err != nil {
				c.t.Fatal(err)
			}
			return "/api/sessions/" + c.s.ID + "/participants/" + u.ID, nil
		}, authzWant{wsNoContent, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},

		{"create invite", "POST", func(c *authzCall) (string, any) {
			return "/api/sessions/" + c.s.ID + "/invites", map[string]any{"role": "editor", "maxUses": 1}
		}, authzWant{wsCreated, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},
		{"list invites", "GET", func(c *authzCall) (string, any) { return "/api/sessions/" + c.s.ID + "/invites", nil },
			authzWant{wsOK, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},
		{"revoke invite", "DELETE", func(c *authzCall) (string, any) {
			inv, _, err := c.w.env.WS.CreateInvite(context.Background(), c.w.users[actorOwner].User, c.s.ID, codebuddy.RoleViewer, 0, nil)
			if err != nil {
				c.t.Fatal(err)
			}
			return "/api/sessions/" + c.s.ID + "/invites/" + inv.ID, nil
		}, authzWant{wsNoContent, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},
		// The link is the way into a private session: whoever holds it may use it.
		{"accept invite", "POST", func(c *authzCall) (string, any) {
			s := c.fresh()
			_, token, err := c.w.env.WS.CreateInvite(context.Background(), c.w.users[actorOwner].User, s.ID, codebuddy.RoleEditor, 0, nil)
			if err != nil {
				c.t.Fatal(err)
			}
			return "/api/invites/" + token + "/accept", nil
		}, authzWant{wsOK, wsOK, wsOK, [3]int{wsOK, wsOK, wsOK}}},

		// Asking for access is what an outsider of a private session may do; those
		// who already edit (owner, editor, editor visitors) have nothing to ask for.
		{"request access", "POST", func(c *authzCall) (string, any) {
			return "/api/sessions/" + c.fresh().ID + "/requests", map[string]any{"message": "please"}
		}, authzWant{wsConflict, wsConflict, wsCreated, [3]int{wsCreated, wsCreated, wsConflict}}},
		{"list requests", "GET", func(c *authzCall) (string, any) { return "/api/sessions/" + c.s.ID + "/requests?status=all", nil },
			authzWant{wsOK, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},
		{"decide request", "PATCH", func(c *authzCall) (string, any) {
			// Through the store: on a public session with editor visitors the request
			// would be refused now, but one made while it was private is still pending.
			r := &codebuddy.AccessRequest{SessionID: c.s.ID, UserID: c.w.stranger(c.t).ID}
			if err := c.w.env.DB.CreateAccessRequest(context.Background(), r); err != nil {
				c.t.Fatal(err)
			}
			return "/api/requests/" + r.ID, map[string]any{"status": "rejected"}
		}, authzWant{wsOK, wsForbidden, wsForbidden, [3]int{wsNotFound, wsForbidden, wsForbidden}}},

		{"list files", "GET", func(c *authzCall) (string, any) { return "/api/sessions/" + c.s.ID + "/files", nil },
			authzWant{wsOK, wsOK, wsOK, [3]int{wsNotFound, wsOK, wsOK}}},
		{"create file", "POST", func(c *authzCall) (string, any) {
			c.w.seq++
			return "/api/sessions/" + c.s.ID + "/files", map[string]any{"name": fmt.Sprintf("new%d.py", c.w.seq), "content": "x"}
		}, authzWant{wsCreated, wsCreated, wsForbidden, [3]int{wsNotFound, wsForbidden, wsCreated}}},
		{"create folder", "POST", func(c *authzCall) (string, any) {
			c.w.seq++
			return "/api/sessions/" + c.s.ID + "/folders", map[string]any{"name": fmt.Sprintf("dir%d", c.w.seq)}
		}, authzWant{wsCreated, wsCreated, wsForbidden, [3]int{wsNotFound, wsForbidden, wsCreated}}},
		{"get file", "GET", func(c *authzCall) (string, any) { return "/api/files/" + c.w.file(c.t, c.s.ID).ID, nil },
			authzWant{wsOK, wsOK, wsOK, [3]int{wsNotFound, wsOK, wsOK}}},
		{"rename file", "PATCH", func(c *authzCall) (string, any) {
			f := c.w.file(c.t, c.s.ID)
			return "/api/files/" + f.ID, map[string]any{"name": "renamed-" + f.Name}
		}, authzWant{wsOK, wsOK, wsForbidden, [3]int{wsNotFound, wsForbidden, wsOK}}},
		{"replace file content", "PATCH", func(c *authzCall) (string, any) {
			return "/api/files/" + c.w.file(c.t, c.s.ID).ID, map[string]any{"content": "y = 2\n", "baseVersion": 0}
		}, authzWant{wsOK, wsOK, wsForbidden, [3]int{wsNotFound, wsForbidden, wsOK}}},
		{"delete file", "DELETE", func(c *authzCall) (string, any) { return "/api/files/" + c.w.file(c.t, c.s.ID).ID, nil },
			authzWant{wsNoContent, wsNoContent, wsForbidden, [3]int{wsNotFound, wsForbidden, wsNoContent}}},

		{"list messages", "GET", func(c *authzCall) (string, any) { return "/api/sessions/" + c.s.ID + "/messages", nil },
			authzWant{wsOK, wsOK, wsOK, [3]int{wsNotFound, wsOK, wsOK}}},
		// Chat is conversation, not a change: viewers and viewer visitors post too.
		{"post message", "POST", func(c *authzCall) (string, any) {
			return "/api/sessions/" + c.s.ID + "/messages", map[string]any{"content": "hello"}
		}, authzWant{wsCreated, wsCreated, wsCreated, [3]int{wsNotFound, wsCreated, wsCreated}}},
	}

	wsForEach(t, func(t *testing.T, env *wsEnv) {
		w := newAuthzWorld(t, env)
		for _, row := range rows {
			t.Run(row.name, func(t *testing.T) {
				for _, kind := range authzKinds {
					for _, actor := range []string{actorOwner, actorEditor, actorViewer, actorOutsider, actorAnonymous} {
						c := &authzCall{w: w, t: t, kind: kind, s: w.sessions[kind], actor: w.users[actor]}
						path, body := row.prep(c)
						status, raw := env.Do(c.actor, row.method, path, body)
						if want := row.want.of(actor, kind); status != want {
							t.Errorf("%s %s session as %s: %d %s, want %d", row.method, kind, actor, status, wsTrim(raw), want)
						}
					}
				}
			})
		}
	})
}

// TestAuthorizationUserScoped covers the endpoints that are not about one session:
// listing and creating sessions and each user's own notifications.
func TestAuthorizationUserScoped(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		w := newAuthzWorld(t, env)
		ctx := context.Background()
		note := func(u wsUser) string {
			n := &codebuddy.Notification{UserID: u.ID, Kind: codebuddy.NotifyAccessAccepted, Title: "t"}
			if err := env.DB.CreateNotification(ctx, n); err != nil {
				t.Fatal(err)
			}
			return n.ID
		}
		rows := []struct {
			name, method string
			prep         func(u wsUser) (string, any)
			want         int
		}{
			{"list sessions", "GET", func(wsUser) (string, any) { return "/api/sessions?scope=all", nil }, wsOK},
			{"create session", "POST", func(wsUser) (string, any) {
				return "/api/sessions", map[string]any{"name": "mine", "language": "javascript"}
			}, wsCreated},
			{"list notifications", "GET", func(wsUser) (string, any) { return "/api/notifications", nil }, wsOK},
			{"unread count", "GET", func(wsUser) (string, any) { return "/api/notifications/unread-count", nil }, wsOK},
			{"mark read", "PATCH", func(u wsUser) (string, any) { return "/api/notifications/" + note(w.users[actorOwner]) + "/read", nil }, wsNoContent},
			{"mark all read", "PATCH", func(wsUser) (string, any) { return "/api/notifications/read-all", nil }, wsNoContent},
			{"delete notification", "DELETE", func(u wsUser) (string, any) { return "/api/notifications/" + note(w.users[actorOwner]), nil }, wsNoContent},
		}
		for _, row := range rows {
			for _, actor := range []string{actorOwner, actorOutsider, actorAnonymous} {
				u := w.users[actor]
				path, body := row.prep(u)
				want := row.want
				switch {
				case actor == actorAnonymous:
					want = http.StatusUnauthorized
				case actor == actorOutsider && (row.name == "mark read" || row.name == "delete notification"):
					// The notification is the owner's: to anyone else it does not exist.
					want = wsNotFound
				}
				if status, raw := env.Do(u, row.method, path, body); status != want {
					t.Errorf("%s as %s: %d %s, want %d", row.name, actor, status, wsTrim(raw), want)
				}
			}
		}

		// What each one lists: the outsider sees the public sessions only.
		var list struct {
			Sessions []wsSession `json:"sessions"`
		}
		env.JSON(w.users[actorOutsider], "GET", "/api/sessions?scope=all&limit=100", nil, wsOK, &list)
		seen := map[string]bool{}
		for _, s := range list.Sessions {
			seen[s.ID] = true
		}
		if seen[w.sessions[kindPrivate].ID] || !seen[w.sessions[kindPublicViewer].ID] || !seen[w.sessions[kindPublicEditor].ID] {
			t.Errorf("outsider's list %+v: want both public sessions and not the private one", list.Sessions)
		}
	})
}

// TestPrivateSessionDoesNotLeak checks that an outsider cannot tell a private
// session, its file or its request from ids that do not exist at all.
func TestPrivateSessionDoesNotLeak(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		w := newAuthzWorld(t, env)
		ctx := context.Background()
		s := w.sessions[kindPrivate]
		f := w.file(t, s.ID)
		r, err := env.WS.RequestAccess(ctx, w.stranger(t), s.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		const ghost = "0190d1c4-0000-7000-8000-000000000000"
		requestID := regexp.MustCompile(`request [0-9a-z-]+`)
		for _, p := range []struct{ method, real, fake string }{
			{"GET", "/api/sessions/" + s.ID, "/api/sessions/" + ghost},
			{"GET", "/api/sessions/" + s.ID + "/files", "/api/sessions/" + ghost + "/files"},
			{"GET", "/api/sessions/" + s.ID + "/messages", "/api/sessions/" + ghost + "/messages"},
			{"GET", "/api/files/" + f.ID, "/api/files/" + ghost},
			{"DELETE", "/api/files/" + f.ID, "/api/files/" + ghost},
			{"PATCH", "/api/requests/" + r.ID, "/api/requests/" + ghost},
		} {
			var body any
			if p.method == "PATCH" {
				body = map[string]any{"status": "accepted"}
			}
			st1, b1 := env.Do(w.users[actorOutsider], p.method, p.real, body)
			st2, b2 := env.Do(w.users[actorOutsider], p.method, p.fake, body)
			clean := func(b []byte) string { return requestID.ReplaceAllString(string(b), "") }
			if st1 != wsNotFound || st1 != st2 || clean(b1) != clean(b2) {
				t.Errorf("%s %s: %d %s; a missing id gives %d %s: they must match", p.method, p.real, st1, b1, st2, b2)
			}
		}
		// And nothing happened: the file and the request are as they were.
		if _, err := env.DB.File(ctx, f.ID); err != nil {
			t.Errorf("outsider's delete touched the file: %v", err)
		}
		if got, _ := env.DB.AccessRequest(ctx, r.ID); got.Status != codebuddy.RequestPending {
			t.Errorf("outsider decided the request: %+v", got)
		}
	})
}

// TestAnonymousIsRefusedBeforeValidation: a caller without credentials learns that
// they must sign in, not what the body should look like.
func TestAnonymousIsRefusedBeforeValidation(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner := env.User("owner")
		s := env.CreateSession(owner, "s", true, codebuddy.RoleEditor)
		for _, c := range []struct{ method, path string }{
			{"POST", "/api/sessions"},
			{"PATCH", "/api/sessions/" + s.ID},
			{"POST", "/api/sessions/" + s.ID + "/files"},
			{"POST", "/api/sessions/" + s.ID + "/messages"},
			{"POST", "/api/sessions/" + s.ID + "/invites"},
			{"PATCH", "/api/requests/x"},
			{"GET", "/api/sessions?limit=100000"},
		} {
			env.Problem(wsAnon, c.method, c.path, map[string]any{"name": 42, "content": "", "role": "admin", "status": "x"}, http.StatusUnauthorized, "")
		}
	})
}

// TestInvalidCredentialIs401: a signed-out or forged cookie is 401 on every
// workspace endpoint, with the reason, before any input validation.
func TestInvalidCredentialIs401(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		owner := env.User("owner")
		s := env.CreateSession(owner, "s", true, codebuddy.RoleEditor)
		forged := wsUser{User: &codebuddy.User{Username: "forged"}, Token: "cb_" + strings.Repeat("A", 43)}
		p := env.Problem(forged, "POST", "/api/sessions/"+s.ID+"/files", map[string]any{"name": "../x"}, http.StatusUnauthorized, "")
		if p.Detail == "" {
			t.Fatalf("401 without a reason: %+v", p)
		}
		// Signing out ends access through the same cookie.
		env.JSON(owner, "POST", "/api/logout", nil, http.StatusNoContent, nil)
		env.Problem(owner, "GET", "/api/sessions/"+s.ID, nil, http.StatusUnauthorized, "")
	})
}

// TestReportedRole: GET /api/sessions/{id} tells each caller the role they act with.
func TestReportedRole(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		w := newAuthzWorld(t, env)
		for _, c := range []struct {
			actor, kind, role string
		}{
			{actorOwner, kindPrivate, "owner"},
			{actorEditor, kindPrivate, "editor"},
			{actorViewer, kindPrivate, "viewer"},
			{actorOutsider, kindPublicViewer, "viewer"},
			{actorOutsider, kindPublicEditor, "editor"},
			{actorViewer, kindPublicEditor, "editor"},
			{actorViewer, kindPublicViewer, "viewer"},
		} {
			var s wsSession
			env.JSON(w.users[c.actor], "GET", "/api/sessions/"+w.sessions[c.kind].ID, nil, wsOK, &s)
			if s.Role != c.role {
				t.Errorf("%s on %s sees role %q, want %q", c.actor, c.kind, s.Role, c.role)
			}
		}
	})
}
