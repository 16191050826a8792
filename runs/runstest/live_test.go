package runstest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// interactive prints, sleeps, reads a line and prints it back.
const interactive = `import sys, time
print("ready", flush=True)
time.sleep(0.3)
print("working", flush=True)
line = sys.stdin.readline()
print("got:" + line.strip(), flush=True)
`

func TestLiveRunOverWebSocket(t *testing.T) {
	owner := newUser(t, "own")
	editor := newUser(t, "ed")
	s := owner.newSession("python")
	owner.invite(s.ID, "editor", editor)
	ow := owner.dial(s.ID)
	ew := editor.dial(s.ID)

	ow.send(map[string]any{"type": "run", "code": interactive})
	// The run's id comes with its first event, on both connections.
	first := ow.next(func(m map[string]any) bool { return m["type"] == "run" || m["type"] == "error" })
	if first["type"] == "error" {
		t.Fatalf("run refused: %v", first)
	}
	runID, _ := first["run"].(string)
	if runID == "" || first["userId"] != owner.ID || first["username"] != owner.Name {
		t.Fatalf("first run frame: %v", first)
	}

	// Type a line once the program is waiting for it (it has printed "working").
	var stdout strings.Builder
	events := []map[string]any{first}
	for !strings.Contains(stdout.String(), "working") {
		m := ow.next(func(m map[string]any) bool { return m["type"] == "run" && m["run"] == runID || m["type"] == "error" })
		if m["type"] == "error" || m["event"] == "finished" {
			t.Fatalf("before stdin: %v", m)
		}
		events = append(events, m)
		if m["event"] == "output" && m["stream"] == "stdout" {
			stdout.WriteString(m["data"].(string))
		}
	}
	// Only the starter may type into the run.
	ew.send(map[string]any{"type": "stdin", "run": runID, "data": "from the editor\n"})
	e := ew.next(func(m map[string]any) bool { return m["type"] == "error" })
	if e["code"] != "forbidden" {
		t.Errorf("editor's stdin: %v, want a forbidden error", e)
	}
	ow.send(map[string]any{"type": "stdin", "run": runID, "data": "hello there\n"})
	events = append(events, ow.runFrames(runID)...)
	checkRunEvents(t, "owner", events, "ready\nworking\ngot:hello there\n")
	// The other participant sees the same run, from its first event to the last.
	checkRunEvents(t, "editor", ew.runFrames(runID), "ready\nworking\ngot:hello there\n")

	// The run is recorded with the session.
	var rec result
	editor.mustJSON(http.MethodGet, "/api/executions/"+runID, nil, http.StatusOK, &rec)
	if rec.Status != "ok" || rec.Stdout != "ready\nworking\ngot:hello there\n" || rec.SessionID == nil || *rec.SessionID != s.ID {
		t.Errorf("record: %+v", rec)
	}

	// Stdin for a finished run, a cancel of an unknown run: errors, the connection stays.
	ow.send(map[string]any{"type": "stdin", "run": runID, "data": "late\n"})
	if e := ow.next(func(m map[string]any) bool { return m["type"] == "error" }); e["code"] != "not_found" {
		t.Errorf("stdin to a finished run: %v", e)
	}
	ow.send(map[string]any{"type": "cancel", "run": "no-such-run"})
	if e := ow.next(func(m map[string]any) bool { return m["type"] == "error" }); e["code"] != "not_found" {
		t.Errorf("cancel of an unknown run: %v", e)
	}

	// Bad run requests over the socket: an error naming the problem, the connection stays.
	for _, bad := range []map[string]any{
		{"type": "run", "language": "cobol", "code": "x"},
		{"type": "run", "files": []map[string]string{{"path": "../escape.py", "content": "1"}}},
		{"type": "run", "code": "1", "files": []map[string]string{{"path": "a.py", "content": "1"}}},
	} {
		ow.send(bad)
		e := ow.next(func(m map[string]any) bool { return m["type"] == "error" })
		if e["code"] != "invalid_message" || e["message"] == "" {
			t.Errorf("run %v: %v", bad, e)
		}
	}
	// Not joined to any session: a run has nowhere to go.
	nj := newUser(t, "nj").dial("")
	nj.send(map[string]any{"type": "run", "code": "print(1)", "language": "python"})
	if e := nj.next(func(m map[string]any) bool { return m["type"] == "error" }); e["code"] != "not_joined" {
		t.Errorf("run before joining: %v", e)
	}

	// Cancel: a run that would sleep a minute ends as cancelled for everyone.
	ow.send(map[string]any{"type": "run", "code": "import time\nprint('sleeping', flush=True)\ntime.sleep(60)"})
	// Output chunks may split anywhere: wait for the first one of this new run.
	started := ew.next(func(m map[string]any) bool {
		return m["type"] == "run" && m["event"] == "output" && m["run"] != runID
	})
	long := started["run"].(string)
	ew.send(map[string]any{"type": "cancel", "run": long})
	if e := ew.next(func(m map[string]any) bool { return m["type"] == "error" }); e["code"] != "forbidden" {
		t.Errorf("editor cancelling the owner's run: %v", e)
	}
	ow.send(map[string]any{"type": "cancel", "run": long})
	for _, w := range []*ws{ow, ew} {
		fin := w.next(func(m map[string]any) bool { return m["type"] == "run" && m["run"] == long && m["event"] == "finished" })
		if res, _ := fin["result"].(map[string]any); res["status"] != "cancelled" {
			t.Errorf("cancelled run finished with %v", fin)
		}
	}

	// End of input: a program reading to EOF finishes when the starter closes stdin.
	ow.send(map[string]any{"type": "run", "code": "import sys\nprint(len(sys.stdin.read()))", "stdin": "ab"})
	m := ow.next(func(m map[string]any) bool {
		return m["type"] == "run" && m["event"] == "started" && m["run"] != runID && m["run"] != long
	})
	eofRun := m["run"].(string)
	ow.send(map[string]any{"type": "stdin", "run": eofRun, "data": "cd", "eof": true})
	fin := ow.runFrames(eofRun)
	if res, _ := fin[len(fin)-1]["result"].(map[string]any); res["status"] != "ok" || res["stdout"] != "4\n" {
		t.Errorf("stdin with eof: %v", fin[len(fin)-1])
	}
}

