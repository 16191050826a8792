package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

// stepClock advances by one second on every reading, so rows written one after
// another get distinct, ordered timestamps on both engines.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func withClock(db *sqlstore.DB) *stepClock {
	c := &stepClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	db.Now = c.Now
	return c
}

func newUser(t *testing.T, db *sqlstore.DB, name string) *codebuddy.User {
	t.Helper()
	u := &codebuddy.User{Username: name}
	if err := db.CreateUser(context.Background(), u, "hash"); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func newSession(t *testing.T, db *sqlstore.DB, owner *codebuddy.User, name string, public bool, starter ...*codebuddy.File) *codebuddy.Session {
	t.Helper()
	s := &codebuddy.Session{Name: name, Language: "python", IsPublic: public, VisitorRole: codebuddy.RoleViewer, OwnerID: owner.ID}
	if err := db.CreateSession(context.Background(), s, starter); err != nil {
		t.Fatalf("create session %s: %v", name, err)
	}
	return s
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := codebuddy.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

func wantField(t *testing.T, what string, err error, code, field string) {
	t.Helper()
	wantCode(t, what, err, code)
	if got := codebuddy.ErrorField(err); got != field {
		t.Fatalf("%s: error %v names field %q, want %q", what, err, got, field)
	}
}

func count(t *testing.T, db *sqlstore.DB, table, where string, args ...any) int {
	t.Helper()
	n, err := db.CountRows(context.Background(), table, where, args...)
	if err != nil {
		t.Fatalf("count %s where %s: %v", table, where, err)
	}
	return n
}

func TestSessionCRUD(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "  Hello  ", false, &codebuddy.File{Name: "main.py", Content: "print(1)\n"})

		got, err := db.Session(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Hello" || got.Language != "python" || got.IsPublic || got.OwnerID != alice.ID ||
			got.VisitorRole != codebuddy.RoleViewer || !got.CreatedAt.Equal(s.CreatedAt) {
			t.Fatalf("Session = %+v, want the created one with a trimmed name", got)
		}
		if role, err := db.Role(ctx, s.ID, alice.ID); err != nil || role != codebuddy.RoleOwner {
			t.Fatalf("owner's role = %q, %v", role, err)
		}
		files, err := db.Files(ctx, s.ID)
		if err != nil || len(files) != 1 || files[0].Path != "main.py" || files[0].Content != "" {
			t.Fatalf("starter files = %+v, %v; want main.py without content in the listing", files, err)
		}
		if f, err := db.File(ctx, files[0].ID); err != nil || f.Content != "print(1)\n" {
			t.Fatalf("starter file = %+v, %v", f, err)
		}

		got.Name, got.IsPublic, got.VisitorRole, got.Language = "Renamed", true, codebuddy.RoleEditor, "javascript"
		if err := db.UpdateSession(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, _ := db.Session(ctx, s.ID)
		if again.Name != "Renamed" || !again.IsPublic || again.VisitorRole != codebuddy.RoleEditor ||
			again.Language != "javascript" || !again.UpdatedAt.After(s.UpdatedAt) {
			t.Fatalf("after update: %+v", again)
		}

		bad := []struct {
			field string
			edit  func(*codebuddy.Session)
		}{
			{"name", func(s *codebuddy.Session) { s.Name = "   " }},
			{"name", func(s *codebuddy.Session) { s.Name = string(make([]rune, 101)) }},
			{"name", func(s *codebuddy.Session) { s.Name = "a\x07b" }},
			{"language", func(s *codebuddy.Session) { s.Language = "" }},
			{"visitorRole", func(s *codebuddy.Session) { s.VisitorRole = codebuddy.RoleOwner }},
		}
		for _, b := range bad {
			c := *again
			b.edit(&c)
			wantField(t, "update "+b.field, db.UpdateSession(ctx, &c), codebuddy.EINVALID, b.field)
			n := &codebuddy.Session{Name: "ok", Language: "python", VisitorRole: codebuddy.RoleViewer, OwnerID: alice.ID}
			b.edit(n)
			wantField(t, "create "+b.field, db.CreateSession(ctx, n, nil), codebuddy.EINVALID, b.field)
		}
		// Exactly 100 characters (multi-byte) is allowed.
		c := *again
		c.Name = string(slices.Repeat([]rune{'é'}, 100))
		if err := db.UpdateSession(ctx, &c); err != nil {
			t.Fatalf("100-character name: %v", err)
		}

		wantCode(t, "unknown owner", db.CreateSession(ctx, &codebuddy.Session{Name: "x", Language: "python",
			VisitorRole: codebuddy.RoleViewer, OwnerID: "nobody"}, nil), codebuddy.ENOTFOUND)
		_, err = db.Session(ctx, "nope")
		wantCode(t, "missing session", err, codebuddy.ENOTFOUND)
		wantCode(t, "update missing", db.UpdateSession(ctx, &codebuddy.Session{ID: "nope", Name: "x", Language: "python",
			VisitorRole: codebuddy.RoleViewer}), codebuddy.ENOTFOUND)
		if err := db.DeleteSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete twice", db.DeleteSession(ctx, s.ID), codebuddy.ENOTFOUND)
		_, err = db.Session(ctx, s.ID)
		wantCode(t, "deleted session", err, codebuddy.ENOTFOUND)
	})
}

func TestParticipants(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice, bob, carol := newUser(t, db, "alice"), newUser(t, db, "bob"), newUser(t, db, "carol")
		s := newSession(t, db, alice, "s", false)

		if role, err := db.Role(ctx, s.ID, bob.ID); err != nil || role != "" {
			t.Fatalf("non-participant role = %q, %v; want empty", role, err)
		}
		if err := db.SetRole(ctx, s.ID, bob.ID, codebuddy.RoleViewer); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRole(ctx, s.ID, carol.ID, codebuddy.RoleEditor); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRole(ctx, s.ID, bob.ID, codebuddy.RoleEditor); err != nil {
			t.Fatal(err)
		}
		ps, err := db.Participants(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			if p.SessionID != s.ID || p.JoinedAt.IsZero() {
				t.Fatalf("participant %+v", p)
			}
			got = append(got, p.Username+":"+p.Role)
		}
		if want := []string{"alice:owner", "bob:editor", "carol:editor"}; !slices.Equal(got, want) {
			t.Fatalf("participants = %v, want %v (join order, role changes in place)", got, want)
		}
		other := newSession(t, db, carol, "other", false)
		roles, err := db.RolesOf(ctx, carol.ID, []string{s.ID, other.ID, "ghost"})
		if err != nil || len(roles) != 2 || roles[s.ID] != codebuddy.RoleEditor || roles[other.ID] != codebuddy.RoleOwner {
			t.Fatalf("RolesOf = %v, %v", roles, err)
		}
		if roles, err := db.RolesOf(ctx, carol.ID, nil); err != nil || len(roles) != 0 {
			t.Fatalf("RolesOf no sessions = %v, %v", roles, err)
		}
		wantCode(t, "set role of unknown user", db.SetRole(ctx, s.ID, "ghost", codebuddy.RoleViewer), codebuddy.ENOTFOUND)
		wantCode(t, "set role in unknown session", db.SetRole(ctx, "ghost", bob.ID, codebuddy.RoleViewer), codebuddy.ENOTFOUND)

		if err := db.RemoveParticipant(ctx, s.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "remove twice", db.RemoveParticipant(ctx, s.ID, bob.ID), codebuddy.ENOTFOUND)
		if role, _ := db.Role(ctx, s.ID, bob.ID); role != "" {
			t.Fatalf("removed participant still has role %q", role)
		}
	})
}

