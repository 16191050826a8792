package workspace_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// recorder is the Notifier the service reports live events to.
type recorder struct {
	mu    sync.Mutex
	files []string // "event path"
	chats []string
	notes []*codebuddy.Notification
	// access holds "session user" of every AccessChanged.
	access []string
}

var _ codebuddy.Notifier = (*recorder)(nil)

func (r *recorder) FileChanged(_ context.Context, event string, f *codebuddy.File) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f.Content != "" {
		r.files = append(r.files, event+" "+f.Path+" WITH CONTENT")
		return
	}
	r.files = append(r.files, event+" "+f.Path)
}

func (r *recorder) ChatPosted(_ context.Context, m *codebuddy.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chats = append(r.chats, m.Username+": "+m.Content)
}

func (r *recorder) Notified(_ context.Context, n *codebuddy.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
}

func (r *recorder) AccessChanged(_ context.Context, sessionID, userID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.access = append(r.access, sessionID+" "+userID)
}

func (r *recorder) fileEvents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.files)
}

// clock is the service's settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func starter(language string) ([]*codebuddy.File, bool) {
	switch language {
	case "python":
		return []*codebuddy.File{{Name: "main.py", Content: "print('hi')\n"}}, true
	case "javascript":
		return []*codebuddy.File{{Name: "main.js", Content: "console.log('hi')\n"}}, true
	}
	return nil, false
}

// fixture is a service over a real store with one user per role and a private
// and a public session owned by owner, where editor and viewer are participants.
type fixture struct {
	db                              *sqlstore.DB
	ws                              *workspace.Service
	rec                             *recorder
	clock                           *clock
	owner, editor, viewer, outsider *codebuddy.User
	private, public                 *codebuddy.Session
}

