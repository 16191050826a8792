package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

func mkFile(t *testing.T, db *sqlstore.DB, sessionID string, parent *codebuddy.File, name string, folder bool) *codebuddy.File {
	t.Helper()
	f := &codebuddy.File{SessionID: sessionID, Name: name, IsFolder: folder}
	if parent != nil {
		f.ParentID = &parent.ID
	}
	if err := db.CreateFile(context.Background(), f); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return f
}

func paths(t *testing.T, db *sqlstore.DB, sessionID string) []string {
	t.Helper()
	fs, err := db.Files(context.Background(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		p := f.Path
		if f.IsFolder {
			p += "/"
		}
		out = append(out, p)
	}
	return out
}

func TestFileTree(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		other := newSession(t, db, alice, "other", false)

		src := mkFile(t, db, s.ID, nil, "src", true)
		lib := mkFile(t, db, s.ID, src, "lib", true)
		a := mkFile(t, db, s.ID, lib, "a.py", false)
		mkFile(t, db, s.ID, nil, "README.md", false)
		mkFile(t, db, s.ID, src, "main.py", false)
		if a.Path != "src/lib/a.py" || a.Version != 0 {
			t.Fatalf("created file path %q version %d", a.Path, a.Version)
		}
		if got, want := paths(t, db, s.ID), []string{"README.md", "src/", "src/lib/", "src/lib/a.py", "src/main.py"}; !slices.Equal(got, want) {
			t.Fatalf("tree = %v, want %v", got, want)
		}
		got, err := db.File(ctx, a.ID)
		if err != nil || got.Path != "src/lib/a.py" || *got.ParentID != lib.ID {
			t.Fatalf("File = %+v, %v", got, err)
		}
		_, err = db.File(ctx, "ghost")
		wantCode(t, "unknown file", err, codebuddy.ENOTFOUND)

		// The same name is fine in another folder and another session, not twice in one folder.
		mkFile(t, db, s.ID, src, "a.py", false)
		mkFile(t, db, other.ID, nil, "src", true)
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &lib.ID, Name: "a.py"})
		wantField(t, "duplicate in folder", err, codebuddy.ECONFLICT, "name")
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "src"})
		wantField(t, "file named like a root folder", err, codebuddy.ECONFLICT, "name")
		// Names are compared exactly: case differs, so both may exist.
		mkFile(t, db, s.ID, nil, "readme.md", false)

		// Parents must be folders of the same session.
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &a.ID, Name: "x"})
		wantField(t, "parent is a file", err, codebuddy.EINVALID, "parentId")
		otherRoot, _ := db.Files(ctx, other.ID)
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &otherRoot[0].ID, Name: "x"})
		wantField(t, "parent in another session", err, codebuddy.EINVALID, "parentId")
		ghost := "ghost"
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &ghost, Name: "x"})
		wantField(t, "unknown parent", err, codebuddy.EINVALID, "parentId")
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "dir", IsFolder: true, Content: "x"})
		wantField(t, "folder with content", err, codebuddy.EINVALID, "content")
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: "ghost", Name: "x"})
		wantCode(t, "unknown session", err, codebuddy.ENOTFOUND)
	})
}

func TestFileNameRules(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		keep := mkFile(t, db, s.ID, nil, "keep.txt", false)

		bad := map[string]string{
			"empty":         "",
			"256 bytes":     strings.Repeat("a", 256),
			"254 bytes + é": strings.Repeat("a", 254) + "é", // 256 bytes, 255 characters
			"slash":         "a/b",
			"backslash":     `a\b`,
			"NUL":           "a\x00b",
			"newline":       "a\nb",
			"tab":           "a\tb",
			"DEL":           "a\x7fb",
			"C1 control":    "a\u0085b",
			"dot":           ".",
			"dot dot":       "..",
			"invalid UTF-8": "a\xffb",
		}
		for what, name := range bad {
			err := db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: name})
			wantField(t, "create "+what, err, codebuddy.EINVALID, "name")
			_, err = db.MoveFile(ctx, keep.ID, nil, name)
			wantField(t, "rename to "+what, err, codebuddy.EINVALID, "name")
		}
		for _, name := range []string{"a", strings.Repeat("b", 255), strings.Repeat("é", 127) + "c", ".hidden", "...", "a b", "名前.py", "x..y"} {
			if err := db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: name}); err != nil {
				t.Errorf("create %q: %v", name, err)
			}
		}
		if n := len(paths(t, db, s.ID)); n != 9 {
			t.Errorf("%d entries after the valid names, want 9", n)
		}
	})
}