func TestInvites(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := withClock(db)
		alice, bob, carol, dave := newUser(t, db, "alice"), newUser(t, db, "bob"), newUser(t, db, "carol"), newUser(t, db, "dave")
		s := newSession(t, db, alice, "s", false)
		now := clock.Now()

		two := 2
		editor := &codebuddy.Invite{SessionID: s.ID, CreatedBy: alice.ID, Role: codebuddy.RoleEditor, MaxUses: &two}
		if err := db.CreateInvite(ctx, editor, []byte("editor")); err != nil {
			t.Fatal(err)
		}
		exp := now.Add(time.Hour)
		viewer := &codebuddy.Invite{SessionID: s.ID, CreatedBy: alice.ID, Role: codebuddy.RoleViewer, ExpiresAt: &exp}
		if err := db.CreateInvite(ctx, viewer, []byte("viewer")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "invite to unknown session", db.CreateInvite(ctx, &codebuddy.Invite{SessionID: "ghost",
			CreatedBy: alice.ID, Role: codebuddy.RoleViewer}, []byte("x")), codebuddy.ENOTFOUND)

		// The owner opening their own link changes nothing and uses nothing up.
		inv, role, err := db.UseInvite(ctx, []byte("editor"), alice.ID, now)
		if err != nil || role != codebuddy.RoleOwner || inv.Uses != 0 {
			t.Fatalf("owner uses own invite: %+v %q %v", inv, role, err)
		}
		// An editor invite lifts a viewer; a viewer invite never lowers an editor.
		if err := db.SetRole(ctx, s.ID, bob.ID, codebuddy.RoleViewer); err != nil {
			t.Fatal(err)
		}
		if _, role, err := db.UseInvite(ctx, []byte("editor"), bob.ID, now); err != nil || role != codebuddy.RoleEditor {
			t.Fatalf("viewer uses editor invite: %q %v", role, err)
		}
		if _, role, err := db.UseInvite(ctx, []byte("viewer"), bob.ID, now); err != nil || role != codebuddy.RoleEditor {
			t.Fatalf("editor uses viewer invite: role %q %v, want editor kept", role, err)
		}
		if r, _ := db.Role(ctx, s.ID, bob.ID); r != codebuddy.RoleEditor {
			t.Fatalf("bob's stored role = %q, want editor", r)
		}
		// Max uses: bob used one of two; carol takes the second; dave finds it used up.
		if inv, role, err := db.UseInvite(ctx, []byte("editor"), carol.ID, now); err != nil || role != codebuddy.RoleEditor || inv.Uses != 2 {
			t.Fatalf("second use: %+v %q %v", inv, role, err)
		}
		_, _, err = db.UseInvite(ctx, []byte("editor"), dave.ID, now)
		wantCode(t, "used-up invite", err, codebuddy.ENOTFOUND)
		if r, _ := db.Role(ctx, s.ID, dave.ID); r != "" {
			t.Fatalf("dave got role %q from a used-up invite", r)
		}
		// Someone already at the invite's role does not consume a use even when none is left.
		if _, role, err := db.UseInvite(ctx, []byte("editor"), carol.ID, now); err != nil || role != codebuddy.RoleEditor {
			t.Fatalf("re-use by a member: %q %v", role, err)
		}

		// Expiry is exclusive: usable just before, not at the instant.
		_, _, err = db.UseInvite(ctx, []byte("viewer"), dave.ID, exp)
		wantCode(t, "expired invite", err, codebuddy.ENOTFOUND)
		if _, role, err := db.UseInvite(ctx, []byte("viewer"), dave.ID, exp.Add(-time.Second)); err != nil || role != codebuddy.RoleViewer {
			t.Fatalf("invite before expiry: %q %v", role, err)
		}

		// Revocation.
		wantCode(t, "revoke in other session", db.RevokeInvite(ctx, "ghost", viewer.ID, now), codebuddy.ENOTFOUND)
		if err := db.RevokeInvite(ctx, s.ID, viewer.ID, now); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "revoke twice", db.RevokeInvite(ctx, s.ID, viewer.ID, now), codebuddy.ENOTFOUND)
		eve := newUser(t, db, "eve")
		_, _, err = db.UseInvite(ctx, []byte("viewer"), eve.ID, now)
		wantCode(t, "revoked invite", err, codebuddy.ENOTFOUND)
		_, _, err = db.UseInvite(ctx, []byte("nope"), eve.ID, now)
		wantCode(t, "unknown invite", err, codebuddy.ENOTFOUND)

		if got, err := db.InviteByHash(ctx, []byte("viewer")); err != nil || got.ID != viewer.ID || got.RevokedAt == nil {
			t.Fatalf("InviteByHash of a revoked invite = %+v, %v; want it, marked revoked", got, err)
		}
		_, err = db.InviteByHash(ctx, []byte("nope"))
		wantCode(t, "InviteByHash unknown", err, codebuddy.ENOTFOUND)

		list, err := db.Invites(ctx, s.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("Invites = %v, %v", list, err)
		}
		byID := map[string]*codebuddy.Invite{list[0].ID: list[0], list[1].ID: list[1]}
		if e := byID[editor.ID]; e.Uses != 2 || *e.MaxUses != 2 || e.RevokedAt != nil || e.ExpiresAt != nil {
			t.Fatalf("editor invite listed as %+v", e)
		}
		if v := byID[viewer.ID]; v.Uses != 1 || v.RevokedAt == nil || !v.ExpiresAt.Equal(exp) {
			t.Fatalf("viewer invite listed as %+v", v)
		}
	})
}