func newFixture(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{db: db, rec: &recorder{}, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	fx.ws = workspace.New(workspace.Options{Store: db, Starter: starter, Notifier: fx.rec, Now: fx.clock.Now})
	user := func(name string) *codebuddy.User {
		u := &codebuddy.User{Username: name}
		if err := db.CreateUser(ctx, u, "hash"); err != nil {
			t.Fatal(err)
		}
		return u
	}
	fx.owner, fx.editor, fx.viewer, fx.outsider = user("owner"), user("editor"), user("viewer"), user("outsider")
	fx.private = fx.session(t, "private", false, codebuddy.RoleViewer)
	fx.public = fx.session(t, "public", true, codebuddy.RoleViewer)
	return fx
}

func (fx *fixture) session(t *testing.T, name string, public bool, visitor string) *codebuddy.Session {
	t.Helper()
	ctx := context.Background()
	lang := "python"
	s, err := fx.ws.CreateSession(ctx, fx.owner, workspace.SessionInput{Name: &name, Language: &lang, IsPublic: &public, VisitorRole: &visitor})
	if err != nil {
		t.Fatal(err)
	}
	for u, role := range map[*codebuddy.User]string{fx.editor: codebuddy.RoleEditor, fx.viewer: codebuddy.RoleViewer} {
		// The service only changes roles of participants; joining is the store's (invites, requests).
		if err := fx.db.SetRole(ctx, s.ID, u.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := codebuddy.ErrorCode(err); got != code {
		t.Fatalf("%s: got %v (code %q), want code %q", what, err, got, code)
	}
}

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	wantCode(t, what, err, codebuddy.EINVALID)
	if got := codebuddy.ErrorField(err); got != field {
		t.Fatalf("%s: %v names field %q, want %q", what, err, got, field)
	}
}

func ptr[T any](v T) *T { return &v }

func TestAccess(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		editorVisits := fx.session(t, "open", true, codebuddy.RoleEditor)
		cases := []struct {
			u    *codebuddy.User
			s    *codebuddy.Session
			role string // "" = not found
		}{
			{fx.owner, fx.private, codebuddy.RoleOwner},
			{fx.editor, fx.private, codebuddy.RoleEditor},
			{fx.viewer, fx.private, codebuddy.RoleViewer},
			{fx.outsider, fx.private, ""},
			{fx.outsider, fx.public, codebuddy.RoleViewer},
			{fx.outsider, editorVisits, codebuddy.RoleEditor},
			// On a public session a participant never has less than a visitor.
			{fx.viewer, editorVisits, codebuddy.RoleEditor},
			{fx.editor, fx.public, codebuddy.RoleEditor},
		}
		for _, c := range cases {
			s, role, err := fx.ws.Access(ctx, c.u, c.s.ID)
			if c.role == "" {
				wantCode(t, c.u.Username+" on "+c.s.Name, err, codebuddy.ENOTFOUND)
				continue
			}
			if err != nil || role != c.role || s.ID != c.s.ID {
				t.Fatalf("%s on %s: %q %v, want %q", c.u.Username, c.s.Name, role, err, c.role)
			}
		}
		_, _, err := fx.ws.Access(ctx, nil, fx.public.ID)
		wantCode(t, "anonymous", err, codebuddy.EUNAUTHORIZED)
		_, _, err = fx.ws.Access(ctx, fx.owner, "ghost")
		wantCode(t, "unknown session", err, codebuddy.ENOTFOUND)
		// A private session's not-found reads exactly like a missing one's.
		_, _, e1 := fx.ws.Access(ctx, fx.outsider, fx.private.ID)
		_, _, e2 := fx.ws.Access(ctx, fx.outsider, "ghost")
		if codebuddy.ErrorMessage(e1) != codebuddy.ErrorMessage(e2) {
			t.Fatalf("private %q vs missing %q: the difference leaks existence", e1, e2)
		}

		// Making the session private again shuts visitors out.
		if _, err := fx.ws.UpdateSession(ctx, fx.owner, fx.public.ID, workspace.SessionInput{IsPublic: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, _, err = fx.ws.Access(ctx, fx.outsider, fx.public.ID)
		wantCode(t, "visitor after going private", err, codebuddy.ENOTFOUND)
	})
}

func TestCreateSession(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		s, err := fx.ws.CreateSession(ctx, fx.outsider, workspace.SessionInput{Name: ptr("JS"), Language: ptr("javascript")})
		if err != nil {
			t.Fatal(err)
		}
		if s.IsPublic || s.VisitorRole != codebuddy.RoleViewer || s.OwnerID != fx.outsider.ID {
			t.Fatalf("defaults: %+v; want private, visitors view, caller owns", s)
		}
		files, err := fx.ws.Files(ctx, fx.outsider, s.ID)
		if err != nil || len(files) != 1 || files[0].Path != "main.js" {
			t.Fatalf("starter files %v %v", files, err)
		}
		f, _, err := fx.ws.File(ctx, fx.outsider, files[0].ID)
		if err != nil || f.Content != "console.log('hi')\n" {
			t.Fatalf("starter content %+v %v", f, err)
		}

		for _, c := range []struct {
			field string
			in    workspace.SessionInput
		}{
			{"name", workspace.SessionInput{Language: ptr("python")}},
			{"name", workspace.SessionInput{Name: ptr(" \t "), Language: ptr("python")}},
			{"name", workspace.SessionInput{Name: ptr(strings.Repeat("x", 101)), Language: ptr("python")}},
			{"language", workspace.SessionInput{Name: ptr("x")}},
			{"language", workspace.SessionInput{Name: ptr("x"), Language: ptr("cobol")}},
			{"visitorRole", workspace.SessionInput{Name: ptr("x"), Language: ptr("python"), VisitorRole: ptr("owner")}},
		} {
			_, err := fx.ws.CreateSession(ctx, fx.owner, c.in)
			wantField(t, "create with bad "+c.field, err, c.field)
		}

		// Without a starter table every language is accepted and starts empty.
		bare := workspace.New(workspace.Options{Store: db})
		s, err = bare.CreateSession(ctx, fx.owner, workspace.SessionInput{Name: ptr("bare"), Language: ptr("anything")})
		if err != nil {
			t.Fatal(err)
		}
		if files, _ := bare.Files(ctx, fx.owner, s.ID); len(files) != 0 {
			t.Fatalf("bare session has files %v", files)
		}
		// A nil notifier is replaced by one that drops events (no panic on create).
		bare.SetNotifier(nil)
		if _, err := bare.CreateFile(ctx, fx.owner, s.ID, workspace.FileInput{Name: "x"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUpdateAndDeleteSession(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		for _, c := range []struct {
			u    *codebuddy.User
			code string
		}{{fx.editor, codebuddy.EFORBIDDEN}, {fx.viewer, codebuddy.EFORBIDDEN}, {fx.outsider, codebuddy.ENOTFOUND}} {
			_, err := fx.ws.UpdateSession(ctx, c.u, fx.private.ID, workspace.SessionInput{Name: ptr("mine now")})
			wantCode(t, c.u.Username+" updates", err, c.code)
			wantCode(t, c.u.Username+" deletes", fx.ws.DeleteSession(ctx, c.u, fx.private.ID), c.code)
		}
		// A visitor of a public session with the editor role still may not manage it.
		if _, err := fx.ws.UpdateSession(ctx, fx.owner, fx.public.ID, workspace.SessionInput{VisitorRole: ptr(codebuddy.RoleEditor)}); err != nil {
			t.Fatal(err)
		}
		_, err := fx.ws.UpdateSession(ctx, fx.outsider, fx.public.ID, workspace.SessionInput{Name: ptr("x")})
		wantCode(t, "editor visitor updates", err, codebuddy.EFORBIDDEN)

		s, err := fx.ws.UpdateSession(ctx, fx.owner, fx.private.ID, workspace.SessionInput{Name: ptr("Renamed"), Language: ptr("javascript"),
			IsPublic: ptr(true), VisitorRole: ptr(codebuddy.RoleEditor)})
		if err != nil || s.Name != "Renamed" || s.Language != "javascript" || !s.IsPublic || s.VisitorRole != codebuddy.RoleEditor {
			t.Fatalf("update: %+v %v", s, err)
		}
		_, err = fx.ws.UpdateSession(ctx, fx.owner, fx.private.ID, workspace.SessionInput{Language: ptr("cobol")})
		wantField(t, "unknown language", err, "language")
		_, err = fx.ws.UpdateSession(ctx, fx.owner, fx.private.ID, workspace.SessionInput{VisitorRole: ptr("owner")})
		wantField(t, "visitor role owner", err, "visitorRole")
		_, err = fx.ws.UpdateSession(ctx, fx.owner, fx.private.ID, workspace.SessionInput{Name: ptr("")})
		wantField(t, "empty name", err, "name")
		if got, _, _ := fx.ws.Access(ctx, fx.owner, fx.private.ID); got.Name != "Renamed" {
			t.Fatalf("a rejected update changed the session: %+v", got)
		}

		if err := fx.ws.DeleteSession(ctx, fx.owner, fx.private.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = fx.ws.Access(ctx, fx.owner, fx.private.ID)
		wantCode(t, "deleted session", err, codebuddy.ENOTFOUND)
	})
}

func TestListSessions(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		_, err := fx.ws.ListSessions(ctx, fx.owner, codebuddy.SessionFilter{Scope: "everything"})
		wantField(t, "bad scope", err, "scope")
		_, err = fx.ws.ListSessions(ctx, fx.owner, codebuddy.SessionFilter{Query: strings.Repeat("q", 101)})
		wantField(t, "long query", err, "q")
		// UserID comes from the caller, never from the filter.
		list, err := fx.ws.ListSessions(ctx, fx.outsider, codebuddy.SessionFilter{UserID: fx.owner.ID, Scope: codebuddy.ScopeAll})
		if err != nil || len(list) != 1 || list[0].ID != fx.public.ID {
			t.Fatalf("outsider lists %v, %v; want only the public session", list, err)
		}
		list, _ = fx.ws.ListSessions(ctx, fx.viewer, codebuddy.SessionFilter{Scope: codebuddy.ScopeShared})
		if len(list) != 2 {
			t.Fatalf("viewer's shared = %d sessions, want 2", len(list))
		}
		// The role each caller acts with, per listed session.
		editorVisits := fx.session(t, "open", true, codebuddy.RoleEditor)
		all := []*codebuddy.Session{fx.private, fx.public, editorVisits}
		for u, want := range map[*codebuddy.User]map[string]string{
			fx.owner:    {fx.private.ID: "owner", fx.public.ID: "owner", editorVisits.ID: "owner"},
			fx.viewer:   {fx.private.ID: "viewer", fx.public.ID: "viewer", editorVisits.ID: "editor"},
			fx.outsider: {fx.public.ID: "viewer", editorVisits.ID: "editor"},
		} {
			roles, err := fx.ws.Roles(ctx, u, all)
			if err != nil {
				t.Fatal(err)
			}
			if len(roles) != len(want) {
				t.Errorf("%s's roles %v, want %v", u.Username, roles, want)
			}
			for id, role := range want {
				if roles[id] != role {
					t.Errorf("%s's roles %v, want %v", u.Username, roles, want)
				}
			}
		}
	})
}

func TestParticipantManagement(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		id := fx.private.ID

		wantCode(t, "editor sets role", fx.ws.SetRole(ctx, fx.editor, id, fx.viewer.ID, codebuddy.RoleEditor), codebuddy.EFORBIDDEN)
		wantCode(t, "outsider sets role", fx.ws.SetRole(ctx, fx.outsider, id, fx.viewer.ID, codebuddy.RoleEditor), codebuddy.ENOTFOUND)
		wantField(t, "role owner", fx.ws.SetRole(ctx, fx.owner, id, fx.viewer.ID, codebuddy.RoleOwner), "role")
		wantField(t, "role junk", fx.ws.SetRole(ctx, fx.owner, id, fx.viewer.ID, "admin"), "role")
		wantCode(t, "demote owner", fx.ws.SetRole(ctx, fx.owner, id, fx.owner.ID, codebuddy.RoleViewer), codebuddy.ECONFLICT)
		wantCode(t, "role for non-participant", fx.ws.SetRole(ctx, fx.owner, id, fx.outsider.ID, codebuddy.RoleEditor), codebuddy.ENOTFOUND)
		if err := fx.ws.SetRole(ctx, fx.owner, id, fx.editor.ID, codebuddy.RoleViewer); err != nil {
			t.Fatal(err)
		}
		if _, role, _ := fx.ws.Access(ctx, fx.editor, id); role != codebuddy.RoleViewer {
			t.Fatalf("demoted editor has %q", role)
		}

		// Everyone who can see the session can list who is in it.
		for _, u := range []*codebuddy.User{fx.owner, fx.editor, fx.viewer} {
			ps, err := fx.ws.Participants(ctx, u, id)
			if err != nil || len(ps) != 3 {
				t.Fatalf("%s lists %v, %v", u.Username, ps, err)
			}
		}
		_, err := fx.ws.Participants(ctx, fx.outsider, id)
		wantCode(t, "outsider lists", err, codebuddy.ENOTFOUND)
		if ps, err := fx.ws.Participants(ctx, fx.outsider, fx.public.ID); err != nil || len(ps) != 3 {
			t.Fatalf("visitor lists public participants: %v %v", ps, err)
		}

		wantCode(t, "viewer removes another", fx.ws.RemoveParticipant(ctx, fx.viewer, id, fx.editor.ID), codebuddy.EFORBIDDEN)
		wantCode(t, "outsider removes", fx.ws.RemoveParticipant(ctx, fx.outsider, id, fx.editor.ID), codebuddy.ENOTFOUND)
		wantCode(t, "owner leaves", fx.ws.RemoveParticipant(ctx, fx.owner, id, fx.owner.ID), codebuddy.ECONFLICT)
		wantCode(t, "editor removes owner", fx.ws.RemoveParticipant(ctx, fx.editor, id, fx.owner.ID), codebuddy.ECONFLICT)
		// A participant may leave; afterwards the private session is gone for them.
		if err := fx.ws.RemoveParticipant(ctx, fx.viewer, id, fx.viewer.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = fx.ws.Access(ctx, fx.viewer, id)
		wantCode(t, "after leaving", err, codebuddy.ENOTFOUND)
		if err := fx.ws.RemoveParticipant(ctx, fx.owner, id, fx.editor.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "remove twice", fx.ws.RemoveParticipant(ctx, fx.owner, id, fx.editor.ID), codebuddy.ENOTFOUND)
		// A visitor of a public session is not a participant: leaving finds nothing.
		wantCode(t, "visitor leaves", fx.ws.RemoveParticipant(ctx, fx.outsider, fx.public.ID, fx.outsider.ID), codebuddy.ENOTFOUND)
	})
}

func TestInvites(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		id := fx.private.ID

		_, _, err := fx.ws.CreateInvite(ctx, fx.editor, id, codebuddy.RoleEditor, 0, nil)
		wantCode(t, "editor invites", err, codebuddy.EFORBIDDEN)
		_, _, err = fx.ws.CreateInvite(ctx, fx.outsider, id, codebuddy.RoleEditor, 0, nil)
		wantCode(t, "outsider invites", err, codebuddy.ENOTFOUND)
		_, _, err = fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleOwner, 0, nil)
		wantField(t, "owner role invite", err, "role")
		_, _, err = fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleViewer, -time.Hour, nil)
		wantField(t, "negative ttl", err, "expiresInHours")
		_, _, err = fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleViewer, workspace.MaxInviteTTL+time.Hour, nil)
		wantField(t, "ttl too long", err, "expiresInHours")
		for _, n := range []int{0, -1, workspace.MaxInviteUses + 1} {
			_, _, err = fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleViewer, 0, &n)
			wantField(t, "max uses out of range", err, "maxUses")
		}

		inv, token, err := fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleEditor, time.Hour, ptr(1))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, workspace.InvitePrefix) || len(token) < 30 || inv.ExpiresAt == nil || !inv.ExpiresAt.Equal(fx.clock.Now().Add(time.Hour)) {
			t.Fatalf("invite %+v token %q", inv, token)
		}
		_, _, err = fx.ws.AcceptInvite(ctx, fx.outsider, "cb_"+strings.TrimPrefix(token, workspace.InvitePrefix))
		wantCode(t, "a token without the invite prefix", err, codebuddy.ENOTFOUND)
		_, _, err = fx.ws.AcceptInvite(ctx, fx.outsider, token+"x")
		wantCode(t, "a wrong token", err, codebuddy.ENOTFOUND)
		_, _, err = fx.ws.AcceptInvite(ctx, fx.outsider, workspace.InvitePrefix+strings.Repeat("a", 200))
		wantCode(t, "an overlong token", err, codebuddy.ENOTFOUND)

		s, role, err := fx.ws.AcceptInvite(ctx, fx.outsider, token)
		if err != nil || s.ID != id || role != codebuddy.RoleEditor {
			t.Fatalf("accept: %v %q %v", s, role, err)
		}
		// The owner hears about it, once, also when the link is opened again.
		if _, _, err := fx.ws.AcceptInvite(ctx, fx.outsider, token); err != nil {
			t.Fatalf("re-opening a used-up link as a member: %v", err)
		}
		ns, _ := fx.ws.Notifications(ctx, fx.owner, "", 0, false)
		var kinds []string
		for _, n := range ns {
			kinds = append(kinds, n.Kind)
		}
		if !slices.Equal(kinds, []string{codebuddy.NotifyInviteAccepted}) {
			t.Fatalf("owner's notifications = %v, want one invite_accepted", kinds)
		}
		if len(fx.rec.notes) != 1 || fx.rec.notes[0].UserID != fx.owner.ID {
			t.Fatalf("live notifications = %+v", fx.rec.notes)
		}

		// Used up (max 1), then expiry with the service's clock.
		newbie := &codebuddy.User{Username: "newbie"}
		if err := db.CreateUser(ctx, newbie, "h"); err != nil {
			t.Fatal(err)
		}
		_, _, err = fx.ws.AcceptInvite(ctx, newbie, token)
		wantCode(t, "used-up invite", err, codebuddy.ENOTFOUND)
		_, token2, err := fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleViewer, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		fx.clock.Advance(time.Hour)
		_, _, err = fx.ws.AcceptInvite(ctx, newbie, token2)
		wantCode(t, "expired invite", err, codebuddy.ENOTFOUND)

		// Revocation, and the owner opening their own link.
		inv3, token3, err := fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleViewer, 0, nil)
		if err != nil || inv3.ExpiresAt != nil {
			t.Fatalf("never-expiring invite %+v %v", inv3, err)
		}
		if _, role, err := fx.ws.AcceptInvite(ctx, fx.owner, token3); err != nil || role != codebuddy.RoleOwner {
			t.Fatalf("owner accepts own invite: %q %v", role, err)
		}
		// An editor accepting a viewer link keeps editing.
		if _, role, err := fx.ws.AcceptInvite(ctx, fx.editor, token3); err != nil || role != codebuddy.RoleEditor {
			t.Fatalf("editor accepts viewer invite: %q %v", role, err)
		}
		wantCode(t, "editor revokes", fx.ws.RevokeInvite(ctx, fx.editor, id, inv3.ID), codebuddy.EFORBIDDEN)
		if err := fx.ws.RevokeInvite(ctx, fx.owner, id, inv3.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = fx.ws.AcceptInvite(ctx, newbie, token3)
		wantCode(t, "revoked invite", err, codebuddy.ENOTFOUND)
		wantCode(t, "revoke another session's invite", fx.ws.RevokeInvite(ctx, fx.owner, fx.public.ID, inv.ID), codebuddy.ENOTFOUND)

		list, err := fx.ws.Invites(ctx, fx.owner, id)
		if err != nil || len(list) != 3 {
			t.Fatalf("invites %v %v", list, err)
		}
		_, err = fx.ws.Invites(ctx, fx.viewer, id)
		wantCode(t, "viewer lists invites", err, codebuddy.EFORBIDDEN)
		if ns, _ := fx.ws.Notifications(ctx, fx.owner, "", 0, false); len(ns) != 1 {
			t.Fatalf("owner got %d notifications, want still 1 (own/editor accepts are not news)", len(ns))
		}
		// A viewer lifted by an editor link is news.
		_, token4, err := fx.ws.CreateInvite(ctx, fx.owner, id, codebuddy.RoleEditor, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, role, err := fx.ws.AcceptInvite(ctx, fx.viewer, token4); err != nil || role != codebuddy.RoleEditor {
			t.Fatalf("viewer accepts editor invite: %q %v", role, err)
		}
		if ns, _ := fx.ws.Notifications(ctx, fx.owner, "", 0, false); len(ns) != 2 || ns[0].Kind != codebuddy.NotifyInviteAccepted {
			t.Fatalf("owner's notifications after an upgrade: %+v", ns)
		}
	})
}

