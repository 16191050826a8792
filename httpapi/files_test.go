package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy"
)

const wsInvalid = http.StatusUnprocessableEntity

// fileEnv is a session with an editor, and helpers for its tree.
type fileEnv struct {
	*wsEnv
	owner wsUser
	s     wsSession
}

func newFileEnv(t *testing.T, env *wsEnv) *fileEnv {
	owner := env.User("owner")
	return &fileEnv{wsEnv: env, owner: owner, s: env.CreateSession(owner, "files", false, "viewer")}
}

func (fe *fileEnv) create(parent *wsFile, name string, folder bool) wsFile {
	fe.t.Helper()
	body := map[string]any{"name": name}
	if parent != nil {
		body["parentId"] = parent.ID
	}
	kind := "files"
	if folder {
		kind = "folders"
	}
	var f wsFile
	fe.JSON(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/"+kind, body, wsCreated, &f)
	return f
}

func (fe *fileEnv) paths() []string {
	fe.t.Helper()
	var out struct {
		Files []wsFile `json:"files"`
	}
	fe.JSON(fe.owner, "GET", "/api/sessions/"+fe.s.ID+"/files", nil, wsOK, &out)
	var ps []string
	for _, f := range out.Files {
		p := f.Path
		if f.IsFolder {
			p += "/"
		}
		ps = append(ps, p)
	}
	return ps
}

func TestFileNameValidation(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		fe := newFileEnv(t, env)
		keep := fe.create(nil, "keep.py", false)
		for what, name := range map[string]string{
			"empty":           "",
			"256 bytes":       strings.Repeat("a", 256),
			"256 bytes (é)":   strings.Repeat("é", 128), // 128 characters, 256 bytes
			"slash":           "a/b",
			"backslash":       `a\b`,
			"NUL":             "a\x00b",
			"newline":         "a\nb",
			"bell":            "a\x07b",
			"DEL":             "a\x7fb",
			"dot":             ".",
			"dot dot":         "..",
			"only a slash":    "/",
			"trailing slash":  "dir/",
			"parent traverse": "../x",
		} {
			t.Run(what, func(t *testing.T) {
				for _, kind := range []string{"files", "folders"} {
					fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/"+kind, map[string]any{"name": name}, wsInvalid, "name")
				}
				fe.Problem(fe.owner, "PATCH", "/api/files/"+keep.ID, map[string]any{"name": name}, wsInvalid, "name")
			})
		}
		fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/files", map[string]any{}, wsInvalid, "name")
		for _, name := range []string{strings.Repeat("a", 255), strings.Repeat("é", 127) + "x", ".env", "...", "名前.py", "with space"} {
			fe.create(nil, name, false)
		}
		if got := fe.paths(); len(got) != 8 || !slices.Contains(got, "keep.py") {
			t.Fatalf("tree after valid names: %v", got)
		}
	})
}

