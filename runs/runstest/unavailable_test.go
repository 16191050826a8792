package runstest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// With execution turned off (as when the sandbox cannot be set up), the server
// still serves everything else and says why code cannot run: in /readyz, in
// every language's reason, and in a 503 for a run, never running code unisolated.
func TestExecutionUnavailable(t *testing.T) {
	srv, err := startServer(t.TempDir(), http.StatusServiceUnavailable, "CODEBUDDY_SANDBOX=off")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := newUserAt(t, srv.URL, "off")

	status, b := c.call(http.MethodGet, "/readyz", nil)
	var ready struct {
		Checks map[string]struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		} `json:"checks"`
	}
	_ = json.Unmarshal(b, &ready)
	sb := ready.Checks["sandbox"]
	if status != http.StatusServiceUnavailable || sb.Status == "ok" || !strings.Contains(string(b), "CODEBUDDY_SANDBOX=off") {
		t.Errorf("readyz %d: %s", status, b)
	}
	if ready.Checks["database"].Status != "ok" {
		t.Errorf("database check: %s", b)
	}

	var langs []struct {
		ID        string `json:"id"`
		Available bool   `json:"available"`
		Reason    string `json:"reason"`
	}
	c.mustJSON(http.MethodGet, "/api/languages", nil, http.StatusOK, &langs)
	if len(langs) != 10 {
		t.Errorf("%d languages listed", len(langs))
	}
	for _, l := range langs {
		if l.Available || l.Reason == "" {
			t.Errorf("%s: available %v, reason %q", l.ID, l.Available, l.Reason)
		}
	}

	resp, b, err := c.do(t.Context(), http.MethodPost, "/api/execute", map[string]any{"language": "python", "code": "print(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "CODEBUDDY_SANDBOX=off") {
		t.Errorf("run with execution off: %d %s", resp.StatusCode, b)
	}
	// Bad input is still bad input, not "unavailable".
	if status, b := c.call(http.MethodPost, "/api/execute", map[string]any{"language": "cobol", "code": "1"}); status != http.StatusUnprocessableEntity {
		t.Errorf("unknown language with execution off: %d %s", status, b)
	}

	// Sessions still work; a live run is refused with a reason.
	s := c.newSession("python")
	w := c.dial(s.ID)
	w.send(map[string]any{"type": "run"})
	if e := w.next(func(m map[string]any) bool { return m["type"] == "error" || m["type"] == "run" }); e["type"] != "error" || e["code"] != "unavailable" {
		t.Errorf("live run with execution off: %v", e)
	}
}