func TestAccessRequests(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		id := fx.private.ID

		_, err := fx.ws.RequestAccess(ctx, fx.outsider, id, strings.Repeat("é", codebuddy.MaxRequestMessage+1))
		wantField(t, "long message", err, "message")
		_, err = fx.ws.RequestAccess(ctx, fx.outsider, "ghost", "")
		wantCode(t, "unknown session", err, codebuddy.ENOTFOUND)
		for _, u := range []*codebuddy.User{fx.owner, fx.editor} {
			_, err = fx.ws.RequestAccess(ctx, u, id, "")
			wantCode(t, u.Username+" asks", err, codebuddy.ECONFLICT)
		}

		r, err := fx.ws.RequestAccess(ctx, fx.outsider, id, "please <b>")
		if err != nil || r.Status != codebuddy.RequestPending || r.Username != "outsider" {
			t.Fatalf("request %+v %v", r, err)
		}
		_, err = fx.ws.RequestAccess(ctx, fx.outsider, id, "again")
		wantCode(t, "second pending request", err, codebuddy.ECONFLICT)
		// A viewer may ask for edit access.
		rv, err := fx.ws.RequestAccess(ctx, fx.viewer, id, "")
		if err != nil {
			t.Fatal(err)
		}

		ns, _ := fx.ws.Notifications(ctx, fx.owner, "", 0, false)
		if len(ns) != 2 || ns[1].Kind != codebuddy.NotifyAccessRequested || ns[1].Body != "please <b>" || *ns[1].SessionID != id {
			t.Fatalf("owner's notifications %+v", ns)
		}

		_, err = fx.ws.AccessRequests(ctx, fx.owner, id, "maybe")
		wantField(t, "bad status filter", err, "status")
		for _, c := range []struct {
			u    *codebuddy.User
			code string
		}{{fx.editor, codebuddy.EFORBIDDEN}, {fx.viewer, codebuddy.EFORBIDDEN}, {fx.outsider, codebuddy.ENOTFOUND}} {
			_, err = fx.ws.AccessRequests(ctx, c.u, id, "")
			wantCode(t, c.u.Username+" lists requests", err, c.code)
			// Deciding is only ever the owner's: forbidden to those who see the
			// session, and to the rest (the requester included) the request does not exist.
			_, err = fx.ws.DecideAccessRequest(ctx, c.u, r.ID, codebuddy.RequestAccepted)
			wantCode(t, c.u.Username+" decides", err, c.code)
		}
		// Public sessions: a viewer visitor may ask for edit access; an editor visitor has it.
		if _, err := fx.ws.RequestAccess(ctx, fx.outsider, fx.public.ID, ""); err != nil {
			t.Fatalf("viewer visitor asks: %v", err)
		}
		editorVisits := fx.session(t, "open", true, codebuddy.RoleEditor)
		_, err = fx.ws.RequestAccess(ctx, fx.outsider, editorVisits.ID, "")
		wantCode(t, "editor visitor asks", err, codebuddy.ECONFLICT)
		pr, _ := fx.ws.AccessRequests(ctx, fx.owner, fx.public.ID, "")
		_, err = fx.ws.DecideAccessRequest(ctx, fx.editor, pr[0].ID, codebuddy.RequestAccepted)
		wantCode(t, "public session's editor decides", err, codebuddy.EFORBIDDEN)
		_, err = fx.ws.DecideAccessRequest(ctx, fx.outsider, pr[0].ID, codebuddy.RequestAccepted)
		wantCode(t, "requester visiting decides own request", err, codebuddy.EFORBIDDEN)

		pending, err := fx.ws.AccessRequests(ctx, fx.owner, id, codebuddy.RequestPending)
		if err != nil || len(pending) != 2 {
			t.Fatalf("pending %v %v", pending, err)
		}

		_, err = fx.ws.DecideAccessRequest(ctx, fx.owner, r.ID, "maybe")
		wantField(t, "bad decision", err, "status")
		_, err = fx.ws.DecideAccessRequest(ctx, fx.owner, "ghost", codebuddy.RequestAccepted)
		wantCode(t, "unknown request", err, codebuddy.ENOTFOUND)
		got, err := fx.ws.DecideAccessRequest(ctx, fx.owner, r.ID, codebuddy.RequestAccepted)
		if err != nil || got.Status != codebuddy.RequestAccepted || got.DecidedAt == nil {
			t.Fatalf("accept %+v %v", got, err)
		}
		if _, role, _ := fx.ws.Access(ctx, fx.outsider, id); role != codebuddy.RoleEditor {
			t.Fatalf("accepted requester has %q, want editor", role)
		}
		_, err = fx.ws.DecideAccessRequest(ctx, fx.owner, r.ID, codebuddy.RequestRejected)
		wantCode(t, "decide twice", err, codebuddy.ECONFLICT)
		if _, err := fx.ws.DecideAccessRequest(ctx, fx.owner, rv.ID, codebuddy.RequestRejected); err != nil {
			t.Fatal(err)
		}
		if _, role, _ := fx.ws.Access(ctx, fx.viewer, id); role != codebuddy.RoleViewer {
			t.Fatalf("rejected viewer has %q, want viewer kept", role)
		}
		for u, kind := range map[*codebuddy.User]string{fx.outsider: codebuddy.NotifyAccessAccepted, fx.viewer: codebuddy.NotifyAccessRejected} {
			ns, _ := fx.ws.Notifications(ctx, u, "", 0, false)
			if len(ns) != 1 || ns[0].Kind != kind {
				t.Fatalf("%s's notifications %+v, want one %s", u.Username, ns, kind)
			}
		}
		if len(fx.rec.notes) != 5 {
			t.Fatalf("%d live notifications, want 5 (3 requests, 2 answers)", len(fx.rec.notes))
		}
	})
}