func TestFileTreeRules(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		fe := newFileEnv(t, env)
		files := "/api/sessions/" + fe.s.ID + "/files"
		src := fe.create(nil, "src", true)
		lib := fe.create(&src, "lib", true)
		a := fe.create(&lib, "a.py", false)
		b := fe.create(&src, "b.py", false)
		if a.Path != "src/lib/a.py" || a.Version != 0 || *a.ParentID != lib.ID || a.SessionID != fe.s.ID {
			t.Fatalf("created %+v", a)
		}

		// Unique names within a folder, on create, rename and move alike.
		fe.Problem(fe.owner, "POST", files, map[string]any{"name": "a.py", "parentId": lib.ID}, wsConflict, "name")
		fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/folders", map[string]any{"name": "main.py"}, wsConflict, "name")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"name": "lib"}, wsConflict, "name")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+a.ID, map[string]any{"parentId": nil, "name": "src"}, wsConflict, "name")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+a.ID, map[string]any{"parentId": src.ID, "name": "b.py"}, wsConflict, "name")
		// The same name elsewhere is fine.
		fe.create(&src, "a.py", false)

		// Cycles.
		fe.Problem(fe.owner, "PATCH", "/api/files/"+src.ID, map[string]any{"parentId": src.ID}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+src.ID, map[string]any{"parentId": lib.ID}, wsInvalid, "parentId")
		// Parents must be folders of this session.
		fe.Problem(fe.owner, "POST", files, map[string]any{"name": "x", "parentId": a.ID}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"parentId": a.ID}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "POST", files, map[string]any{"name": "x", "parentId": "0190d1c4-0000-7000-8000-000000000000"}, wsInvalid, "parentId")
		other := env.CreateSession(fe.owner, "other", false, "viewer")
		var otherDir wsFile
		env.JSON(fe.owner, "POST", "/api/sessions/"+other.ID+"/folders", map[string]any{"name": "o"}, wsCreated, &otherDir)
		fe.Problem(fe.owner, "POST", files, map[string]any{"name": "x", "parentId": otherDir.ID}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"parentId": otherDir.ID}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"parentId": 7}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"parentId": ""}, wsInvalid, "parentId")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{}, wsInvalid, "")

		if got, want := fe.paths(), []string{"main.py", "src/", "src/a.py", "src/b.py", "src/lib/", "src/lib/a.py"}; !slices.Equal(got, want) {
			t.Fatalf("after refused changes: %v, want %v", got, want)
		}

		// Rename, move into a folder, move to the root (null), and both at once.
		var f wsFile
		env.JSON(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"name": "c.py"}, wsOK, &f)
		if f.Path != "src/c.py" || f.Content != nil {
			t.Fatalf("rename: %+v", f)
		}
		env.JSON(fe.owner, "PATCH", "/api/files/"+b.ID, map[string]any{"parentId": lib.ID}, wsOK, &f)
		if f.Path != "src/lib/c.py" {
			t.Fatalf("move: %+v", f)
		}
		env.JSON(fe.owner, "PATCH", "/api/files/"+lib.ID, map[string]any{"parentId": nil, "name": "pkg"}, wsOK, &f)
		if f.Path != "pkg" || f.ParentID != nil {
			t.Fatalf("move folder to root with rename: %+v", f)
		}
		if got, want := fe.paths(), []string{"main.py", "pkg/", "pkg/a.py", "pkg/c.py", "src/", "src/a.py"}; !slices.Equal(got, want) {
			t.Fatalf("after moves: %v, want %v", got, want)
		}
		var got wsFile
		env.JSON(fe.owner, "GET", "/api/files/"+a.ID, nil, wsOK, &got)
		if got.Path != "pkg/a.py" {
			t.Fatalf("descendant's path after its folder moved: %q", got.Path)
		}

		// Deleting a folder removes everything under it.
		env.JSON(fe.owner, "DELETE", "/api/files/"+lib.ID, nil, wsNoContent, nil)
		if got, want := fe.paths(), []string{"main.py", "src/", "src/a.py"}; !slices.Equal(got, want) {
			t.Fatalf("after deleting pkg: %v, want %v", got, want)
		}
		fe.Problem(fe.owner, "GET", "/api/files/"+a.ID, nil, wsNotFound, "")
		fe.Problem(fe.owner, "DELETE", "/api/files/"+lib.ID, nil, wsNotFound, "")
	})
}

func TestFileDepthLimit(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		fe := newFileEnv(t, env)
		var parent *wsFile
		var chain []wsFile
		for i := 1; i <= codebuddy.MaxFileDepth; i++ {
			f := fe.create(parent, fmt.Sprintf("d%d", i), true)
			chain = append(chain, f)
			parent = &chain[len(chain)-1]
		}
		deepest := chain[codebuddy.MaxFileDepth-1]
		if strings.Count(deepest.Path, "/") != codebuddy.MaxFileDepth-1 {
			t.Fatalf("deepest folder %q", deepest.Path)
		}
		for _, kind := range []string{"files", "folders"} {
			fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/"+kind, map[string]any{"name": "x", "parentId": deepest.ID}, wsInvalid, "parentId")
		}
		fe.create(&chain[codebuddy.MaxFileDepth-2], "deepest.py", false)
		// Moving a two-level folder below level 15 would make level 17.
		top := fe.create(nil, "top", true)
		fe.create(&top, "inner", true)
		fe.Problem(fe.owner, "PATCH", "/api/files/"+top.ID, map[string]any{"parentId": chain[14].ID}, wsInvalid, "parentId")
		fe.JSON(fe.owner, "PATCH", "/api/files/"+top.ID, map[string]any{"parentId": chain[13].ID}, wsOK, nil)
	})
}

func TestFileCountLimit(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		fe := newFileEnv(t, env)
		ctx := context.Background()
		// A session born with 499 files (one transaction, fast) plus a folder is full.
		starter := make([]*codebuddy.File, codebuddy.MaxFilesPerSession-1)
		for i := range starter {
			starter[i] = &codebuddy.File{Name: fmt.Sprintf("f%03d", i)}
		}
		full := &codebuddy.Session{Name: "full", Language: "python", VisitorRole: codebuddy.RoleViewer, OwnerID: fe.owner.ID}
		if err := env.DB.CreateSession(ctx, full, starter); err != nil {
			t.Fatal(err)
		}
		fe.s = wsSession{ID: full.ID}
		dir := fe.create(nil, "dir", true)
		p := fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/files", map[string]any{"name": "one-too-many"}, wsConflict, "")
		if !strings.Contains(p.Detail, "500") {
			t.Fatalf("the refusal does not say what the limit is: %+v", p)
		}
		fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/folders", map[string]any{"name": "one-too-many"}, wsConflict, "")
		env.JSON(fe.owner, "DELETE", "/api/files/"+dir.ID, nil, wsNoContent, nil)
		fe.create(nil, "fits-again", false)
	})
}

