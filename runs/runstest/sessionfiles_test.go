package runstest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A session may hold files the runner refuses (a 600 kB file: the editor allows
// 1 MiB, a run 512 kB a file). The caller sent only a sessionId, so the error
// must name that and the file, not a files[i] the request never had.
func TestSessionRunWithAFileTooLargeToRun(t *testing.T) {
	owner := newUser(t, "own")
	s := owner.newSession("python")
	owner.mustJSON(http.MethodPost, "/api/sessions/"+s.ID+"/files", map[string]any{"name": "data.py", "content": "# " + strings.Repeat("x", 600<<10)}, http.StatusCreated, nil)
	status, b := owner.call(http.MethodPost, "/api/execute", map[string]any{"sessionId": s.ID})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %.300s", status, b)
	}
	var p problem
	_ = json.Unmarshal(b, &p)
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.sessionId" || !strings.Contains(p.Errors[0].Message, "data.py") {
		t.Errorf("error %s", b)
	}
}
