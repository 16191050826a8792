package runstest

import (
	"testing"
	"unicode/utf16"
)

// A live run of the session's files runs what the editors see: an edit pushed
// over the socket a moment ago, not yet in any snapshot, is in the run.
func TestLiveRunSeesPushedEdits(t *testing.T) {
	owner := newUser(t, "own")
	editor := newUser(t, "ed")
	s := owner.newSession("python")
	owner.invite(s.ID, "editor", editor)
	ow := owner.dial(s.ID)
	ew := editor.dial(s.ID)

	// The editor edits, the owner runs.
	var fileID string
	for _, f := range ew.joined["files"].([]any) {
		if f := f.(map[string]any); f["path"] == "main.py" {
			fileID = f["id"].(string)
		}
	}
	if fileID == "" {
		t.Fatalf("no main.py in %v", ew.joined["files"])
	}
	ew.send(map[string]any{"type": "open", "file": fileID})
	doc := ew.next(func(m map[string]any) bool { return m["type"] == "doc" && m["file"] == fileID })
	content := doc["content"].(string)
	version := doc["version"]
	code := "print('pushed ✓')"
	ew.send(map[string]any{"type": "push", "file": fileID, "version": version, "updates": []map[string]any{
		{"clientID": "runstest", "changes": []any{[]any{len(utf16.Encode([]rune(content))), code}}},
	}})
	ack := ew.next(func(m map[string]any) bool { return m["type"] == "updates" || m["type"] == "error" })
	if ack["type"] == "error" {
		t.Fatalf("push refused: %v", ack)
	}

	ow.send(map[string]any{"type": "run"})
	first := ow.next(func(m map[string]any) bool { return m["type"] == "run" || m["type"] == "error" })
	if first["type"] == "error" {
		t.Fatalf("run refused: %v", first)
	}
	frames := ow.runFrames(first["run"].(string))
	res, _ := frames[len(frames)-1]["result"].(map[string]any)
	if res["status"] != "ok" || res["stdout"] != "pushed ✓\n" {
		t.Fatalf("run after a pushed edit: %v", res)
	}
}