func TestFileContent(t *testing.T) {
	wsForEach(t, func(t *testing.T, env *wsEnv) {
		fe := newFileEnv(t, env)
		files := "/api/sessions/" + fe.s.ID + "/files"
		var f wsFile
		env.JSON(fe.owner, "POST", files, map[string]any{"name": "a.py", "content": "one\r\ntwo\n"}, wsCreated, &f)
		var got wsFile
		env.JSON(fe.owner, "GET", "/api/files/"+f.ID, nil, wsOK, &got)
		if got.Content == nil || *got.Content != "one\ntwo\n" || got.Version != 0 {
			t.Fatalf("GET file %+v: want content with \\n line breaks at version 0", got)
		}

		// Replacing content needs the version it was based on.
		fe.Problem(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"content": "x"}, wsInvalid, "baseVersion")
		env.JSON(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"content": "three\n", "baseVersion": 0}, wsOK, &got)
		if got.Content == nil || *got.Content != "three\n" || got.Version != 1 {
			t.Fatalf("after replace %+v", got)
		}
		fe.Problem(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"content": "stale", "baseVersion": 0}, wsConflict, "")
		env.JSON(fe.owner, "GET", "/api/files/"+f.ID, nil, wsOK, &got)
		if *got.Content != "three\n" || got.Version != 1 {
			t.Fatalf("a stale replace changed the file: %+v", got)
		}
		// A PATCH is all or nothing: content together with a rename or move is
		// refused whole, never half applied.
		fe.Problem(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"name": "renamed.py", "content": "x"}, wsInvalid, "")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"name": "renamed.py", "content": "x", "baseVersion": 0}, wsInvalid, "")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"parentId": nil, "content": "x", "baseVersion": 1}, wsInvalid, "")
		env.JSON(fe.owner, "GET", "/api/files/"+f.ID, nil, wsOK, &got)
		if got.Name != "a.py" || *got.Content != "three\n" || got.Version != 1 {
			t.Fatalf("a refused PATCH changed the file: %+v", got)
		}
		dir := fe.create(nil, "dir", true)
		fe.Problem(fe.owner, "PATCH", "/api/files/"+dir.ID, map[string]any{"content": "x", "baseVersion": 0}, wsInvalid, "content")
		fe.Problem(fe.owner, "POST", "/api/sessions/"+fe.s.ID+"/folders", map[string]any{"name": "d2", "content": "x"}, wsInvalid, "content")

		// At most 1 MiB of content: exactly 1 MiB is fine, one byte more is 413 naming content.
		max := strings.Repeat("x", codebuddy.MaxFileContentBytes)
		var big wsFile
		env.JSON(fe.owner, "POST", files, map[string]any{"name": "big.txt", "content": max}, wsCreated, &big)
		env.JSON(fe.owner, "GET", "/api/files/"+big.ID, nil, wsOK, &got)
		if len(*got.Content) != codebuddy.MaxFileContentBytes {
			t.Fatalf("stored %d bytes", len(*got.Content))
		}
		fe.Problem(fe.owner, "POST", files, map[string]any{"name": "bigger.txt", "content": max + "y"}, http.StatusRequestEntityTooLarge, "content")
		// Counted in bytes, not characters: 2-byte characters pass huma's character
		// count and must still be refused.
		wide := strings.Repeat("é", codebuddy.MaxFileContentBytes/2+1)
		fe.Problem(fe.owner, "POST", files, map[string]any{"name": "wide.txt", "content": wide}, http.StatusRequestEntityTooLarge, "content")
		fe.Problem(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"content": wide, "baseVersion": 1}, http.StatusRequestEntityTooLarge, "content")
		env.JSON(fe.owner, "PATCH", "/api/files/"+f.ID, map[string]any{"content": max, "baseVersion": 1}, wsOK, &got)
		if got.Version != 2 {
			t.Fatalf("1 MiB replace: %+v", got.Version)
		}
		if got := fe.paths(); slices.Contains(got, "bigger.txt") || slices.Contains(got, "wide.txt") {
			t.Fatalf("an oversize file was created: %v", got)
		}
	})
}