// checkRunEvents checks a run's frames: queued/started before output, output
// chunks in order adding up to stdout, and one finished with the result last.
func checkRunEvents(t *testing.T, who string, events []map[string]any, stdout string) {
	t.Helper()
	var kinds []string
	var out strings.Builder
	for _, m := range events {
		ev, _ := m["event"].(string)
		if len(kinds) == 0 || kinds[len(kinds)-1] != ev {
			kinds = append(kinds, ev)
		}
		if ev == "output" && m["stream"] == "stdout" {
			out.WriteString(m["data"].(string))
		}
	}
	seq := strings.Join(kinds, ",")
	if seq != "queued,started,output,finished" && seq != "started,output,finished" {
		t.Errorf("%s: event order %s", who, seq)
	}
	if out.String() != stdout {
		t.Errorf("%s: streamed stdout %q, want %q", who, out.String(), stdout)
	}
	last := events[len(events)-1]
	res, _ := last["result"].(map[string]any)
	if res == nil || res["status"] != "ok" || res["stdout"] != stdout || res["id"] != last["run"] {
		t.Errorf("%s: finished frame %v", who, last)
	}
}

func TestQueueThroughTheAPI(t *testing.T) {
	owner := newUser(t, "q")
	other := newUser(t, "q2")
	s := owner.newSession("python")
	owner.invite(s.ID, "editor", other)
	w := owner.dial(s.ID)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		// Whatever happens, free the two execution slots for the other tests:
		// a request that goes away cancels its run.
		cancel()
		wg.Wait()
	}()
	sleeper := map[string]any{"sessionId": s.ID, "code": "import time\ntime.sleep(60)"}

	// Two running, the third waits with a position.
	var ids []string
	for i := range 3 {
		owner.asyncExecute(ctx, &wg, sleeper)
		// A run that starts at once has no queued event; the third must wait.
		m := w.next(func(m map[string]any) bool {
			return m["type"] == "run" && (m["event"] == "queued" || m["event"] == "started") || m["type"] == "error"
		})
		if m["type"] == "error" {
			t.Fatalf("run %d: %v", i, m)
		}
		ids = append(ids, m["run"].(string))
		want := "started"
		if i == 2 {
			want = "queued"
			if m["position"] != float64(1) {
				t.Errorf("third run queued at position %v, want 1", m["position"])
			}
		}
		if m["event"] != want {
			t.Errorf("run %d: first event %v, want %s", i, m["event"], want)
		}
	}
	owner.waitStatus(ids[0], "running")
	owner.waitStatus(ids[2], "queued")
	// The history shows the same live states (the stored record says "queued" until the verdict).
	states := map[string]string{}
	list, _ := owner.history(s.ID, "")
	for _, e := range list {
		states[e.ID] = e.Status
	}
	if states[ids[0]] != "running" || states[ids[1]] != "running" || states[ids[2]] != "queued" {
		t.Errorf("history states %v", states)
	}

	// Fill the user's backlog (ten queued) and see the next one refused with Retry-After.
	for i := 0; i < 9; i++ {
		owner.asyncExecute(ctx, &wg, sleeper)
	}
	if err := waitFor(func() bool { list, _ := owner.history(s.ID, "?limit=100"); return len(list) == 12 }); err != nil {
		t.Fatal("the backlog never filled")
	}
	resp, b, err := owner.do(context.Background(), http.MethodPost, "/api/execute", sleeper)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a full backlog: %d, want 429: %s", resp.StatusCode, b)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	// The same over the WebSocket: an error frame, not a dropped message.
	w.send(map[string]any{"type": "run", "code": "print(1)"})
	if e := w.next(func(m map[string]any) bool { return m["type"] == "error" }); e["code"] != "rate_limited" {
		t.Errorf("run over the socket with a full backlog: %v", e)
	}

	// Fair across users: another user's run does not wait behind the ten
	// queued before it; it is next, and takes the first slot that frees up.
	other.asyncExecute(ctx, &wg, sleeper)
	m := w.next(func(m map[string]any) bool {
		return m["type"] == "run" && m["event"] == "queued" && m["userId"] == other.ID
	})
	theirs := m["run"].(string)
	if m["position"] != float64(1) {
		t.Errorf("another user's run queued at position %v behind a full backlog, want 1", m["position"])
	}
	owner.mustJSON(http.MethodDelete, "/api/executions/"+ids[0], nil, http.StatusNoContent, nil)
	other.waitStatus(theirs, "running")
	owner.waitStatus(ids[2], "queued")

	// Cancelling a waiting run frees its place; the client that went away cancels its run.
	owner.mustJSON(http.MethodDelete, "/api/executions/"+ids[2], nil, http.StatusNoContent, nil)
	owner.waitStatus(ids[2], "cancelled")
	cancel()
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range []string{ids[0], ids[1], theirs} {
		for {
			var rec result
			owner.mustJSON(http.MethodGet, "/api/executions/"+id, nil, http.StatusOK, &rec)
			if rec.Status == "cancelled" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s of a request that went away: %s", id, rec.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