func TestAccessRequests(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := withClock(db)
		alice, bob, carol := newUser(t, db, "alice"), newUser(t, db, "bob"), newUser(t, db, "carol")
		s := newSession(t, db, alice, "s", false)

		r1 := &codebuddy.AccessRequest{SessionID: s.ID, UserID: bob.ID, Message: "let me in"}
		if err := db.CreateAccessRequest(ctx, r1); err != nil {
			t.Fatal(err)
		}
		if r1.Status != codebuddy.RequestPending || r1.ID == "" {
			t.Fatalf("created request %+v", r1)
		}
		wantCode(t, "second pending request", db.CreateAccessRequest(ctx,
			&codebuddy.AccessRequest{SessionID: s.ID, UserID: bob.ID}), codebuddy.ECONFLICT)
		wantCode(t, "request for unknown session", db.CreateAccessRequest(ctx,
			&codebuddy.AccessRequest{SessionID: "ghost", UserID: bob.ID}), codebuddy.ENOTFOUND)
		r2 := &codebuddy.AccessRequest{SessionID: s.ID, UserID: carol.ID}
		if err := db.CreateAccessRequest(ctx, r2); err != nil {
			t.Fatal(err)
		}

		got, err := db.AccessRequest(ctx, r1.ID)
		if err != nil || got.Username != "bob" || got.Message != "let me in" || got.DecidedAt != nil {
			t.Fatalf("AccessRequest = %+v, %v", got, err)
		}
		_, err = db.AccessRequest(ctx, "ghost")
		wantCode(t, "unknown request", err, codebuddy.ENOTFOUND)

		// Rejecting frees the slot: bob may ask again; the rejected one stays as history.
		now := clock.Now()
		dec, err := db.DecideAccessRequest(ctx, r1.ID, codebuddy.RequestRejected, now)
		if err != nil || dec.Status != codebuddy.RequestRejected || dec.DecidedAt == nil || !dec.DecidedAt.Equal(now) {
			t.Fatalf("reject: %+v %v", dec, err)
		}
		_, err = db.DecideAccessRequest(ctx, r1.ID, codebuddy.RequestAccepted, now)
		wantCode(t, "decide twice", err, codebuddy.ECONFLICT)
		if role, _ := db.Role(ctx, s.ID, bob.ID); role != "" {
			t.Fatalf("rejected requester has role %q", role)
		}
		r3 := &codebuddy.AccessRequest{SessionID: s.ID, UserID: bob.ID}
		if err := db.CreateAccessRequest(ctx, r3); err != nil {
			t.Fatalf("new request after rejection: %v", err)
		}

		// Accepting grants editor, also lifting a viewer.
		if err := db.SetRole(ctx, s.ID, bob.ID, codebuddy.RoleViewer); err != nil {
			t.Fatal(err)
		}
		if _, err := db.DecideAccessRequest(ctx, r3.ID, codebuddy.RequestAccepted, now); err != nil {
			t.Fatal(err)
		}
		if role, _ := db.Role(ctx, s.ID, bob.ID); role != codebuddy.RoleEditor {
			t.Fatalf("accepted viewer has role %q, want editor", role)
		}
		if _, err := db.DecideAccessRequest(ctx, r2.ID, codebuddy.RequestAccepted, now); err != nil {
			t.Fatal(err)
		}
		if role, _ := db.Role(ctx, s.ID, carol.ID); role != codebuddy.RoleEditor {
			t.Fatalf("accepted outsider has role %q, want editor", role)
		}

		ids := func(status string) []string {
			rs, err := db.AccessRequests(ctx, s.ID, status)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		if got := ids(""); !slices.Equal(got, []string{r1.ID, r2.ID, r3.ID}) {
			t.Fatalf("all requests = %v", got)
		}
		if got := ids(codebuddy.RequestAccepted); !slices.Equal(got, []string{r2.ID, r3.ID}) {
			t.Fatalf("accepted = %v", got)
		}
		if got := ids(codebuddy.RequestRejected); !slices.Equal(got, []string{r1.ID}) {
			t.Fatalf("rejected = %v", got)
		}
		if got := ids(codebuddy.RequestPending); len(got) != 0 {
			t.Fatalf("pending = %v", got)
		}
		_, err = db.DecideAccessRequest(ctx, "ghost", codebuddy.RequestAccepted, now)
		wantCode(t, "decide unknown", err, codebuddy.ECONFLICT)
	})
}

