package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

// TestChangeLog checks the contract the document authority relies on: one update
// per (file, version), snapshots that move the file row, and content at every
// version reachable as snapshot + updates, version 0 included.
func TestChangeLog(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := withClock(db)
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		f := &codebuddy.File{SessionID: s.ID, Name: "a.py", Content: "v0"}
		if err := db.CreateFile(ctx, f); err != nil {
			t.Fatal(err)
		}
		if v, err := db.Head(ctx, f.ID); err != nil || v != 0 {
			t.Fatalf("head of a new file = %d, %v", v, err)
		}

		// contentAt is the content the test pretends each version has; changes
		// name their version so replay order is visible.
		contentAt := func(v int64) string { return fmt.Sprintf("v%d", v) }
		upd := func(v int64) codebuddy.FileUpdate {
			return codebuddy.FileUpdate{ClientID: "c1", UserID: alice.ID, Changes: fmt.Sprintf("[%d]", v)}
		}
		var head int64
		appendN := func(n int, snap bool) {
			t.Helper()
			us := make([]codebuddy.FileUpdate, n)
			for i := range us {
				us[i] = upd(head + int64(i) + 1)
			}
			var sn *codebuddy.Snapshot
			if snap {
				sn = &codebuddy.Snapshot{FileID: f.ID, Version: head + int64(n), Content: contentAt(head + int64(n))}
			}
			if err := db.AppendUpdates(ctx, f.ID, head, us, sn); err != nil {
				t.Fatalf("append %d after %d: %v", n, head, err)
			}
			for i, u := range us {
				if u.Version != head+int64(i)+1 || u.FileID != f.ID || u.CreatedAt.IsZero() {
					t.Fatalf("append did not fill update %d: %+v", i, u)
				}
			}
			head += int64(n)
		}
		appendN(3, false)
		t0 := clock.Now()
		appendN(2, true) // snapshot at 5 overwrites the file row
		appendN(4, false)
		appendN(1, true) // snapshot at 10
		appendN(2, false)

		// Another node already won version 13.
		err := db.AppendUpdates(ctx, f.ID, head-1, []codebuddy.FileUpdate{upd(head)}, nil)
		wantCode(t, "duplicate version", err, codebuddy.ECONFLICT)
		err = db.AppendUpdates(ctx, f.ID, 4, []codebuddy.FileUpdate{upd(5)}, &codebuddy.Snapshot{FileID: f.ID, Version: 5, Content: "lost"})
		wantCode(t, "duplicate version with snapshot", err, codebuddy.ECONFLICT)
		err = db.AppendUpdates(ctx, "no-such-file", 0, []codebuddy.FileUpdate{upd(1)}, nil)
		wantCode(t, "unknown file", err, codebuddy.ENOTFOUND)

		if v, err := db.Head(ctx, f.ID); err != nil || v != head {
			t.Fatalf("head = %d, %v; want %d", v, err, head)
		}
		got, err := db.File(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 10 || got.Content != contentAt(10) {
			t.Errorf("file row = version %d %q, want the last snapshot (10, %q)", got.Version, got.Content, contentAt(10))
		}

		for v := int64(0); v <= head; v++ {
			sn, err := db.LatestSnapshot(ctx, f.ID, v)
			if err != nil {
				t.Fatalf("snapshot at or before %d: %v", v, err)
			}
			if sn.Version > v || sn.Content != contentAt(sn.Version) {
				t.Fatalf("snapshot for %d = version %d %q", v, sn.Version, sn.Content)
			}
			us, err := db.Updates(ctx, f.ID, sn.Version, v)
			if err != nil {
				t.Fatal(err)
			}
			var seq []string
			for _, u := range us {
				seq = append(seq, u.Changes)
				if u.ClientID != "c1" || u.UserID != alice.ID {
					t.Fatalf("update %d lost its author: %+v", u.Version, u)
				}
			}
			var want []string
			for w := sn.Version + 1; w <= v; w++ {
				want = append(want, fmt.Sprintf("[%d]", w))
			}
			if strings.Join(seq, "") != strings.Join(want, "") {
				t.Fatalf("replay of %d from snapshot %d: %v, want %v", v, sn.Version, seq, want)
			}
		}
		if sn, err := db.LatestSnapshot(ctx, f.ID, -1); err != nil || sn.Version != 10 {
			t.Errorf("newest snapshot = %+v, %v", sn, err)
		}
		if us, _ := db.Updates(ctx, f.ID, 0, -1); len(us) != int(head) {
			t.Errorf("all updates = %d, want %d", len(us), head)
		}
		if v, err := db.VersionAt(ctx, f.ID, t0); err != nil || v != 3 {
			t.Errorf("version at a time between 3 and 4 = %d, %v; want 3", v, err)
		}
		if v, err := db.VersionAt(ctx, f.ID, t0.AddDate(-1, 0, 0)); err != nil || v != 0 {
			t.Errorf("version before any update = %d, %v; want 0", v, err)
		}
		if _, err := db.LatestSnapshot(ctx, "no-such-file", -1); codebuddy.ErrorCode(err) != codebuddy.ENOTFOUND {
			t.Errorf("snapshot of unknown file: %v", err)
		}
	})
}
