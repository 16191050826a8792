package runs

import (
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/codebuddy-dev/codebuddy/runner"
)

type collected struct {
	mu     sync.Mutex
	events []runner.Event
}

func (c *collected) add(e runner.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *collected) streams() (stdout, stderr string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var o, e strings.Builder
	for _, ev := range c.events {
		if ev.Type != runner.EventOutput {
			continue
		}
		n++
		if ev.Stream == "stdout" {
			o.WriteString(ev.Data)
		} else {
			e.WriteString(ev.Data)
		}
	}
	return o.String(), e.String(), n
}

func out(stream, data string) runner.Event {
	return runner.Event{RunID: "r", Type: runner.EventOutput, Stream: stream, Data: data}
}

func TestOutputBatcherKeepsCharactersWhole(t *testing.T) {
	var c collected
	b := newOutputBatcher(c.add)
	b.event(runner.Event{RunID: "r", Type: runner.EventStarted})
	text := "aé€😀" + strings.Repeat("€", 20000) // 1-, 2-, 3- and 4-byte sequences
	errText := "ü€"
	// Cut everywhere, interleaving the streams mid-sequence; wait past the window
	// now and then so that flushes happen between the pieces too.
	for i, j := 0, 0; i < len(text); i += 7 {
		b.event(out("stdout", text[i:min(i+7, len(text))]))
		if j < len(errText) {
			b.event(out("stderr", errText[j:j+1]))
			j++
		}
		if i%7001 == 0 {
			time.Sleep(2 * outputWindow)
		}
	}
	b.event(runner.Event{RunID: "r", Type: runner.EventFinished, Result: &runner.Result{}})
	stdout, stderr, n := c.streams()
	if stdout != text || stderr != errText {
		t.Fatalf("stdout %d bytes (want %d), stderr %q", len(stdout), len(text), stderr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if e.Type == runner.EventOutput && !utf8.ValidString(e.Data) {
			t.Errorf("a chunk cuts a character: %q…", e.Data[:min(len(e.Data), 10)])
		}
	}
	if last := c.events[len(c.events)-1]; last.Type != runner.EventFinished {
		t.Errorf("last event %s, want finished", last.Type)
	}
	if n > 200 {
		t.Errorf("%d output events for %d small pieces: not batched", n, len(text)/7)
	}
}

func TestOutputBatcherFlushesAfterTheWindow(t *testing.T) {
	var c collected
	b := newOutputBatcher(c.add)
	b.event(out("stdout", "prompt> "))
	// A program waiting for input after a prompt: the prompt must show without more output.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if stdout, _, _ := c.streams(); stdout == "prompt> " {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pending output never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// An incomplete sequence at the end of the run is sent as it is, before finished.
	b.event(out("stdout", "\xe2\x82"))
	b.event(runner.Event{RunID: "r", Type: runner.EventFinished})
	stdout, _, _ := c.streams()
	if stdout != "prompt> \xe2\x82" {
		t.Errorf("stdout %q", stdout)
	}
}