func TestFileContentLimit(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		max := strings.Repeat("x", codebuddy.MaxFileContentBytes)
		f := &codebuddy.File{SessionID: s.ID, Name: "big", Content: max}
		if err := db.CreateFile(ctx, f); err != nil {
			t.Fatalf("exactly 1 MiB: %v", err)
		}
		if got, _ := db.File(ctx, f.ID); len(got.Content) != len(max) {
			t.Fatalf("stored %d bytes, want %d", len(got.Content), len(max))
		}
		err := db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "bigger", Content: max + "y"})
		wantField(t, "1 MiB + 1", err, codebuddy.ETOOLARGE, "content")
		// The limit is in bytes: 2-byte characters hit it at half the count.
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "wide", Content: strings.Repeat("é", codebuddy.MaxFileContentBytes/2+1)})
		wantField(t, "multi-byte over 1 MiB", err, codebuddy.ETOOLARGE, "content")
	})
}

func TestFileDepthLimit(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)

		// 16 levels of folders is the deepest; a file inside the 15th is at depth 16.
		var chain []*codebuddy.File
		var parent *codebuddy.File
		for i := 1; i <= codebuddy.MaxFileDepth; i++ {
			parent = mkFile(t, db, s.ID, parent, fmt.Sprintf("d%d", i), true)
			chain = append(chain, parent)
		}
		if want := strings.Count(chain[15].Path, "/") + 1; want != 16 {
			t.Fatalf("deepest folder path %q has %d parts", chain[15].Path, want)
		}
		err := db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &chain[15].ID, Name: "too-deep.py"})
		wantField(t, "17th level", err, codebuddy.EINVALID, "parentId")
		mkFile(t, db, s.ID, chain[14], "ok.py", false)

		// Moving: a two-level subtree fits under depth 14, not under depth 15.
		top := mkFile(t, db, s.ID, nil, "top", true)
		mkFile(t, db, s.ID, top, "inner", true)
		if _, err := db.MoveFile(ctx, top.ID, &chain[13].ID, "top"); err != nil {
			t.Fatalf("move to depth 15-16: %v", err)
		}
		_, err = db.MoveFile(ctx, top.ID, &chain[14].ID, "top")
		wantField(t, "move subtree below 16", err, codebuddy.EINVALID, "parentId")
		// Moving it back to the root is always fine.
		if f, err := db.MoveFile(ctx, top.ID, nil, "top"); err != nil || f.Path != "top" {
			t.Fatalf("move back to root: %+v %v", f, err)
		}
	})
}