func TestFiles(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		id := fx.private.ID

		_, err := fx.ws.CreateFile(ctx, fx.viewer, id, workspace.FileInput{Name: "x"})
		wantCode(t, "viewer creates", err, codebuddy.EFORBIDDEN)
		_, err = fx.ws.CreateFile(ctx, fx.outsider, id, workspace.FileInput{Name: "x"})
		wantCode(t, "outsider creates", err, codebuddy.ENOTFOUND)
		_, err = fx.ws.Files(ctx, fx.outsider, id)
		wantCode(t, "outsider lists", err, codebuddy.ENOTFOUND)

		dir, err := fx.ws.CreateFile(ctx, fx.editor, id, workspace.FileInput{Name: "src", IsFolder: true})
		if err != nil {
			t.Fatal(err)
		}
		f, err := fx.ws.CreateFile(ctx, fx.editor, id, workspace.FileInput{ParentID: &dir.ID, Name: "a.py", Content: "a\r\nb\rc\n"})
		if err != nil || f.Path != "src/a.py" {
			t.Fatalf("create %+v %v", f, err)
		}
		got, role, err := fx.ws.File(ctx, fx.viewer, f.ID)
		if err != nil || role != codebuddy.RoleViewer || got.Content != "a\nb\nc\n" {
			t.Fatalf("viewer reads %q as %q, %v; want line breaks normalised to \\n", got.Content, role, err)
		}
		_, _, err = fx.ws.File(ctx, fx.outsider, f.ID)
		wantCode(t, "outsider reads a private file by id", err, codebuddy.ENOTFOUND)
		_, _, err = fx.ws.File(ctx, fx.owner, "ghost")
		wantCode(t, "unknown file", err, codebuddy.ENOTFOUND)

		_, err = fx.ws.MoveFile(ctx, fx.viewer, f.ID, ptr("b.py"), nil, false)
		wantCode(t, "viewer renames", err, codebuddy.EFORBIDDEN)
		_, err = fx.ws.MoveFile(ctx, fx.outsider, f.ID, ptr("b.py"), nil, false)
		wantCode(t, "outsider renames", err, codebuddy.ENOTFOUND)
		moved, err := fx.ws.MoveFile(ctx, fx.editor, f.ID, ptr("b.py"), nil, false)
		if err != nil || moved.Path != "src/b.py" {
			t.Fatalf("rename keeps the folder: %+v %v", moved, err)
		}
		moved, err = fx.ws.MoveFile(ctx, fx.owner, f.ID, nil, nil, true)
		if err != nil || moved.Path != "b.py" || moved.Name != "b.py" {
			t.Fatalf("move to root keeps the name: %+v %v", moved, err)
		}
		_, err = fx.ws.MoveFile(ctx, fx.owner, dir.ID, nil, &dir.ID, true)
		wantField(t, "folder into itself", err, "parentId")

		wantCode(t, "viewer deletes", fx.ws.DeleteFile(ctx, fx.viewer, dir.ID), codebuddy.EFORBIDDEN)
		wantCode(t, "outsider deletes", fx.ws.DeleteFile(ctx, fx.outsider, dir.ID), codebuddy.ENOTFOUND)
		if err := fx.ws.DeleteFile(ctx, fx.editor, dir.ID); err != nil {
			t.Fatal(err)
		}
		want := []string{"created src", "created src/a.py", "renamed src/b.py", "renamed b.py", "deleted src"}
		if got := fx.rec.fileEvents(); !slices.Equal(got, want) {
			t.Fatalf("file events %v, want %v (never with content)", got, want)
		}

		// A visitor acts with the visitor role: viewer cannot, editor can.
		_, err = fx.ws.CreateFile(ctx, fx.outsider, fx.public.ID, workspace.FileInput{Name: "v.py"})
		wantCode(t, "viewer visitor creates", err, codebuddy.EFORBIDDEN)
		if _, err := fx.ws.UpdateSession(ctx, fx.owner, fx.public.ID, workspace.SessionInput{VisitorRole: ptr(codebuddy.RoleEditor)}); err != nil {
			t.Fatal(err)
		}
		vf, err := fx.ws.CreateFile(ctx, fx.outsider, fx.public.ID, workspace.FileInput{Name: "v.py"})
		if err != nil {
			t.Fatalf("editor visitor creates: %v", err)
		}
		if err := fx.ws.DeleteFile(ctx, fx.outsider, vf.ID); err != nil {
			t.Fatalf("editor visitor deletes: %v", err)
		}
	})
}