func TestListSessionsScopes(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice, bob := newUser(t, db, "alice"), newUser(t, db, "bob")
		alpha := newSession(t, db, alice, "alpha", false)
		beta := newSession(t, db, alice, "beta", true)
		gamma := newSession(t, db, bob, "gamma", false)
		delta := newSession(t, db, bob, "delta", true)
		hidden := newSession(t, db, bob, "hidden", false)
		if err := db.SetRole(ctx, gamma.ID, alice.ID, codebuddy.RoleViewer); err != nil {
			t.Fatal(err)
		}
		_ = hidden

		names := func(f codebuddy.SessionFilter) []string {
			t.Helper()
			list, err := db.ListSessions(ctx, f)
			if err != nil {
				t.Fatalf("ListSessions(%+v): %v", f, err)
			}
			var out []string
			for _, s := range list {
				out = append(out, s.Name)
			}
			return out
		}
		// Newest first (the step clock makes creation order the update order).
		for _, c := range []struct {
			scope string
			want  []string
		}{
			{codebuddy.ScopeMine, []string{"beta", "alpha"}},
			{codebuddy.ScopeShared, []string{"gamma"}},
			{codebuddy.ScopePublic, []string{"delta", "beta"}},
			{codebuddy.ScopeAll, []string{"delta", "gamma", "beta", "alpha"}},
			{"", []string{"delta", "gamma", "beta", "alpha"}},
		} {
			if got := names(codebuddy.SessionFilter{UserID: alice.ID, Scope: c.scope}); !slices.Equal(got, c.want) {
				t.Errorf("scope %q for alice = %v, want %v", c.scope, got, c.want)
			}
		}
		if got := names(codebuddy.SessionFilter{UserID: bob.ID, Scope: codebuddy.ScopeMine}); !slices.Equal(got, []string{"hidden", "delta", "gamma"}) {
			t.Errorf("bob's own sessions = %v", got)
		}

		// Updating moves a session to the front.
		alpha.Name = "alpha"
		if err := db.UpdateSession(ctx, alpha); err != nil {
			t.Fatal(err)
		}
		if got := names(codebuddy.SessionFilter{UserID: alice.ID, Scope: codebuddy.ScopeMine}); !slices.Equal(got, []string{"alpha", "beta"}) {
			t.Errorf("after touching alpha: %v", got)
		}

		// Paging walks the whole list once.
		var paged []string
		for off := 0; ; off += 2 {
			page := names(codebuddy.SessionFilter{UserID: alice.ID, Scope: codebuddy.ScopeAll, Limit: 2, Offset: off})
			paged = append(paged, page...)
			if len(page) < 2 {
				break
			}
		}
		if want := []string{"alpha", "delta", "gamma", "beta"}; !slices.Equal(paged, want) {
			t.Errorf("paged = %v, want %v", paged, want)
		}
		_ = beta
		_ = delta
	})
}

