package runstest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestSessionRunUsesCurrentFiles(t *testing.T) {
	owner := newUser(t, "own")
	outsider := newUser(t, "out")
	s := owner.newSession("python")

	var tree struct {
		Files []struct {
			ID      string `json:"id"`
			Path    string `json:"path"`
			Version int64  `json:"version"`
		} `json:"files"`
	}
	owner.mustJSON(http.MethodGet, "/api/sessions/"+s.ID+"/files", nil, http.StatusOK, &tree)
	var mainID string
	var version int64
	for _, f := range tree.Files {
		if f.Path == "main.py" {
			mainID, version = f.ID, f.Version
		}
	}
	if mainID == "" {
		t.Fatalf("new python session has no main.py: %+v", tree)
	}

	// The starter template runs as it is.
	r := owner.execute(map[string]any{"sessionId": s.ID})
	if r.Status != "ok" || r.Language.ID != "python" {
		t.Fatalf("starter template: %+v", r)
	}

	// Replace the content, add a module, and run again: the run sees both.
	owner.mustJSON(http.MethodPatch, "/api/files/"+mainID, map[string]any{"content": "import util\nprint(util.word(), input())", "baseVersion": version}, http.StatusOK, nil)
	owner.mustJSON(http.MethodPost, "/api/sessions/"+s.ID+"/files", map[string]any{"name": "util.py", "content": "def word(): return 'edited'"}, http.StatusCreated, nil)
	r = owner.execute(map[string]any{"sessionId": s.ID, "stdin": "typed\n"})
	if r.Status != "ok" || r.Stdout != "edited typed\n" {
		t.Fatalf("after the edit: %+v", r)
	}

	// Explicit code with a session runs that code, recorded in the session.
	r = owner.execute(map[string]any{"sessionId": s.ID, "code": "print('explicit')"})
	if r.Stdout != "explicit\n" {
		t.Fatalf("explicit code in a session: %+v", r)
	}

	// An outsider of a private session cannot run it, nor learn it exists.
	status, b := outsider.call(http.MethodPost, "/api/execute", map[string]any{"sessionId": s.ID})
	if status != http.StatusNotFound {
		t.Fatalf("outsider: status %d, want 404: %s", status, b)
	}
	status, b = outsider.call(http.MethodPost, "/api/execute", map[string]any{"sessionId": s.ID, "language": "python", "code": "print(1)"})
	if status != http.StatusNotFound {
		t.Fatalf("outsider with own code: status %d, want 404: %s", status, b)
	}
}

func TestHistoryAndVisibility(t *testing.T) {
	owner := newUser(t, "own")
	editor := newUser(t, "ed")
	outsider := newUser(t, "out")
	s := owner.newSession("python")
	owner.invite(s.ID, "editor", editor)

	var ids []string
	for i := range 3 {
		r := owner.execute(map[string]any{"sessionId": s.ID, "code": "print(" + string(rune('1'+i)) + ")"})
		ids = append(ids, r.ID)
	}
	r := editor.execute(map[string]any{"sessionId": s.ID, "code": "print('editor')"})
	ids = append(ids, r.ID)
	private := owner.execute(map[string]any{"language": "python", "code": "print('mine')"})

	// Newest first, in pages.
	page1, next := editor.history(s.ID, "?limit=3")
	if len(page1) != 3 || next == "" {
		t.Fatalf("page 1: %d runs, next %q", len(page1), next)
	}
	page2, next2 := editor.history(s.ID, "?limit=3&before="+next)
	if len(page2) != 1 || next2 != "" {
		t.Fatalf("page 2: %d runs, next %q", len(page2), next2)
	}
	// Exactly one full page: no next page to fetch, and an empty page past the end.
	if all, next := editor.history(s.ID, "?limit=4"); len(all) != 4 || next != "" {
		t.Errorf("limit=4 of 4 runs: %d runs, next %q", len(all), next)
	}
	if rest, next := editor.history(s.ID, "?before="+ids[0]); len(rest) != 0 || next != "" {
		t.Errorf("before the oldest run: %d runs, next %q", len(rest), next)
	}
	got := []string{page1[0].ID, page1[1].ID, page1[2].ID, page2[0].ID}
	want := []string{ids[3], ids[2], ids[1], ids[0]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("history order %v, want newest first %v", got, want)
	}
	first := page1[0]
	if first.Status != "ok" || first.Stdout != "editor\n" || first.UserID != editor.ID || first.Language.Version == "" || first.TimeMs <= 0 {
		t.Errorf("recorded run: %+v", first)
	}
	for _, e := range append(page1, page2...) {
		if e.ID == private.ID {
			t.Errorf("a run outside the session is in its history")
		}
	}

	// A session run is visible to every participant; a run outside sessions only to its starter.
	var rec result
	editor.mustJSON(http.MethodGet, "/api/executions/"+ids[0], nil, http.StatusOK, &rec)
	if rec.Stdout != "1\n" || rec.UserID != owner.ID || rec.SessionID == nil || *rec.SessionID != s.ID {
		t.Errorf("record seen by the editor: %+v", rec)
	}
	owner.mustJSON(http.MethodGet, "/api/executions/"+private.ID, nil, http.StatusOK, &rec)
	if rec.Stdout != "mine\n" || rec.Status != "ok" {
		t.Errorf("own record: %+v", rec)
	}
	for _, path := range []string{"/api/executions/" + ids[0], "/api/executions/" + private.ID, "/api/sessions/" + s.ID + "/executions"} {
		if status, b := outsider.call(http.MethodGet, path, nil); status != http.StatusNotFound {
			t.Errorf("outsider GET %s: %d, want 404: %s", path, status, b)
		}
	}
	if status, b := editor.call(http.MethodGet, "/api/executions/"+private.ID, nil); status != http.StatusNotFound {
		t.Errorf("editor GET another user's private run: %d, want 404: %s", status, b)
	}
	if status, b := editor.call(http.MethodDelete, "/api/executions/"+private.ID, nil); status != http.StatusNotFound {
		t.Errorf("editor DELETE another user's private run: %d, want 404: %s", status, b)
	}
	if status, b := editor.call(http.MethodGet, "/api/executions/no-such-run", nil); status != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404: %s", status, b)
	}
	// The history keeps a bounded piece of long output and says so.
	big := owner.execute(map[string]any{"language": "python", "code": "print('x' * 200000)"})
	if big.Status != "ok" || len(big.Stdout) != 200001 || big.StdoutTruncated {
		t.Fatalf("200 kB of output: %s, %d bytes, truncated %v", big.Status, len(big.Stdout), big.StdoutTruncated)
	}
	owner.mustJSON(http.MethodGet, "/api/executions/"+big.ID, nil, http.StatusOK, &rec)
	if !rec.StdoutTruncated || len(rec.Stdout) > 64<<10 || !strings.HasPrefix(big.Stdout, rec.Stdout) {
		t.Errorf("stored output: %d bytes, truncated %v", len(rec.Stdout), rec.StdoutTruncated)
	}

	if status, b := editor.call(http.MethodGet, "/api/sessions/"+s.ID+"/executions?limit=0", nil); status/100 != 4 {
		t.Errorf("limit=0: %d, want 4xx: %s", status, b)
	}
	if status, b := editor.call(http.MethodGet, "/api/sessions/"+s.ID+"/executions?limit=101", nil); status/100 != 4 {
		t.Errorf("limit=101: %d, want 4xx: %s", status, b)
	}
}