func TestChat(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		id := fx.private.ID
		// Every participant chats, viewers included; visitors of public sessions too.
		for _, u := range []*codebuddy.User{fx.owner, fx.editor, fx.viewer} {
			if _, err := fx.ws.PostMessage(ctx, u, id, "hi from "+u.Username); err != nil {
				t.Fatalf("%s posts: %v", u.Username, err)
			}
		}
		if _, err := fx.ws.PostMessage(ctx, fx.outsider, fx.public.ID, "<script>x</script>"); err != nil {
			t.Fatalf("visitor posts: %v", err)
		}
		_, err := fx.ws.PostMessage(ctx, fx.outsider, id, "let me in")
		wantCode(t, "outsider posts", err, codebuddy.ENOTFOUND)
		_, err = fx.ws.Messages(ctx, fx.outsider, id, "", 10)
		wantCode(t, "outsider reads", err, codebuddy.ENOTFOUND)
		_, err = fx.ws.PostMessage(ctx, fx.owner, id, "")
		wantField(t, "empty message", err, "content")
		_, err = fx.ws.PostMessage(ctx, fx.owner, id, strings.Repeat("x", codebuddy.MaxMessageChars+1))
		wantField(t, "long message", err, "content")
		for _, limit := range []int{-1, codebuddy.MaxPageSize + 1} {
			_, err = fx.ws.Messages(ctx, fx.owner, id, "", limit)
			wantField(t, "bad limit", err, "limit")
		}

		list, err := fx.ws.Messages(ctx, fx.viewer, id, "", 2)
		if err != nil || len(list) != 2 || list[0].Content != "hi from viewer" || list[1].Content != "hi from editor" {
			t.Fatalf("first page %+v %v", list, err)
		}
		rest, _ := fx.ws.Messages(ctx, fx.viewer, id, list[1].ID, 2)
		if len(rest) != 1 || rest[0].Content != "hi from owner" {
			t.Fatalf("second page %+v", rest)
		}
		fx.rec.mu.Lock()
		chats := slices.Clone(fx.rec.chats)
		fx.rec.mu.Unlock()
		if want := []string{"owner: hi from owner", "editor: hi from editor", "viewer: hi from viewer", "outsider: <script>x</script>"}; !slices.Equal(chats, want) {
			t.Fatalf("live chat %v, want %v", chats, want)
		}
	})
}