func TestMoveFile(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		withClock(db)
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		other := newSession(t, db, alice, "other", false)
		src := mkFile(t, db, s.ID, nil, "src", true)
		lib := mkFile(t, db, s.ID, src, "lib", true)
		deep := mkFile(t, db, s.ID, lib, "deep", true)
		a := mkFile(t, db, s.ID, lib, "a.py", false)
		b := mkFile(t, db, s.ID, nil, "b.py", false)
		mkFile(t, db, s.ID, src, "a.py", false)
		otherDir := mkFile(t, db, other.ID, nil, "o", true)

		// Rename in place.
		f, err := db.MoveFile(ctx, a.ID, a.ParentID, "renamed.py")
		if err != nil || f.Path != "src/lib/renamed.py" || !f.UpdatedAt.After(a.UpdatedAt) {
			t.Fatalf("rename: %+v %v", f, err)
		}
		// Move a folder: its descendants' paths follow.
		if _, err := db.MoveFile(ctx, lib.ID, nil, "lib"); err != nil {
			t.Fatal(err)
		}
		if got, want := paths(t, db, s.ID), []string{"b.py", "lib/", "lib/deep/", "lib/renamed.py", "src/", "src/a.py"}; !slices.Equal(got, want) {
			t.Fatalf("after moving lib to the root: %v, want %v", got, want)
		}

		// Clashes on rename and on move.
		_, err = db.MoveFile(ctx, b.ID, nil, "lib")
		wantField(t, "rename onto a sibling", err, codebuddy.ECONFLICT, "name")
		_, err = db.MoveFile(ctx, f.ID, &src.ID, "a.py")
		wantField(t, "move onto a name in the target", err, codebuddy.ECONFLICT, "name")
		// Cycles.
		_, err = db.MoveFile(ctx, lib.ID, &lib.ID, "lib")
		wantField(t, "into itself", err, codebuddy.EINVALID, "parentId")
		_, err = db.MoveFile(ctx, lib.ID, &deep.ID, "lib")
		wantField(t, "into its subfolder", err, codebuddy.EINVALID, "parentId")
		// Targets that are not folders of this session.
		_, err = db.MoveFile(ctx, b.ID, &f.ID, "b.py")
		wantField(t, "into a file", err, codebuddy.EINVALID, "parentId")
		_, err = db.MoveFile(ctx, b.ID, &otherDir.ID, "b.py")
		wantField(t, "into another session", err, codebuddy.EINVALID, "parentId")
		_, err = db.MoveFile(ctx, "ghost", nil, "x")
		wantCode(t, "unknown file", err, codebuddy.ENOTFOUND)

		// Nothing moved by the failed attempts.
		if got, want := paths(t, db, s.ID), []string{"b.py", "lib/", "lib/deep/", "lib/renamed.py", "src/", "src/a.py"}; !slices.Equal(got, want) {
			t.Fatalf("after failed moves: %v, want %v", got, want)
		}
	})
}

func TestFolderDeleteRemovesSubtree(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		src := mkFile(t, db, s.ID, nil, "src", true)
		lib := mkFile(t, db, s.ID, src, "lib", true)
		a := mkFile(t, db, s.ID, lib, "a.py", false)
		mkFile(t, db, s.ID, src, "b.py", false)
		keep := mkFile(t, db, s.ID, nil, "keep.py", false)
		for _, f := range []*codebuddy.File{a, keep} {
			if err := db.AppendUpdates(ctx, f.ID, 0, []codebuddy.FileUpdate{{ClientID: "c", Changes: `[[0,"x"]]`}},
				&codebuddy.Snapshot{FileID: f.ID, Version: 1, Content: "x"}); err != nil {
				t.Fatal(err)
			}
		}

		if err := db.DeleteFile(ctx, src.ID); err != nil {
			t.Fatal(err)
		}
		if got := paths(t, db, s.ID); !slices.Equal(got, []string{"keep.py"}) {
			t.Fatalf("after deleting src: %v", got)
		}
		for _, id := range []string{src.ID, lib.ID, a.ID} {
			_, err := db.File(ctx, id)
			wantCode(t, "deleted descendant", err, codebuddy.ENOTFOUND)
		}
		for _, table := range []string{"file_updates", "file_snapshots"} {
			if n := count(t, db, table, "file_id = ?", a.ID); n != 0 {
				t.Errorf("%d %s rows of a deleted descendant", n, table)
			}
			if n := count(t, db, table, "file_id = ?", keep.ID); n == 0 {
				t.Errorf("%s rows of the kept file were removed", table)
			}
		}
		wantCode(t, "delete twice", db.DeleteFile(ctx, src.ID), codebuddy.ENOTFOUND)
		// The name is free again.
		mkFile(t, db, s.ID, nil, "src", false)
	})
}

// starterOf makes n root files, f000…; a session created with them is filled in
// one transaction, far faster than n CreateFile calls (each reads the whole tree).
func starterOf(n int) []*codebuddy.File {
	out := make([]*codebuddy.File, n)
	for i := range out {
		out[i] = &codebuddy.File{Name: fmt.Sprintf("f%03d", i)}
	}
	return out
}

