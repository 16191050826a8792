package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Queue accepts runs and executes them fairly. LocalQueue is the in-process
// implementation; a Redis-backed one with separate worker processes can
// implement the same interface.
type Queue interface {
	// Submit validates req and queues it. onEvent receives the run's events
	// (queued, started, output, finished) in order; it is called from the
	// queue's goroutines and must not block for long. Errors: *RequestError
	// (bad input), ErrUnavailable (language or sandbox missing),
	// *QueueFullError (backlog full; retry later).
	Submit(req Request, onEvent func(Event)) (*Run, error)
	// Cancel stops a queued or running run; ErrNotFound when it is unknown
	// or already finished.
	Cancel(runID string) error
	// Lookup finds a queued or running run.
	Lookup(runID string) (*Run, bool)
	// Close cancels everything and waits for running runs to end.
	Close()
}

// EventType names the live events of a run (the WebSocket "run" events).
type EventType string

const (
	EventQueued   EventType = "queued"
	EventStarted  EventType = "started"
	EventOutput   EventType = "output"
	EventFinished EventType = "finished"
)

// Event is one live event of a run.
type Event struct {
	RunID    string
	Type     EventType
	Position int     // queued: 1 = next to start
	Stream   string  // output: "stdout" or "stderr"
	Data     string  // output: the chunk (may split a UTF-8 sequence)
	Result   *Result // finished
}

// ErrNotFound is returned for an unknown or finished run ID.
var ErrNotFound = errors.New("run not found")

// QueueFullError means the backlog is full. Answer 429 (a user's own
// backlog) or 503 (the server's) with a Retry-After header.
type QueueFullError struct {
	PerUser    bool // the user's own backlog is full (429), not the server's (503)
	RetryAfter time.Duration
}

func (e *QueueFullError) Error() string {
	who := "the execution queue"
	if e.PerUser {
		who = "your execution queue"
	}
	return fmt.Sprintf("%s is full; retry in %d s", who, int(e.RetryAfter.Seconds()))
}

// Run is a handle on a submitted run.
type Run struct {
	ID     string
	UserID string

	req    Request
	emit   func(Event)
	emitMu sync.Mutex
	stdin  *stdinBuffer
	done   chan struct{}
	result Result

	state  atomic.Value       // RunState
	seq    uint64             // submission order; guarded by the queue's mutex
	tag    uint64             // fair-queueing start tag; guarded by the queue's mutex
	cancel context.CancelFunc // set when running; guarded by the queue's mutex
}

// RunState is where a run is in its life.
type RunState string

const (
	StateQueued   RunState = "queued"
	StateRunning  RunState = "running"
	StateFinished RunState = "finished"
)

// State reports whether the run is queued, running or finished.
func (r *Run) State() RunState {
	if s, ok := r.state.Load().(RunState); ok {
		return s
	}
	return StateQueued
}

// Done is closed when the run has finished and Result is final.
func (r *Run) Done() <-chan struct{} { return r.done }

// Result is the final result; valid once Done is closed.
func (r *Run) Result() Result {
	<-r.done
	return r.result
}