func TestNotifications(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		for range 3 {
			if _, err := fx.ws.RequestAccess(ctx, fx.outsider, fx.private.ID, ""); err != nil {
				t.Fatal(err)
			}
			rs, _ := fx.ws.AccessRequests(ctx, fx.owner, fx.private.ID, codebuddy.RequestPending)
			if _, err := fx.ws.DecideAccessRequest(ctx, fx.owner, rs[0].ID, codebuddy.RequestRejected); err != nil {
				t.Fatal(err)
			}
		}
		for _, limit := range []int{-1, codebuddy.MaxPageSize + 1} {
			_, err := fx.ws.Notifications(ctx, fx.owner, "", limit, false)
			wantField(t, "bad limit", err, "limit")
		}
		ns, err := fx.ws.Notifications(ctx, fx.owner, "", 2, false)
		if err != nil || len(ns) != 2 {
			t.Fatalf("page %v %v", ns, err)
		}
		if n, _ := fx.ws.UnreadCount(ctx, fx.owner); n != 3 {
			t.Fatalf("owner unread = %d", n)
		}
		wantCode(t, "outsider marks owner's", fx.ws.MarkRead(ctx, fx.outsider, ns[0].ID), codebuddy.ENOTFOUND)
		wantCode(t, "outsider deletes owner's", fx.ws.DeleteNotification(ctx, fx.outsider, ns[0].ID), codebuddy.ENOTFOUND)
		if err := fx.ws.MarkRead(ctx, fx.owner, ns[0].ID); err != nil {
			t.Fatal(err)
		}
		if unread, _ := fx.ws.Notifications(ctx, fx.owner, "", 0, true); len(unread) != 2 {
			t.Fatalf("unread list %v", unread)
		}
		if n, err := fx.ws.MarkAllRead(ctx, fx.owner); err != nil || n != 2 {
			t.Fatalf("mark all = %d %v", n, err)
		}
		if err := fx.ws.DeleteNotification(ctx, fx.owner, ns[1].ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := fx.ws.UnreadCount(ctx, fx.outsider); n != 3 {
			t.Fatalf("outsider's unread = %d, want their 3 rejections untouched", n)
		}
	})
}

