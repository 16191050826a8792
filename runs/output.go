package runs

import (
	"sync"
	"time"
	"unicode/utf8"

	"github.com/codebuddy-dev/codebuddy/runner"
)

// Output batching bounds: a chunk goes out once it has waited outputWindow or
// grown to outputMaxChunk, whichever comes first.
const (
	outputWindow   = 25 * time.Millisecond
	outputMaxChunk = 32 << 10
)

// outputBatcher sits between a run's events and their listeners. The sandbox
// reports output as pipe reads return it, which has two problems for a live
// view shared by a whole session:
//   - a read may end inside a UTF-8 sequence, and JSON turns each half into a
//     U+FFFD replacement character on every participant's screen;
//   - a program that flushes every line makes one frame per line for every
//     participant (tens of thousands a second), which fills the connections'
//     send queues and gets the slower participants dropped.
//
// So output is held back briefly and sent in larger pieces that end on a
// character boundary; every other event first flushes what is pending, which
// keeps the order (all output is out before "finished").
type outputBatcher struct {
	out func(runner.Event) // called with mu held, so events never interleave

	mu     sync.Mutex
	runID  string
	stream string            // the stream buf holds
	buf    []byte            // pending output of stream
	tails  map[string][]byte // incomplete UTF-8 sequences of the other stream
	timer  *time.Timer
	done   bool
}

func newOutputBatcher(out func(runner.Event)) *outputBatcher {
	return &outputBatcher{out: out, tails: map[string][]byte{}}
}

// event takes the run's next event, in order.
func (b *outputBatcher) event(e runner.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runID = e.RunID
	if e.Type != runner.EventOutput {
		// The run's last event (or one before any output): nothing may be held back.
		b.flushLocked(e.Type == runner.EventFinished)
		if e.Type == runner.EventFinished {
			b.done = true
		}
		b.out(e)
		return
	}
	if e.Stream != b.stream {
		b.flushLocked(false)
		if len(b.buf) > 0 {
			b.tails[b.stream] = append([]byte(nil), b.buf...)
			b.buf = b.buf[:0]
		}
		b.stream = e.Stream
		b.buf = append(b.buf, b.tails[e.Stream]...)
		delete(b.tails, e.Stream)
	}
	b.buf = append(b.buf, e.Data...)
	if len(b.buf) >= outputMaxChunk {
		b.flushLocked(false)
		return
	}
	if b.timer == nil && !b.done {
		b.timer = time.AfterFunc(outputWindow, b.tick)
	}
}

func (b *outputBatcher) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer = nil
	if !b.done {
		b.flushLocked(false)
	}
}

// flushLocked sends the pending output up to its last whole character, keeping
// an incomplete sequence in buf for the stream's next chunk; with all, it
// sends everything, the other stream's tail too (the run is over: a sequence
// left incomplete now never completes).
func (b *outputBatcher) flushLocked(all bool) {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	cut := len(b.buf)
	if !all {
		cut = wholeUTF8(b.buf)
	}
	if cut > 0 {
		b.out(runner.Event{RunID: b.runID, Type: runner.EventOutput, Stream: b.stream, Data: string(b.buf[:cut])})
	}
	b.buf = b.buf[:copy(b.buf, b.buf[cut:])]
	if all {
		for _, s := range []string{"stdout", "stderr"} {
			if t := b.tails[s]; len(t) > 0 {
				b.out(runner.Event{RunID: b.runID, Type: runner.EventOutput, Stream: s, Data: string(t)})
			}
		}
		clear(b.tails)
	}
}

// wholeUTF8 is the length of p without a trailing incomplete UTF-8 sequence.
// Bytes that can never become valid are not held back.
func wholeUTF8(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if utf8.FullRune(p[i:]) {
				return len(p)
			}
			return i
		}
	}
	return len(p)
}
