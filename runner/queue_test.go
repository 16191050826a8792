package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/runner"
)

// recorder collects the events of many runs in the order they happened.
type recorder struct {
	mu     sync.Mutex
	events []runner.Event
}

func (r *recorder) on(e runner.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) order(typ runner.EventType) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == typ {
			out = append(out, e.RunID)
		}
	}
	return out
}

// stdout is the run's standard output as its events delivered it so far.
func (r *recorder) stdout(id string) string {
	var b strings.Builder
	for _, e := range r.of(id) {
		if e.Type == runner.EventOutput && e.Stream == "stdout" {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}

func (r *recorder) of(id string) []runner.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runner.Event
	for _, e := range r.events {
		if e.RunID == id {
			out = append(out, e)
		}
	}
	return out
}

func sleeper(id, user string, secs float64) runner.Request {
	return runner.Request{ID: id, UserID: user, Language: "bash", Code: fmt.Sprintf("sleep %g; echo %s", secs, id)}
}

func waitAll(t *testing.T, runs ...*runner.Run) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, r := range runs {
		if _, err := r.Wait(ctx); err != nil {
			t.Fatalf("run %s: %v", r.ID, err)
		}
	}
}

func TestQueueFairness(t *testing.T) {
	r := setup(t)
	q := runner.NewLocalQueue(r, runner.QueueOptions{Concurrency: 1})
	defer q.Close()
	rec := &recorder{}
	var runs []*runner.Run
	// User a floods the queue, then b submits two runs: b must not wait
	// for all of a's runs.
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		run, err := q.Submit(sleeper(id, "a", 0.05), rec.on)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	for _, id := range []string{"b1", "b2"} {
		run, err := q.Submit(sleeper(id, "b", 0.05), rec.on)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	waitAll(t, runs...)
	got := strings.Join(rec.order(runner.EventStarted), " ")
	if want := "a1 b1 a2 b2 a3 a4"; got != want {
		t.Fatalf("start order %q, want %q", got, want)
	}
	// When b2 arrived, b1 and a2 were ahead of it in round-robin order.
	var positions []int
	for _, e := range rec.of("b2") {
		if e.Type == runner.EventQueued {
			positions = append(positions, e.Position)
		}
	}
	if len(positions) == 0 || positions[0] != 3 || positions[len(positions)-1] != 1 {
		t.Fatalf("b2 positions %v, want 3 … 1", positions)
	}
	for _, run := range runs {
		evs := rec.of(run.ID)
		last := evs[len(evs)-1]
		if last.Type != runner.EventFinished || last.Result.Status != runner.StatusOK || last.Result.Stdout != run.ID+"\n" {
			t.Errorf("run %s ended with %+v", run.ID, last)
		}
	}
}

func TestQueuePerUserCap(t *testing.T) {
	r := setup(t)
	q := runner.NewLocalQueue(r, runner.QueueOptions{Concurrency: 3, PerUser: 2})
	defer q.Close()
	rec := &recorder{}
	var runs []*runner.Run
	for _, id := range []string{"a1", "a2", "a3"} {
		run, err := q.Submit(sleeper(id, "a", 0.6), rec.on)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	waitAll(t, runs...)
	// a3 may start only after one of a's first two runs has finished.
	var finished int
	for _, e := range rec.events {
		switch {
		case e.Type == runner.EventFinished:
			finished++
		case e.Type == runner.EventStarted && e.RunID == "a3" && finished == 0:
			t.Fatal("a third run of one user started while two were running")
		}
	}
	if rec.of("a3")[0].Type != runner.EventQueued {
		t.Fatalf("a3 was not reported queued: %+v", rec.of("a3"))
	}
}

func TestQueueFull(t *testing.T) {
	r := setup(t)
	q := runner.NewLocalQueue(r, runner.QueueOptions{Concurrency: 1, Backlog: 2, PerUserBacklog: 2})
	defer q.Close()
	first, err := q.Submit(sleeper("f0", "a", 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"f1", "f2"} {
		if _, err := q.Submit(sleeper(id, "a", 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	var full *runner.QueueFullError
	_, err = q.Submit(sleeper("f3", "a", 0), nil)
	if !errors.As(err, &full) || !full.PerUser || full.RetryAfter < time.Second {
		t.Fatalf("user over backlog: %v", err)
	}
	_, err = q.Submit(sleeper("f4", "b", 0), nil)
	if !errors.As(err, &full) || full.PerUser || full.RetryAfter < time.Second {
		t.Fatalf("server over backlog: %v", err)
	}
	q.Cancel(first.ID)
}

func TestQueueCancel(t *testing.T) {
	r := setup(t)
	q := runner.NewLocalQueue(r, runner.QueueOptions{Concurrency: 1})
	defer q.Close()
	rec := &recorder{}
	running, err := q.Submit(runner.Request{ID: "c1", UserID: "a", Language: "python", Code: "import time\nprint('up', flush=True)\ntime.sleep(30)\n"}, rec.on)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := q.Submit(sleeper("c2", "b", 0), rec.on)
	if err != nil {
		t.Fatal(err)
	}
	if running.State() == runner.StateFinished || queued.State() != runner.StateQueued {
		t.Fatalf("states %s %s", running.State(), queued.State())
	}
	if err := q.Cancel("c2"); err != nil {
		t.Fatal(err)
	}
	if res := queued.Result(); res.Status != runner.StatusCancelled {
		t.Fatalf("cancelled queued run: %+v", res)
	}
	if evs := rec.of("c2"); evs[len(evs)-1].Type != runner.EventFinished {
		t.Fatalf("no finished event for the cancelled queued run: %+v", evs)
	}
	// Cancel the running one once it is visibly running: the whole line,
	// since unbuffered Python writes "up" and "\n" in two calls.
	deadline := time.Now().Add(30 * time.Second)
	for rec.stdout("c1") != "up\n" {
		if time.Now().After(deadline) {
			t.Fatal("run never produced output")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := q.Cancel("c1"); err != nil {
		t.Fatal(err)
	}
	res := running.Result()
	if res.Status != runner.StatusCancelled || time.Since(start) > 5*time.Second || res.Stdout != "up\n" {
		t.Fatalf("cancelled running run: %+v after %v", res, time.Since(start))
	}
	if running.State() != runner.StateFinished {
		t.Fatalf("state after the end: %s", running.State())
	}
	if err := q.Cancel("c1"); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("cancel of a finished run: %v", err)
	}
	if err := q.Cancel("nope"); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("cancel of an unknown run: %v", err)
	}
}

func TestInteractiveRun(t *testing.T) {
	r := setup(t)
	q := runner.NewLocalQueue(r, runner.QueueOptions{})
	defer q.Close()
	out := make(chan string, 16)
	run, err := q.Submit(runner.Request{
		UserID: "i", Language: "python", Interactive: true, Stdin: "first\n",
		Code: "while True:\n    try:\n        l = input()\n    except EOFError:\n        break\n    print('echo', l)\nprint('bye')\n",
	}, func(e runner.Event) {
		if e.Type == runner.EventOutput {
			if e.Stream == "stdout" {
				out <- e.Data
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	expectChunk := func(want string) {
		t.Helper()
		// Output arrives in chunks as the program writes (Python writes
		// print's pieces separately); wait until the line is complete.
		deadline := time.After(20 * time.Second)
		for !strings.HasSuffix(got.String(), want) {
			select {
			case c := <-out:
				got.WriteString(c)
			case <-deadline:
				t.Fatalf("output %q, want it to end with %q", got.String(), want)
			}
		}
	}
	expectChunk("echo first\n")
	if err := run.WriteStdin([]byte("second\n")); err != nil {
		t.Fatal(err)
	}
	expectChunk("echo second\n")
	run.CloseStdin()
	res := run.Result()
	if res.Status != runner.StatusOK || res.Stdout != "echo first\necho second\nbye\n" {
		t.Fatalf("%+v", res)
	}
}

func TestLimitsAndValidation(t *testing.T) {
	r := setup(t)
	t.Run("lower limits from the request", func(t *testing.T) {
		t.Parallel()
		res := execute(t, r, runner.Request{UserID: "l", Language: "python", Code: "while True: pass\n",
			Limits: &runner.Limits{CPUTime: 300 * time.Millisecond}})
		if res.Status != runner.StatusTimeLimit || res.CPUMs < 300 || res.CPUMs > 2000 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("higher limits are clamped", func(t *testing.T) {
		t.Parallel()
		res := execute(t, r, runner.Request{UserID: "l2", Language: "python", Code: "x = bytearray(400 * 1024 * 1024)\nprint(len(x))\n",
			Limits: &runner.Limits{Memory: 4 << 30}})
		if res.Status != runner.StatusMemoryLimit {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("java memory limit", func(t *testing.T) {
		t.Parallel()
		res := execute(t, r, runner.Request{UserID: "l3", Language: "java",
			Code: "public class Main { public static void main(String[] a) { long[][] x = new long[1000][]; for (int i = 0; i < 1000; i++) x[i] = new long[1 << 20]; } }\n"})
		// The JVM either reports its own OutOfMemoryError (MaxRAM keeps
		// the heap below the cgroup limit) or is OOM-killed: both are
		// memory_limit.
		if res.Status != runner.StatusMemoryLimit {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("output limit", func(t *testing.T) {
		t.Parallel()
		res := execute(t, r, runner.Request{UserID: "l4", Language: "python", Code: "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"})
		if res.Status != runner.StatusOutputLimit || !res.StdoutTruncated || len(res.Stdout) != 1<<20 {
			t.Fatalf("status %s truncated %v len %d", res.Status, res.StdoutTruncated, len(res.Stdout))
		}
	})
	t.Run("invalid requests", func(t *testing.T) {
		t.Parallel()
		q := runner.NewLocalQueue(r, runner.QueueOptions{})
		defer q.Close()
		cases := []struct {
			req   runner.Request
			field string
		}{
			{runner.Request{Language: "cobol", Code: "x"}, "language"},
			{runner.Request{Language: "python"}, "code"},
			{runner.Request{Language: "python", Code: "x", Files: []runner.File{{Path: "a.py"}}}, "code"},
			{runner.Request{Language: "python", Files: []runner.File{{Path: "../a.py"}}}, "files[0].path"},
			{runner.Request{Language: "python", Files: []runner.File{{Path: "/etc/a.py"}}}, "files[0].path"},
			{runner.Request{Language: "python", Files: []runner.File{{Path: "a.py"}, {Path: "a.py"}}}, "files[1].path"},
			{runner.Request{Language: "python", Files: []runner.File{{Path: "a.py"}}, Entry: "b.py"}, "entry"},
			{runner.Request{Language: "python", Files: []runner.File{{Path: "a.txt"}}}, "entry"},
			{runner.Request{Language: "python", Code: strings.Repeat("#", 600<<10)}, "code.content"},
			{runner.Request{Language: "python", Code: "x", Limits: &runner.Limits{Memory: -1}}, "limits"},
		}
		for _, c := range cases {
			_, err := q.Submit(c.req, nil)
			var re *runner.RequestError
			if !errors.As(err, &re) || re.Field != c.field {
				t.Errorf("%+v: error %v, want a RequestError on %s", c.req, err, c.field)
			}
		}
	})
}