// TestPublicSessionRoleFloor: on a public session nobody in it has fewer rights
// than a stranger, whatever link they opened or role the owner gave them.
func TestPublicSessionRoleFloor(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		open := fx.session(t, "open", true, codebuddy.RoleEditor)
		_, token, err := fx.ws.CreateInvite(ctx, fx.owner, open.ID, codebuddy.RoleViewer, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, role, err := fx.ws.AcceptInvite(ctx, fx.outsider, token); err != nil || role != codebuddy.RoleEditor {
			t.Fatalf("accepting a viewer link as an editor visitor answers role %q, %v; want editor, what they can do", role, err)
		}
		if _, role, _ := fx.ws.Access(ctx, fx.outsider, open.ID); role != codebuddy.RoleEditor {
			t.Fatalf("after opening a viewer link as an editor visitor: %q, want editor kept", role)
		}
		if err := fx.ws.SetRole(ctx, fx.owner, open.ID, fx.editor.ID, codebuddy.RoleViewer); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.ws.CreateFile(ctx, fx.editor, open.ID, workspace.FileInput{Name: "still.py"}); err != nil {
			t.Fatalf("a viewer participant where visitors edit: %v", err)
		}
		// Going private takes the floor away: the stored role is all that is left.
		if _, err := fx.ws.UpdateSession(ctx, fx.owner, open.ID, workspace.SessionInput{IsPublic: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = fx.ws.CreateFile(ctx, fx.editor, open.ID, workspace.FileInput{Name: "now.py"})
		wantCode(t, "viewer participant of a private session", err, codebuddy.EFORBIDDEN)
	})
}

// TestErrorsAreNotDisguised: a failing store is an internal error to the caller,
// never a "not found" that would hide the failure (and a missing sign-in is 401).
func TestErrorsAreNotDisguised(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		fx := newFixture(t, db)
		f, err := fx.ws.CreateFile(ctx, fx.owner, fx.private.ID, workspace.FileInput{Name: "x.py"})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = fx.ws.File(ctx, nil, f.ID)
		wantCode(t, "anonymous reads a file", err, codebuddy.EUNAUTHORIZED)
		db.Close()
		_, _, err = fx.ws.File(ctx, fx.owner, f.ID)
		wantCode(t, "file on a closed database", err, codebuddy.EINTERNAL)
		_, _, err = fx.ws.Access(ctx, fx.owner, fx.private.ID)
		wantCode(t, "access on a closed database", err, codebuddy.EINTERNAL)
		_, err = fx.ws.DecideAccessRequest(ctx, fx.owner, "r", codebuddy.RequestAccepted)
		wantCode(t, "decide on a closed database", err, codebuddy.EINTERNAL)
		_, err = fx.ws.RequestAccess(ctx, fx.outsider, fx.private.ID, "")
		wantCode(t, "request on a closed database", err, codebuddy.EINTERNAL)
	})
}