func TestFileCountLimit(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false, starterOf(codebuddy.MaxFilesPerSession-2)...)
		dir := mkFile(t, db, s.ID, nil, "dir", true)
		mkFile(t, db, s.ID, dir, "last", false) // the 500th: folders and files both count
		err := db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "one-too-many"})
		wantCode(t, "501st entry", err, codebuddy.ECONFLICT)
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &dir.ID, Name: "folder-too-many", IsFolder: true})
		wantCode(t, "501st entry (folder)", err, codebuddy.ECONFLICT)
		if n := count(t, db, "files", "session_id = ?", s.ID); n != codebuddy.MaxFilesPerSession {
			t.Fatalf("%d entries, want %d", n, codebuddy.MaxFilesPerSession)
		}
		// Another session is not affected, and deleting a folder frees its whole subtree.
		other := newSession(t, db, alice, "other", false)
		mkFile(t, db, other.ID, nil, "x", false)
		if err := db.DeleteFile(ctx, dir.ID); err != nil {
			t.Fatal(err)
		}
		mkFile(t, db, s.ID, nil, "now-fits", false)
		mkFile(t, db, s.ID, nil, "and-this", false)
		err = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, Name: "but-not-this"})
		wantCode(t, "full again", err, codebuddy.ECONFLICT)
	})
}

// TestConcurrentTreeChanges races tree changes that are each valid alone but not
// together: two folders moved into each other, and creates past the entry limit.
// The checks read the tree and then write, so they hold only if tree changes of a
// session are serialised (trivially on SQLite's single writer, not on PostgreSQL).
func TestConcurrentTreeChanges(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		for i := range 20 {
			a := mkFile(t, db, s.ID, nil, fmt.Sprintf("a%d", i), true)
			b := mkFile(t, db, s.ID, nil, fmt.Sprintf("b%d", i), true)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Go(func() { _, errs[0] = db.MoveFile(ctx, a.ID, &b.ID, a.Name) })
			wg.Go(func() { _, errs[1] = db.MoveFile(ctx, b.ID, &a.ID, b.Name) })
			wg.Wait()
			ga, _ := db.File(ctx, a.ID)
			gb, _ := db.File(ctx, b.ID)
			if ga.ParentID != nil && gb.ParentID != nil {
				t.Fatalf("round %d: %s and %s are now each other's parent (errors %v): a cycle cut off from the root", i, a.Name, b.Name, errs)
			}
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: want exactly one move to succeed, got %v", i, errs)
			}
		}

		s2 := newSession(t, db, alice, "full", false, starterOf(codebuddy.MaxFilesPerSession-5)...)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() { _ = db.CreateFile(ctx, &codebuddy.File{SessionID: s2.ID, Name: fmt.Sprintf("race%d", i)}) })
		}
		wg.Wait()
		if n := count(t, db, "files", "session_id = ?", s2.ID); n != codebuddy.MaxFilesPerSession {
			t.Fatalf("%d entries after racing creates, want exactly %d", n, codebuddy.MaxFilesPerSession)
		}
	})
}

// TestConcurrentDeleteAndMove races a folder's deletion with moves and creates
// into it: each must either happen before the delete (and go with the folder) or
// be refused as a bad parent, never fail as an internal error.
func TestConcurrentDeleteAndMove(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		for i := range 25 {
			dir := mkFile(t, db, s.ID, nil, fmt.Sprintf("dir%d", i), true)
			f := mkFile(t, db, s.ID, nil, fmt.Sprintf("f%d", i), false)
			var wg sync.WaitGroup
			var moveErr, createErr, delErr error
			wg.Go(func() { _, moveErr = db.MoveFile(ctx, f.ID, &dir.ID, f.Name) })
			wg.Go(func() {
				createErr = db.CreateFile(ctx, &codebuddy.File{SessionID: s.ID, ParentID: &dir.ID, Name: "new"})
			})
			wg.Go(func() { delErr = db.DeleteFile(ctx, dir.ID) })
			wg.Wait()
			if delErr != nil {
				t.Fatalf("round %d: delete: %v", i, delErr)
			}
			for what, err := range map[string]error{"move": moveErr, "create": createErr} {
				if code := codebuddy.ErrorCode(err); code != "" && code != codebuddy.EINVALID {
					t.Fatalf("round %d: %s into a folder being deleted: %v (code %q), want success or invalid parentId", i, what, err, code)
				}
			}
			if n := count(t, db, "files", "parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM files)"); n != 0 {
				t.Fatalf("round %d: %d orphans", i, n)
			}
		}
	})
}
