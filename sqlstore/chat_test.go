package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

func TestMessages(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice, bob := newUser(t, db, "alice"), newUser(t, db, "bob")
		s := newSession(t, db, alice, "s", false)
		other := newSession(t, db, alice, "other", false)

		// Stored literally: markup, surrounding blanks, newlines and emoji come back as sent.
		literal := "  <script>alert('x')</script> & <b>bold</b>\n\tline 2 😀  "
		m := &codebuddy.Message{SessionID: s.ID, UserID: bob.ID, Content: literal}
		if err := db.CreateMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		list, err := db.Messages(ctx, s.ID, "", 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("Messages = %v, %v", list, err)
		}
		if got := list[0]; got.Content != literal || got.Username != "bob" || got.UserID != bob.ID || got.ID != m.ID || !got.CreatedAt.Equal(m.CreatedAt) {
			t.Fatalf("message came back as %+v", got)
		}

		for what, content := range map[string]string{
			"empty":         "",
			"blank":         " \n\t ",
			"4001 chars":    strings.Repeat("é", codebuddy.MaxMessageChars+1),
			"invalid UTF-8": "a\xffb",
		} {
			err := db.CreateMessage(ctx, &codebuddy.Message{SessionID: s.ID, UserID: bob.ID, Content: content})
			wantField(t, what, err, codebuddy.EINVALID, "content")
		}
		// 4000 characters of 4 bytes each is fine: the limit counts characters.
		if err := db.CreateMessage(ctx, &codebuddy.Message{SessionID: s.ID, UserID: bob.ID, Content: strings.Repeat("😀", codebuddy.MaxMessageChars)}); err != nil {
			t.Fatalf("4000 characters: %v", err)
		}
		err = db.CreateMessage(ctx, &codebuddy.Message{SessionID: "ghost", UserID: bob.ID, Content: "x"})
		wantCode(t, "unknown session", err, codebuddy.ENOTFOUND)
		if err := db.CreateMessage(ctx, &codebuddy.Message{SessionID: other.ID, UserID: bob.ID, Content: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		if list, _ := db.Messages(ctx, s.ID, "", 100); len(list) != 2 {
			t.Fatalf("session sees %d messages, want its own 2", len(list))
		}
	})
}

func TestMessagePaging(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		// The real clock and ID generator: many messages share a millisecond, and
		// the order must still be the order they were posted in.
		const n = 237
		var want []string
		for i := range n {
			m := &codebuddy.Message{SessionID: s.ID, UserID: alice.ID, Content: fmt.Sprintf("m%03d", i)}
			if err := db.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			want = append(want, m.Content)
		}
		slices.Reverse(want) // newest first

		for _, limit := range []int{1, 7, 50, 100} {
			var got []string
			before := ""
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				page, err := db.Messages(ctx, s.ID, before, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(page))
				}
				for _, m := range page {
					got = append(got, m.Content)
				}
				if len(page) < limit {
					break
				}
				before = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d: pages joined = %d messages, first %v; want %d newest first without gaps or repeats",
					limit, len(got), got[:min(5, len(got))], len(want))
			}
		}
		// Out-of-range limits fall back to the largest page.
		for _, limit := range []int{0, -1, 1000} {
			page, err := db.Messages(ctx, s.ID, "", limit)
			if err != nil || len(page) != codebuddy.MaxPageSize {
				t.Fatalf("limit %d: %d messages, %v; want %d", limit, len(page), err, codebuddy.MaxPageSize)
			}
		}
	})
}

func TestNotifications(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob := newUser(t, db, "alice"), newUser(t, db, "bob")
		s := newSession(t, db, alice, "s", false)
		sid := s.ID
		var mine []*codebuddy.Notification
		for i := range 5 {
			n := &codebuddy.Notification{UserID: alice.ID, Kind: codebuddy.NotifyAccessRequested, Title: fmt.Sprintf("n%d", i), Body: "b", SessionID: &sid}
			if err := db.CreateNotification(ctx, n); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, n)
		}
		theirs := &codebuddy.Notification{UserID: bob.ID, Kind: codebuddy.NotifyAccessAccepted, Title: "bob's"}
		if err := db.CreateNotification(ctx, theirs); err != nil {
			t.Fatal(err)
		}

		titles := func(before string, limit int, unread bool) []string {
			t.Helper()
			list, err := db.Notifications(ctx, alice.ID, before, limit, unread)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, n := range list {
				if n.UserID != alice.ID {
					t.Fatalf("alice sees %+v", n)
				}
				out = append(out, n.Title)
			}
			return out
		}
		if got := titles("", 0, false); !slices.Equal(got, []string{"n4", "n3", "n2", "n1", "n0"}) {
			t.Fatalf("all = %v", got)
		}
		if got := titles(mine[3].ID, 2, false); !slices.Equal(got, []string{"n2", "n1"}) {
			t.Fatalf("page before n3 = %v", got)
		}
		if c, _ := db.UnreadCount(ctx, alice.ID); c != 5 {
			t.Fatalf("unread = %d", c)
		}

		// Bob cannot touch alice's notifications: not found, and nothing changes.
		wantCode(t, "mark another's read", db.MarkRead(ctx, bob.ID, mine[0].ID), codebuddy.ENOTFOUND)
		wantCode(t, "delete another's", db.DeleteNotification(ctx, bob.ID, mine[0].ID), codebuddy.ENOTFOUND)
		if c, _ := db.UnreadCount(ctx, alice.ID); c != 5 {
			t.Fatalf("unread after bob's attempts = %d", c)
		}

		if err := db.MarkRead(ctx, alice.ID, mine[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkRead(ctx, alice.ID, mine[1].ID); err != nil {
			t.Fatalf("marking read twice: %v", err)
		}
		if got := titles("", 0, true); !slices.Equal(got, []string{"n4", "n3", "n2", "n0"}) {
			t.Fatalf("unread = %v", got)
		}
		if n, err := db.MarkAllRead(ctx, alice.ID); err != nil || n != 4 {
			t.Fatalf("MarkAllRead = %d, %v; want 4", n, err)
		}
		if c, _ := db.UnreadCount(ctx, alice.ID); c != 0 {
			t.Fatalf("unread after mark all = %d", c)
		}
		if c, _ := db.UnreadCount(ctx, bob.ID); c != 1 {
			t.Fatalf("bob's unread = %d, want his 1 untouched", c)
		}
		list, _ := db.Notifications(ctx, alice.ID, "", 1, false)
		if !list[0].IsRead || *list[0].SessionID != s.ID || list[0].Kind != codebuddy.NotifyAccessRequested || list[0].Body != "b" {
			t.Fatalf("notification = %+v", list[0])
		}

		if err := db.DeleteNotification(ctx, alice.ID, mine[0].ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete twice", db.DeleteNotification(ctx, alice.ID, mine[0].ID), codebuddy.ENOTFOUND)
		wantCode(t, "mark deleted", db.MarkRead(ctx, alice.ID, mine[0].ID), codebuddy.ENOTFOUND)
		if got := titles("", 0, false); len(got) != 4 {
			t.Fatalf("after delete: %v", got)
		}
	})
}