func TestCancelByAPI(t *testing.T) {
	owner := newUser(t, "own")
	editor := newUser(t, "ed")
	outsider := newUser(t, "out")
	s := owner.newSession("python")
	owner.invite(s.ID, "editor", editor)

	var wg sync.WaitGroup
	defer wg.Wait()
	done := owner.asyncExecute(context.Background(), &wg, map[string]any{"sessionId": s.ID,
		"code": "import time\nprint('up', flush=True)\ntime.sleep(60)"})

	// The synchronous request has not answered yet; the history shows the run.
	var id string
	if err := waitFor(func() bool {
		list, _ := owner.history(s.ID, "")
		if len(list) > 0 {
			id = list[0].ID
		}
		return id != ""
	}); err != nil {
		t.Fatal("the run never appeared in the session's history")
	}
	rec := owner.waitStatus(id, "running")
	if rec.UserID != owner.ID {
		t.Errorf("running record: %+v", rec)
	}

	if status, b := editor.call(http.MethodDelete, "/api/executions/"+id, nil); status != http.StatusForbidden {
		t.Errorf("another editor cancelling: %d, want 403: %s", status, b)
	}
	if status, b := outsider.call(http.MethodDelete, "/api/executions/"+id, nil); status != http.StatusNotFound {
		t.Errorf("outsider cancelling: %d, want 404: %s", status, b)
	}
	if status, b := owner.call(http.MethodDelete, "/api/executions/"+id, nil); status != http.StatusNoContent {
		t.Fatalf("starter cancelling: %d, want 204: %s", status, b)
	}
	res := <-done
	if res.err != nil || res.status != http.StatusOK {
		t.Fatalf("the cancelled request: %v %d %s", res.err, res.status, res.body)
	}
	if !strings.Contains(string(res.body), `"status":"cancelled"`) {
		t.Errorf("the cancelled run's result: %s", res.body)
	}
	rec = owner.waitStatus(id, "cancelled")
	if status, b := owner.call(http.MethodDelete, "/api/executions/"+id, nil); status != http.StatusConflict {
		t.Errorf("cancelling a finished run: %d, want 409: %s", status, b)
	}

	// The session's owner may cancel an editor's run.
	done = editor.asyncExecute(context.Background(), &wg, map[string]any{"sessionId": s.ID, "code": "import time\ntime.sleep(60)"})
	if err := waitFor(func() bool {
		list, _ := owner.history(s.ID, "")
		id = list[0].ID
		return list[0].UserID == editor.ID
	}); err != nil {
		t.Fatal("the editor's run never appeared in the history")
	}
	owner.waitStatus(id, "running")
	if status, b := owner.call(http.MethodDelete, "/api/executions/"+id, nil); status != http.StatusNoContent {
		t.Fatalf("owner cancelling an editor's run: %d, want 204: %s", status, b)
	}
	if res := <-done; !strings.Contains(string(res.body), `"status":"cancelled"`) {
		t.Errorf("the editor's cancelled run: %d %s", res.status, res.body)
	}
}