// Wait waits for the result or for ctx to end.
func (r *Run) Wait(ctx context.Context) (Result, error) {
	select {
	case <-r.done:
		return r.result, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// WriteStdin feeds an interactive run's standard input. It never blocks:
// input is buffered (up to 1 MiB) until the program reads it.
func (r *Run) WriteStdin(p []byte) error {
	if r.stdin == nil {
		return errors.New("run is not interactive")
	}
	_, err := r.stdin.Write(p)
	return err
}

// CloseStdin sends end of file to an interactive run.
func (r *Run) CloseStdin() error {
	if r.stdin == nil {
		return errors.New("run is not interactive")
	}
	return r.stdin.Close()
}

func (r *Run) send(e Event) {
	if r.emit == nil {
		return
	}
	e.RunID = r.ID
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.emit(e)
}

// QueueOptions configure a LocalQueue.
type QueueOptions struct {
	Concurrency    int // runs executing at once; default the number of CPUs (match the pool's slots)
	PerUser        int // running runs per user; default 2
	Backlog        int // queued runs in all; default 100
	PerUserBacklog int // queued runs per user; default 10
}

// LocalQueue is the in-process Queue: bounded concurrency, at most PerUser
// running runs per user, and round-robin between users' FIFO queues, so one
// user's burst cannot delay others by more than one run each.
type LocalQueue struct {
	r    *Runner
	opts QueueOptions

	mu      sync.Mutex
	users   map[string]*userQueue
	seq     uint64 // submission counter: FIFO order between equal tags
	vtime   uint64 // start tag of the run started last
	running int
	queued  int
	runs    map[string]*Run
	closed  bool
	avgRun  time.Duration // moving average, for Retry-After
	lastPos map[string]int
	wg      sync.WaitGroup
}

type userQueue struct {
	pending []*Run
	running int
	// lastTag is the start tag after this user's last queued run.
	lastTag uint64
}

var _ Queue = (*LocalQueue)(nil)

// NewLocalQueue returns a queue that executes runs with r.
func NewLocalQueue(r *Runner, opts QueueOptions) *LocalQueue {
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.NumCPU()
	}
	if opts.PerUser <= 0 {
		opts.PerUser = 2
	}
	if opts.Backlog <= 0 {
		opts.Backlog = 100
	}
	if opts.PerUserBacklog <= 0 {
		opts.PerUserBacklog = 10
	}
	return &LocalQueue{r: r, opts: opts, users: map[string]*userQueue{}, runs: map[string]*Run{},
		lastPos: map[string]int{}, avgRun: time.Second}
}

// Submit implements Queue.
func (q *LocalQueue) Submit(req Request, onEvent func(Event)) (*Run, error) {
	if _, _, _, err := q.r.Validate(&req); err != nil {
		return nil, err
	}
	if err := q.r.Ready(); err != nil {
		return nil, err
	}
	if req.ID == "" {
		req.ID = uuid.NewString()
	}
	run := &Run{ID: req.ID, UserID: req.UserID, req: req, emit: onEvent, done: make(chan struct{})}
	if req.Interactive {
		run.stdin = newStdinBuffer(1 << 20)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, fmt.Errorf("%w: shutting down", ErrUnavailable)
	}
	if _, dup := q.runs[req.ID]; dup {
		q.mu.Unlock()
		return nil, invalid("id", "run %q already exists", req.ID)
	}
	u := q.users[req.UserID]
	if u == nil {
		u = &userQueue{}
		q.users[req.UserID] = u
	}
	if len(u.pending) >= q.opts.PerUserBacklog {
		q.mu.Unlock()
		return nil, &QueueFullError{PerUser: true, RetryAfter: q.retryAfter(len(u.pending))}
	}
	if q.queued >= q.opts.Backlog {
		q.mu.Unlock()
		return nil, &QueueFullError{RetryAfter: q.retryAfter(q.queued)}
	}
	q.runs[req.ID] = run
	// Start-time fair queueing: a run's tag is one more than its user's
	// previous run's, but never behind the run started last. Runs start in
	// tag order, so users alternate round-robin, and a user arriving late
	// neither jumps ahead of nor falls behind the others.
	q.seq++
	run.seq = q.seq
	run.tag = max(q.vtime, u.lastTag)
	u.lastTag = run.tag + 1
	u.pending = append(u.pending, run)
	q.queued++
	notes := q.dispatchLocked()
	q.mu.Unlock()
	q.deliver(notes)
	return run, nil
}

// retryAfter estimates when a slot frees up for a queue of n ahead.
func (q *LocalQueue) retryAfter(n int) time.Duration {
	d := q.avgRun * time.Duration(n/q.opts.Concurrency+1)
	return min(max(d.Round(time.Second), time.Second), time.Minute)
}

// note is an event to deliver once the queue's lock is released.
type note struct {
	run *Run
	ev  Event
}

func (q *LocalQueue) deliver(notes []note) {
	for _, n := range notes {
		n.run.send(n.ev)
	}
}

// dispatchLocked starts runs while there is capacity, then reports the new
// queue positions. It returns the queued events to deliver.
func (q *LocalQueue) dispatchLocked() []note {
	for q.running < q.opts.Concurrency && !q.closed {
		run := q.pickLocked()
		if run == nil {
			break
		}
		q.startLocked(run)
	}
	var notes []note
	for pos, run := range q.orderLocked() {
		if q.lastPos[run.ID] != pos+1 {
			q.lastPos[run.ID] = pos + 1
			notes = append(notes, note{run, Event{Type: EventQueued, Position: pos + 1}})
		}
	}
	return notes
}

// before orders runs by start tag, then by submission.
func before(a, b *Run) bool {
	return a.tag < b.tag || a.tag == b.tag && a.seq < b.seq
}

// pickLocked takes the next run to start, or nil: the head with the
// smallest tag among users below their running cap.
func (q *LocalQueue) pickLocked() *Run {
	var best *userQueue
	for _, u := range q.users {
		if len(u.pending) == 0 || u.running >= q.opts.PerUser {
			continue
		}
		if best == nil || before(u.pending[0], best.pending[0]) {
			best = u
		}
	}
	if best == nil {
		return nil
	}
	run := best.pending[0]
	best.pending = best.pending[1:]
	best.running++
	q.queued--
	q.vtime = run.tag
	delete(q.lastPos, run.ID)
	return run
}

// orderLocked is the order in which the queued runs would start if every
// user's cap allowed.
func (q *LocalQueue) orderLocked() []*Run {
	var out []*Run
	for _, u := range q.users {
		out = append(out, u.pending...)
	}
	slices.SortFunc(out, func(a, b *Run) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	return out
}

func (q *LocalQueue) startLocked(run *Run) {
	q.running++
	run.state.Store(StateRunning)
	ctx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer cancel()
		var stdin io.Reader = strings.NewReader(run.req.Stdin)
		if run.stdin != nil {
			stdin = io.MultiReader(stdin, run.stdin)
		}
		start := time.Now()
		res := q.r.execute(ctx, &run.req, runEnv{
			stdin:    stdin,
			started:  func() { run.send(Event{Type: EventStarted}) },
			onOutput: func(stream, data string) { run.send(Event{Type: EventOutput, Stream: stream, Data: data}) },
		})
		if run.stdin != nil {
			run.stdin.Close()
		}
		q.finish(run, res, time.Since(start))
	}()
}

func (q *LocalQueue) finish(run *Run, res Result, took time.Duration) {
	// The verdict goes out before the slot is given to the next run, so
	// nobody hears a user's next run start before the previous one ended
	// (which reads as a third run next to two running).
	run.result = res
	run.state.Store(StateFinished)
	run.send(Event{Type: EventFinished, Result: &run.result})
	q.mu.Lock()
	q.running--
	if u := q.users[run.UserID]; u != nil {
		u.running--
		if u.running == 0 && len(u.pending) == 0 {
			delete(q.users, run.UserID)
		}
	}
	delete(q.runs, run.ID)
	q.avgRun = (q.avgRun*7 + took) / 8
	notes := q.dispatchLocked()
	q.mu.Unlock()
	q.deliver(notes)
	close(run.done)
}

// Cancel implements Queue.
func (q *LocalQueue) Cancel(runID string) error {
	q.mu.Lock()
	run, ok := q.runs[runID]
	if !ok {
		q.mu.Unlock()
		return ErrNotFound
	}
	if run.cancel != nil {
		// Running: the sandbox kills it and the run finishes as cancelled.
		run.cancel()
		q.mu.Unlock()
		return nil
	}
	q.removeQueuedLocked(run)
	notes := q.dispatchLocked()
	q.mu.Unlock()
	q.deliver(notes)
	q.finishCancelled(run)
	return nil
}

func (q *LocalQueue) removeQueuedLocked(run *Run) {
	u := q.users[run.UserID]
	for i, r := range u.pending {
		if r == run {
			u.pending = append(u.pending[:i], u.pending[i+1:]...)
			break
		}
	}
	q.queued--
	delete(q.runs, run.ID)
	delete(q.lastPos, run.ID)
	if len(u.pending) == 0 {
		if u.running == 0 {
			delete(q.users, run.UserID)
		}
	}
}

func (q *LocalQueue) finishCancelled(run *Run) {
	if run.stdin != nil {
		run.stdin.Close()
	}
	run.result = Result{Status: StatusCancelled}
	if l, ok := q.r.byID[run.req.Language]; ok {
		run.result.Language = LanguageRef{ID: l.ID, Version: l.Version}
	}
	run.state.Store(StateFinished)
	run.send(Event{Type: EventFinished, Result: &run.result})
	close(run.done)
}

// Lookup implements Queue.
func (q *LocalQueue) Lookup(runID string) (*Run, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, ok := q.runs[runID]
	return r, ok
}

// Close implements Queue.
func (q *LocalQueue) Close() {
	q.mu.Lock()
	q.closed = true
	var queued []*Run
	for _, r := range q.runs {
		if r.cancel != nil {
			r.cancel()
		} else {
			queued = append(queued, r)
		}
	}
	for _, r := range queued {
		q.removeQueuedLocked(r)
	}
	q.mu.Unlock()
	for _, r := range queued {
		q.finishCancelled(r)
	}
	q.wg.Wait()
}

// stdinBuffer is an interactive run's input: writes never block (up to a
// cap), reads block until data arrives or it is closed.
type stdinBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    bytes.Buffer
	closed bool
	max    int
}

func newStdinBuffer(max int) *stdinBuffer {
	b := &stdinBuffer{max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *stdinBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errors.New("standard input is closed")
	}
	if b.buf.Len()+len(p) > b.max {
		return 0, errors.New("too much unread standard input")
	}
	b.buf.Write(p)
	b.cond.Broadcast()
	return len(p), nil
}

func (b *stdinBuffer) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.buf.Len() == 0 && !b.closed {
		b.cond.Wait()
	}
	if b.buf.Len() == 0 {
		return 0, io.EOF
	}
	return b.buf.Read(p)
}

func (b *stdinBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.cond.Broadcast()
	return nil
}
