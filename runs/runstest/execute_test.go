package runstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestExecuteResults(t *testing.T) {
	c := newUser(t, "exec")

	t.Run("hello world", func(t *testing.T) {
		c.t = t
		r := c.execute(map[string]any{"language": "python", "code": "print('hello, world')"})
		if r.Status != "ok" || r.ExitCode != 0 || r.Stdout != "hello, world\n" || r.Stderr != "" {
			t.Fatalf("got %+v", r)
		}
		if r.ID == "" || r.Language.ID != "python" || r.Language.Version == "" {
			t.Errorf("id and language: %+v", r)
		}
		if r.TimeMs <= 0 || r.CPUMs <= 0 || r.MemoryKb <= 0 {
			t.Errorf("resources not measured: time %d ms, cpu %d ms, memory %d KiB", r.TimeMs, r.CPUMs, r.MemoryKb)
		}
	})

	t.Run("stdin echo", func(t *testing.T) {
		c.t = t
		r := c.execute(map[string]any{"language": "python", "code": "import sys\nfor line in sys.stdin: print(line.strip().upper())",
			"stdin": "one\ntwo\n"})
		if r.Status != "ok" || r.Stdout != "ONE\nTWO\n" {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("non-zero exit", func(t *testing.T) {
		c.t = t
		r := c.execute(map[string]any{"language": "python", "code": "import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)"})
		if r.Status != "runtime_error" || r.ExitCode != 3 || r.Stderr != "bye\n" {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("multi-file with entry", func(t *testing.T) {
		c.t = t
		r := c.execute(map[string]any{"language": "python", "entry": "app/run.py", "files": []map[string]string{
			{"path": "app/run.py", "content": "from helper import greet\nprint(greet('files'))"},
			{"path": "app/helper.py", "content": "def greet(n): return 'hi ' + n"},
		}})
		if r.Status != "ok" || r.Stdout != "hi files\n" {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("compile error", func(t *testing.T) {
		c.t = t
		r := c.execute(map[string]any{"language": "cpp", "code": "int main() { return undeclared_thing; }"})
		if r.Status != "compile_error" || !strings.Contains(r.CompileOutput, "undeclared_thing") {
			t.Fatalf("got %+v", r)
		}
		if r.Stdout != "" {
			t.Errorf("a program that did not compile has stdout %q", r.Stdout)
		}
	})

	t.Run("time limit lowered by the request", func(t *testing.T) {
		c.t = t
		r := c.execute(map[string]any{"language": "python", "code": "import time\nprint('start', flush=True)\ntime.sleep(30)",
			"limits": map[string]any{"wallMs": 2000}})
		if r.Status != "time_limit" || r.Stdout != "start\n" {
			t.Fatalf("got %+v", r)
		}
		// 2 s leaves room for the interpreter's start on a loaded CI
		// machine: "start" must get out before the limit ends the run.
		if r.TimeMs < 2000 || r.TimeMs > 8000 {
			t.Errorf("wall limit 2000 ms (the operator's is 10 s), run took %d ms", r.TimeMs)
		}
	})

	t.Run("higher limits are clamped to the operator's", func(t *testing.T) {
		c.t = t
		// The operator allows 256 MiB; asking for 4 GiB must not let 400 MiB through.
		r := c.execute(map[string]any{"language": "python", "code": "b = b'x' * (400 << 20)\nprint(len(b))",
			"limits": map[string]any{"memoryKb": 4 << 20, "cpuMs": 3_600_000, "wallMs": 3_600_000}})
		if r.Status != "memory_limit" {
			t.Fatalf("asked for 4 GiB, allocated 400 MiB: got %+v", r)
		}
		if r.Stdout != "" {
			t.Errorf("the allocation succeeded: %q", r.Stdout)
		}
	})

	t.Run("higher wall limit is clamped", func(t *testing.T) {
		c.t = t
		// The operator's CPU limit is 5 s; asking for an hour must still stop a busy loop.
		r := c.execute(map[string]any{"language": "python", "code": "while True: pass",
			"limits": map[string]any{"cpuMs": 3_600_000, "wallMs": 3_600_000}})
		if r.Status != "time_limit" {
			t.Fatalf("got %+v", r)
		}
		if r.CPUMs > 8000 || r.TimeMs > 12000 {
			t.Errorf("ran past the operator's limits (5 s CPU, 10 s wall): cpu %d ms, wall %d ms", r.CPUMs, r.TimeMs)
		}
	})
}

func TestExecuteBadInput(t *testing.T) {
	c := newUser(t, "bad")
	files := func(n int) []map[string]string {
		var out []map[string]string
		for i := range n {
			out = append(out, map[string]string{"path": fmt.Sprintf("f%d.py", i), "content": "pass"})
		}
		return out
	}
	cases := []struct {
		name   string
		body   any
		status int
		field  string // in errors[].location, or the detail
	}{
		{"missing language", map[string]any{"code": "print(1)"}, 422, "language"},
		{"no code", map[string]any{"language": "python"}, 422, "code"},
		{"code and files", map[string]any{"language": "python", "code": "print(1)", "files": files(1)}, 422, "code"},
		{"unknown language", map[string]any{"language": "cobol", "code": "x"}, 422, "language"},
		{"dot-dot path", map[string]any{"language": "python", "files": []map[string]string{{"path": "../x.py", "content": "1"}}}, 422, "files[0].path"},
		{"absolute path", map[string]any{"language": "python", "files": []map[string]string{{"path": "main.py", "content": "1"}, {"path": "/etc/passwd", "content": "1"}}}, 422, "files[1].path"},
		{"nested dot-dot path", map[string]any{"language": "python", "files": []map[string]string{{"path": "a/../../x.py", "content": "1"}}}, 422, "files[0].path"},
		{"duplicate path", map[string]any{"language": "python", "files": []map[string]string{{"path": "a.py", "content": "1"}, {"path": "a.py", "content": "2"}}}, 422, "files[1].path"},
		{"too many files", map[string]any{"language": "python", "files": files(65)}, 422, "files"},
		{"entry not among files", map[string]any{"language": "python", "files": files(2), "entry": "nope.py"}, 422, "entry"},
		{"entry of another language", map[string]any{"language": "python", "files": []map[string]string{{"path": "a.js", "content": "1"}}, "entry": "a.js"}, 422, "entry"},
		{"negative limit", map[string]any{"language": "python", "code": "1", "limits": map[string]any{"wallMs": -1}}, 422, "limits.wallMs"},
		{"memory limit too small", map[string]any{"language": "python", "code": "1", "limits": map[string]any{"memoryKb": 2048}}, 422, "limits.memoryKb"},
		{"wrong type", map[string]any{"language": 3, "code": "1"}, 422, "language"},
		{"malformed JSON", []byte(`{"language":"python","code":"1"`), 400, "body"},
		{"oversize body", []byte(`{"language":"python","code":"` + strings.Repeat("x", 5<<20) + `"}`), 413, ""},
		{"unknown session", map[string]any{"sessionId": "01a22306-0000-7000-8000-000000000000"}, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			status, b := c.call(http.MethodPost, "/api/execute", tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", status, tc.status, b)
			}
			var p problem
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("not a problem document: %.300s", b)
			}
			if p.Status != tc.status || p.Detail == "" && p.Title == "" {
				t.Errorf("problem %+v", p)
			}
			if tc.field == "" {
				return
			}
			var locs []string
			for _, e := range p.Errors {
				locs = append(locs, e.Location)
			}
			if !slices.Contains(locs, "body."+tc.field) && !slices.Contains(locs, tc.field) {
				t.Errorf("errors %v do not name the field %q: %s", locs, tc.field, b)
			}
		})
	}
}

func TestLanguagesAndReadiness(t *testing.T) {
	c := newUser(t, "lang")
	var langs []struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		Available   bool     `json:"available"`
		Reason      string   `json:"reason"`
		Extensions  []string `json:"extensions"`
		DefaultFile string   `json:"defaultFile"`
	}
	c.mustJSON(http.MethodGet, "/api/languages", nil, http.StatusOK, &langs)
	var ids []string
	for _, l := range langs {
		ids = append(ids, l.ID)
		if l.Available && l.Version == "" {
			t.Errorf("%s is available without a version", l.ID)
		}
		if !l.Available && l.Reason == "" {
			t.Errorf("%s is unavailable without a reason", l.ID)
		}
		if l.Name == "" || len(l.Extensions) == 0 || l.DefaultFile == "" {
			t.Errorf("%s: incomplete entry %+v", l.ID, l)
		}
		// This machine and CI have these toolchains; the others may be missing elsewhere.
		if (l.ID == "python" || l.ID == "cpp") && !l.Available {
			t.Errorf("%s unavailable: %s", l.ID, l.Reason)
		}
	}
	want := []string{"bash", "c", "cpp", "go", "java", "javascript", "python", "ruby", "rust", "typescript"}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Errorf("languages %v, want %v", ids, want)
	}

	var ready struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	c.mustJSON(http.MethodGet, "/readyz", nil, http.StatusOK, &ready)
	if s, ok := ready.Checks["sandbox"]; !ok || s.Status != "ok" {
		t.Errorf("readyz has no passing sandbox check: %+v", ready)
	}
}
