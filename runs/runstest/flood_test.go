package runstest

import (
	"strings"
	"testing"
)

// A program that writes its output in many tiny flushes must not get the
// session's participants dropped as slow consumers, and every participant
// must still see all of it.
func TestLiveRunManySmallWrites(t *testing.T) {
	owner := newUser(t, "own")
	editor := newUser(t, "ed")
	s := owner.newSession("python")
	owner.invite(s.ID, "editor", editor)
	ow := owner.dial(s.ID)
	ew := editor.dial(s.ID)

	const lines = 50000
	ow.send(map[string]any{"type": "run", "code": "import sys\nfor i in range(50000):\n    sys.stdout.write('%05d\\n' % i)\n    sys.stdout.flush()"})
	first := ow.next(func(m map[string]any) bool { return m["type"] == "run" || m["type"] == "error" })
	if first["type"] == "error" {
		t.Fatalf("run refused: %v", first)
	}
	runID := first["run"].(string)
	for _, w := range []*ws{ow, ew} {
		var out strings.Builder
		frames := w.runFrames(runID)
		for _, m := range frames {
			if m["event"] == "output" {
				out.WriteString(m["data"].(string))
			}
		}
		res, _ := frames[len(frames)-1]["result"].(map[string]any)
		if res["status"] != "ok" || len(out.String()) != lines*6 {
			t.Errorf("%d output frames, %d bytes streamed, result status %v", len(frames), out.Len(), res["status"])
		}
		// Each connection's send queue holds 1024 frames; one frame per line
		// (tens of thousands) drops any participant that falls behind.
		if len(frames) > 500 {
			t.Errorf("%d frames for %d lines: output is not batched", len(frames), lines)
		}
	}
}

// Chunks are cut by pipe reads, anywhere in a UTF-8 sequence; the live output
// must still put the text back together exactly (JSON would turn a split
// sequence into U+FFFD replacement characters).
func TestLiveRunKeepsUTF8Whole(t *testing.T) {
	owner := newUser(t, "own")
	s := owner.newSession("python")
	ow := owner.dial(s.ID)
	ow.send(map[string]any{"type": "run", "code": "import sys\nsys.stdout.write('€' * 40000)\nsys.stdout.flush()\nsys.stderr.write('ü' * 3 + 'x' + '€' * 30000)"})
	first := ow.next(func(m map[string]any) bool { return m["type"] == "run" || m["type"] == "error" })
	if first["type"] == "error" {
		t.Fatalf("run refused: %v", first)
	}
	var stdout, stderr strings.Builder
	frames := ow.runFrames(first["run"].(string))
	for _, m := range frames {
		if m["event"] != "output" {
			continue
		}
		if m["stream"] == "stdout" {
			stdout.WriteString(m["data"].(string))
		} else {
			stderr.WriteString(m["data"].(string))
		}
	}
	if want := strings.Repeat("€", 40000); stdout.String() != want {
		t.Errorf("stdout: %d bytes streamed, %d replacement characters", stdout.Len(), strings.Count(stdout.String(), "\uFFFD"))
	}
	if want := "üüüx" + strings.Repeat("€", 30000); stderr.String() != want {
		t.Errorf("stderr: %d bytes streamed, %d replacement characters", stderr.Len(), strings.Count(stderr.String(), "\uFFFD"))
	}
	res, _ := frames[len(frames)-1]["result"].(map[string]any)
	if res["stdout"] != strings.Repeat("€", 40000) {
		t.Errorf("the result's stdout is not the text written")
	}
}