// TestClosedDatabaseErrors: when the database is gone every workspace method
// answers an internal error (logged, shown to clients as a plain message) and
// never a panic or a misleading "not found".
func TestClosedDatabaseErrors(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false, &codebuddy.File{Name: "main.py"})
		files, _ := db.Files(ctx, s.ID)
		fid := files[0].ID
		db.Close()
		now := time.Now()
		calls := map[string]func() error{
			"CreateSession": func() error {
				return db.CreateSession(ctx, &codebuddy.Session{Name: "x", Language: "python", VisitorRole: codebuddy.RoleViewer, OwnerID: alice.ID}, nil)
			},
			"Session":           func() error { _, err := db.Session(ctx, s.ID); return err },
			"UpdateSession":     func() error { return db.UpdateSession(ctx, s) },
			"DeleteSession":     func() error { return db.DeleteSession(ctx, s.ID) },
			"ListSessions":      func() error { _, err := db.ListSessions(ctx, codebuddy.SessionFilter{UserID: alice.ID}); return err },
			"Role":              func() error { _, err := db.Role(ctx, s.ID, alice.ID); return err },
			"Participants":      func() error { _, err := db.Participants(ctx, s.ID); return err },
			"RolesOf":           func() error { _, err := db.RolesOf(ctx, alice.ID, []string{s.ID}); return err },
			"SetRole":           func() error { return db.SetRole(ctx, s.ID, alice.ID, codebuddy.RoleEditor) },
			"RemoveParticipant": func() error { return db.RemoveParticipant(ctx, s.ID, alice.ID) },
			"CreateInvite": func() error {
				return db.CreateInvite(ctx, &codebuddy.Invite{SessionID: s.ID, CreatedBy: alice.ID, Role: "viewer"}, []byte("h"))
			},
			"Invites":      func() error { _, err := db.Invites(ctx, s.ID); return err },
			"RevokeInvite": func() error { return db.RevokeInvite(ctx, s.ID, "i", now) },
			"InviteByHash": func() error { _, err := db.InviteByHash(ctx, []byte("h")); return err },
			"UseInvite":    func() error { _, _, err := db.UseInvite(ctx, []byte("h"), alice.ID, now); return err },
			"CreateAccessRequest": func() error {
				return db.CreateAccessRequest(ctx, &codebuddy.AccessRequest{SessionID: s.ID, UserID: alice.ID})
			},
			"AccessRequest":       func() error { _, err := db.AccessRequest(ctx, "r"); return err },
			"AccessRequests":      func() error { _, err := db.AccessRequests(ctx, s.ID, ""); return err },
			"DecideAccessRequest": func() error { _, err := db.DecideAccessRequest(ctx, "r", codebuddy.RequestAccepted, now); return err },
			"Files":               func() error { _, err := db.Files(ctx, s.ID); return err },
			"File":                func() error { _, err := db.File(ctx, fid); return err },
			"CreateFile":          func() error { return db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "x"}) },
			"MoveFile":            func() error { _, err := db.MoveFile(ctx, fid, nil, "y"); return err },
			"DeleteFile":          func() error { return db.DeleteFile(ctx, fid) },
			"CreateMessage": func() error {
				return db.CreateMessage(ctx, &codebuddy.Message{SessionID: s.ID, UserID: alice.ID, Content: "x"})
			},
			"Messages": func() error { _, err := db.Messages(ctx, s.ID, "", 10); return err },
			"CreateNotification": func() error {
				return db.CreateNotification(ctx, &codebuddy.Notification{UserID: alice.ID, Kind: "k", Title: "t"})
			},
			"Notifications":      func() error { _, err := db.Notifications(ctx, alice.ID, "", 10, false); return err },
			"UnreadCount":        func() error { _, err := db.UnreadCount(ctx, alice.ID); return err },
			"MarkRead":           func() error { return db.MarkRead(ctx, alice.ID, "n") },
			"MarkAllRead":        func() error { _, err := db.MarkAllRead(ctx, alice.ID); return err },
			"DeleteNotification": func() error { return db.DeleteNotification(ctx, alice.ID, "n") },
		}
		for name, call := range calls {
			if err := call(); codebuddy.ErrorCode(err) != codebuddy.EINTERNAL {
				t.Errorf("%s on a closed database: %v (code %q), want an internal error", name, err, codebuddy.ErrorCode(err))
			}
		}
	})
}