func TestListSessionsSearchEscapesWildcards(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice := newUser(t, db, "alice")
		for _, n := range []string{"100% done", "1000 done", "snake_case", "snakeXcase", `back\slash`, "backXslash", "Mixed Case", "École d'été"} {
			newSession(t, db, alice, n, false)
		}
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"%", []string{"100% done"}},
			{"0% d", []string{"100% done"}},
			{"_", []string{"snake_case"}},
			{"e_c", []string{"snake_case"}},
			{`\`, []string{`back\slash`}},
			{`k\s`, []string{`back\slash`}},
			{"mixed c", []string{"Mixed Case"}},
			{"DONE", []string{"1000 done", "100% done"}},
			// Non-ASCII: the name as written always finds it.
			{"École", []string{"École d'été"}},
			{"d'été", []string{"École d'été"}},
			{"nothing", nil},
		} {
			list, err := db.ListSessions(ctx, codebuddy.SessionFilter{UserID: alice.ID, Scope: codebuddy.ScopeMine, Query: c.q})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range list {
				got = append(got, s.Name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("q=%q: %v, want %v", c.q, got, c.want)
			}
		}
		// Other cases of non-ASCII letters: PostgreSQL folds them, SQLite's lower()
		// only folds ASCII (a folded name column would be needed there).
		if db.Engine() == sqlstore.Postgres {
			for _, q := range []string{"école", "ÉTÉ"} {
				list, _ := db.ListSessions(ctx, codebuddy.SessionFilter{UserID: alice.ID, Scope: codebuddy.ScopeMine, Query: q})
				if len(list) != 1 {
					t.Errorf("q=%q on PostgreSQL: %d results, want École d'été", q, len(list))
				}
			}
		}
	})
}

// TestDeleteSessionLeavesNoOrphans fills every table that hangs off a session,
// deletes it, and checks that nothing of it is left while a second session stays whole.
func TestDeleteSessionLeavesNoOrphans(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice, bob, carol := newUser(t, db, "alice"), newUser(t, db, "bob"), newUser(t, db, "carol")

		fill := func(name string) *codebuddy.Session {
			s := newSession(t, db, alice, name, false, &codebuddy.File{Name: "main.py", Content: "x"})
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("fill %s: %v", name, err)
				}
			}
			must(db.SetRole(ctx, s.ID, bob.ID, codebuddy.RoleEditor))
			must(db.CreateInvite(ctx, &codebuddy.Invite{SessionID: s.ID, CreatedBy: alice.ID, Role: codebuddy.RoleViewer}, []byte("h-"+name)))
			must(db.CreateAccessRequest(ctx, &codebuddy.AccessRequest{SessionID: s.ID, UserID: carol.ID}))
			dir := &codebuddy.File{SessionID: s.ID, Name: "src", IsFolder: true}
			must(db.CreateFile(ctx, dir))
			sub := &codebuddy.File{SessionID: s.ID, ParentID: &dir.ID, Name: "pkg", IsFolder: true}
			must(db.CreateFile(ctx, sub))
			leaf := &codebuddy.File{SessionID: s.ID, ParentID: &sub.ID, Name: "a.py", Content: "a"}
			must(db.CreateFile(ctx, leaf))
			must(db.AppendUpdates(ctx, leaf.ID, 0, []codebuddy.FileUpdate{
				{ClientID: "c1", UserID: bob.ID, Changes: `[1,[0,"b"]]`},
				{ClientID: "c1", UserID: bob.ID, Changes: `[2,[0,"c"]]`},
			}, &codebuddy.Snapshot{FileID: leaf.ID, Version: 2, Content: "abc"}))
			// A log row written the raw way too, as another node's writer might.
			must(db.ExecRaw(ctx, `INSERT INTO file_updates (file_id, version, client_id, user_id, changes, created_at)
				VALUES (?, 3, 'raw', NULL, '[3]', ?)`, leaf.ID, db.Now()))
			must(db.CreateMessage(ctx, &codebuddy.Message{SessionID: s.ID, UserID: bob.ID, Content: "hi"}))
			sid := s.ID
			must(db.CreateNotification(ctx, &codebuddy.Notification{UserID: alice.ID, Kind: codebuddy.NotifyAccessRequested, Title: "t", SessionID: &sid}))
			return s
		}
		doomed, kept := fill("doomed"), fill("kept")

		// Rows of one session, table by table; file_updates and snapshots hang off files.
		bySession := []struct{ table, where string }{
			{"sessions", "id = ?"},
			{"participants", "session_id = ?"},
			{"invites", "session_id = ?"},
			{"access_requests", "session_id = ?"},
			{"files", "session_id = ?"},
			{"file_updates", "file_id IN (SELECT id FROM files WHERE session_id = ?)"},
			{"file_snapshots", "file_id IN (SELECT id FROM files WHERE session_id = ?)"},
			{"messages", "session_id = ?"},
			{"notifications", "session_id = ?"},
		}
		perTable := func(sessionID string) map[string]int {
			m := map[string]int{}
			for _, b := range bySession {
				m[b.table] = count(t, db, b.table, b.where, sessionID)
			}
			return m
		}
		totals := func() map[string]int {
			m := map[string]int{}
			for _, b := range bySession {
				m[b.table] = count(t, db, b.table, "")
			}
			return m
		}
		keptBefore, doomedBefore, totalBefore := perTable(kept.ID), perTable(doomed.ID), totals()
		for table, n := range doomedBefore {
			if n == 0 {
				t.Fatalf("setup left %s empty for the doomed session; the check would prove nothing", table)
			}
		}
		usersBefore := count(t, db, "users", "")

		if err := db.DeleteSession(ctx, doomed.ID); err != nil {
			t.Fatal(err)
		}

		totalAfter := totals()
		for table, before := range totalBefore {
			if want := before - doomedBefore[table]; totalAfter[table] != want {
				t.Errorf("%s: %d rows after delete, want %d (%d before, %d of the deleted session)",
					table, totalAfter[table], want, before, doomedBefore[table])
			}
		}
		if got := perTable(kept.ID); fmt.Sprint(got) != fmt.Sprint(keptBefore) {
			t.Errorf("the other session's rows changed: %v, was %v", got, keptBefore)
		}
		// No row anywhere points at something that no longer exists.
		for _, o := range []struct{ table, where string }{
			{"participants", "session_id NOT IN (SELECT id FROM sessions)"},
			{"invites", "session_id NOT IN (SELECT id FROM sessions)"},
			{"access_requests", "session_id NOT IN (SELECT id FROM sessions)"},
			{"files", "session_id NOT IN (SELECT id FROM sessions)"},
			{"files", "parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM files)"},
			{"file_updates", "file_id NOT IN (SELECT id FROM files)"},
			{"file_snapshots", "file_id NOT IN (SELECT id FROM files)"},
			{"messages", "session_id NOT IN (SELECT id FROM sessions)"},
			{"notifications", "session_id IS NOT NULL AND session_id NOT IN (SELECT id FROM sessions)"},
		} {
			if n := count(t, db, o.table, o.where); n != 0 {
				t.Errorf("%d orphan rows in %s (%s)", n, o.table, o.where)
			}
		}
		if n := count(t, db, "users", ""); n != usersBefore {
			t.Errorf("deleting a session removed users: %d, was %d", n, usersBefore)
		}
	})
}

// TestInviteUsesUnderConcurrency: a link with three uses lets in exactly three of
// many people accepting it at once.
func TestInviteUsesUnderConcurrency(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		three := 3
		if err := db.CreateInvite(ctx, &codebuddy.Invite{SessionID: s.ID, CreatedBy: alice.ID, Role: codebuddy.RoleEditor, MaxUses: &three}, []byte("h")); err != nil {
			t.Fatal(err)
		}
		var users []*codebuddy.User
		for i := range 12 {
			users = append(users, newUser(t, db, fmt.Sprintf("u%02d", i)))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(users))
		for i, u := range users {
			wg.Go(func() { _, _, errs[i] = db.UseInvite(ctx, []byte("h"), u.ID, db.Now()) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch codebuddy.ErrorCode(err) {
			case "":
				ok++
			case codebuddy.ENOTFOUND:
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if n := count(t, db, "participants", "session_id = ? AND role = 'editor'", s.ID); ok != 3 || n != 3 {
			t.Fatalf("%d accepted, %d editors; want exactly 3 of each", ok, n)
		}
		if n := count(t, db, "invites", "uses = 3"); n != 1 {
			t.Fatalf("the invite's use count is off")
		}
	})
}
