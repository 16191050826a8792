// Package runs is the execution service: it turns API and WebSocket run requests
// into runner jobs (resolving a session's files after checking access), records
// every run, and streams live events to the session's participants.
package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// Publisher delivers a run's live events to a session's participants.
type Publisher interface {
	RunEvent(ctx context.Context, sessionID string, ev Event)
}

// Contents returns a file's latest committed content (the live document).
type Contents interface {
	Current(ctx context.Context, f *codebuddy.File) (*codebuddy.File, error)
}

// Event is a live run event with who started it.
type Event struct {
	runner.Event
	UserID   string
	Username string
}

// Options wire the service.
type Options struct {
	Queue     runner.Queue
	Runner    *runner.Runner
	Store     codebuddy.ExecutionStore
	Workspace *workspace.Service
	Files     codebuddy.FileStore
	Contents  Contents
	Publisher Publisher
	Logger    *slog.Logger
}

// Service runs code.
type Service struct {
	o Options

	// live is the state ("queued", "running") of this node's runs from their
	// submission until their verdict is stored. The stored record says "queued"
	// until then, and the queue forgets a run before its result is stored, so
	// neither alone can tell a reader where a run is.
	mu   sync.Mutex
	live map[string]string
}

// New returns the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, live: map[string]string{}}
}

func (s *Service) setLive(id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == "" {
		delete(s.live, id)
	} else {
		s.live[id] = state
	}
}

// SetContents installs the live-content source (the hub is built after the service).
func (s *Service) SetContents(c Contents) { s.o.Contents = c }

// SetPublisher installs the live-event sink (the hub is built after the service).
func (s *Service) SetPublisher(p Publisher) { s.o.Publisher = p }

// Languages lists the language table with availability.
func (s *Service) Languages() []runner.Language { return s.o.Runner.Languages() }

// Ready says whether code can run at all.
func (s *Service) Ready(context.Context) error { return s.o.Runner.Ready() }

// Input is one run request.
type Input struct {
	Language    string
	Code        string
	Files       []runner.File
	Entry       string
	Stdin       string
	SessionID   string
	Interactive bool
	Limits      *runner.Limits
}

// Start queues a run. With a session and neither code nor files, it runs the
// session's current files. onEvent (optional) sees every event too.
func (s *Service) Start(ctx context.Context, u *codebuddy.User, in Input, onEvent func(runner.Event)) (*runner.Run, error) {
	req := runner.Request{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Language: in.Language, Code: in.Code,
		Files: in.Files, Entry: in.Entry, Stdin: in.Stdin, Interactive: in.Interactive, Limits: in.Limits}
	var sessionID *string
	fromSession := false
	if in.SessionID != "" {
		sess, _, err := s.o.Workspace.Access(ctx, u, in.SessionID)
		if err != nil {
			return nil, err
		}
		sid := sess.ID
		sessionID = &sid
		if req.Language == "" {
			req.Language = sess.Language
		}
		if req.Code == "" && len(req.Files) == 0 {
			files, err := s.sessionFiles(ctx, u, sess.ID)
			if err != nil {
				return nil, err
			}
			req.Files = files
			fromSession = true
		}
	}
	if _, _, _, err := s.o.Runner.Validate(&req); err != nil {
		if errors.Is(err, runner.ErrUnavailable) && s.o.Runner.Ready() == nil {
			// The sandbox works; this language's toolchain is what is missing.
			return nil, codebuddy.FieldErrorf("language", "%v", err)
		}
		if fromSession {
			err = sessionFilesError(err, req.Files)
		}
		return nil, mapError(err)
	}
	created := make(chan struct{})
	rec := &codebuddy.Execution{ID: req.ID, UserID: u.ID, SessionID: sessionID, Language: req.Language, Status: "queued"}
	emit := func(e runner.Event) {
		// Record the verdict before anyone hears of it: a participant who sees
		// "finished" and then asks GET /api/executions/{id} must find the result,
		// not the "queued" record.
		switch {
		case e.Type == runner.EventStarted:
			s.setLive(req.ID, string(runner.StateRunning))
		case e.Type == runner.EventFinished && e.Result != nil:
			<-created
			s.finish(rec, e.Result)
			s.setLive(req.ID, "")
		}
		if onEvent != nil {
			onEvent(e)
		}
		if sessionID != nil && s.o.Publisher != nil {
			s.o.Publisher.RunEvent(context.Background(), *sessionID, Event{Event: e, UserID: u.ID, Username: u.Username})
		}
	}
	// Before Submit: the run may start (and say so) before Submit returns.
	s.setLive(req.ID, string(runner.StateQueued))
	run, err := s.o.Queue.Submit(req, newOutputBatcher(emit).event)
	if err != nil {
		s.setLive(req.ID, "")
		close(created)
		return nil, mapError(err)
	}
	if err := s.o.Store.CreateExecution(context.WithoutCancel(ctx), rec); err != nil {
		s.o.Logger.Error("record execution", "run", req.ID, "err", err)
	}
	close(created)
	return run, nil
}

func (s *Service) finish(rec *codebuddy.Execution, r *runner.Result) {
	rec.Version, rec.Status, rec.ExitCode, rec.Signal = r.Language.Version, string(r.Status), r.ExitCode, r.Signal
	rec.Stdout, rec.Stderr, rec.CompileOutput = r.Stdout, r.Stderr, r.CompileOutput
	rec.TimeMs, rec.CPUMs, rec.MemoryKb = r.TimeMs, r.CPUMs, r.MemoryKb
	rec.StdoutTruncated, rec.StderrTruncated = r.StdoutTruncated, r.StderrTruncated
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.o.Store.FinishExecution(ctx, rec); err != nil {
		s.o.Logger.Error("record execution result", "run", rec.ID, "err", err)
	}
}

// Execute runs synchronously; if ctx ends first (the client went away) the run is cancelled.
func (s *Service) Execute(ctx context.Context, u *codebuddy.User, in Input) (string, runner.Result, error) {
	run, err := s.Start(ctx, u, in, nil)
	if err != nil {
		return "", runner.Result{}, err
	}
	res, err := run.Wait(ctx)
	if err != nil {
		_ = s.o.Queue.Cancel(run.ID)
		return "", runner.Result{}, codebuddy.Errorf(codebuddy.EUNAVAILABLE, "the request ended before the run finished")
	}
	return run.ID, res, nil
}

func (s *Service) sessionFiles(ctx context.Context, u *codebuddy.User, sessionID string) ([]runner.File, error) {
	tree, err := s.o.Workspace.Files(ctx, u, sessionID)
	if err != nil {
		return nil, err
	}
	var out []runner.File
	for _, f := range tree {
		if f.IsFolder {
			continue
		}
		full, err := s.o.Files.File(ctx, f.ID)
		if err != nil {
			return nil, err
		}
		if s.o.Contents != nil {
			if live, err := s.o.Contents.Current(ctx, full); err == nil {
				full = live
			}
		}
		out = append(out, runner.File{Path: f.Path, Content: full.Content})
	}
	if len(out) == 0 {
		return nil, codebuddy.FieldErrorf("sessionId", "the session has no files to run")
	}
	return out, nil
}

// visible reports whether u may see an execution: its starter, or anyone with access to its session.
func (s *Service) visible(ctx context.Context, u *codebuddy.User, e *codebuddy.Execution) bool {
	if e.UserID == u.ID {
		return true
	}
	if e.SessionID == nil {
		return false
	}
	_, _, err := s.o.Workspace.Access(ctx, u, *e.SessionID)
	return err == nil
}

// Get returns an execution record (404 for those u may not see).
func (s *Service) Get(ctx context.Context, u *codebuddy.User, id string) (*codebuddy.Execution, error) {
	e, err := s.o.Store.Execution(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.visible(ctx, u, e) {
		return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "execution not found")
	}
	s.liveStatus(e)
	return e, nil
}

// liveStatus replaces the stored status of an unfinished run (written once, as
// "queued") by where it is: a client polling a run must see it wait, start,
// and only then end, never fall back to "queued" as it finishes.
func (s *Service) liveStatus(e *codebuddy.Execution) {
	if e.FinishedAt != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.live[e.ID]; ok {
		e.Status = st
	}
}

// Cancel stops a queued or running run: its starter or the session's owner may.
func (s *Service) Cancel(ctx context.Context, u *codebuddy.User, id string) error {
	e, err := s.o.Store.Execution(ctx, id)
	if err != nil {
		return err
	}
	if !s.visible(ctx, u, e) {
		return codebuddy.Errorf(codebuddy.ENOTFOUND, "execution not found")
	}
	if e.UserID != u.ID {
		_, role, err := s.o.Workspace.Access(ctx, u, *e.SessionID)
		if err != nil || role != codebuddy.RoleOwner {
			return codebuddy.Errorf(codebuddy.EFORBIDDEN, "only who started a run, or the session's owner, may cancel it")
		}
	}
	if err := s.o.Queue.Cancel(id); err != nil {
		if errors.Is(err, runner.ErrNotFound) {
			return codebuddy.Errorf(codebuddy.ECONFLICT, "the run has already finished")
		}
		return err
	}
	return nil
}

// Stdin feeds a running interactive program; only its starter may.
func (s *Service) Stdin(u *codebuddy.User, runID string, data string, eof bool) error {
	run, ok := s.o.Queue.Lookup(runID)
	if !ok {
		return codebuddy.Errorf(codebuddy.ENOTFOUND, "no such running program")
	}
	if run.UserID != u.ID {
		return codebuddy.Errorf(codebuddy.EFORBIDDEN, "only who started the run may type into it")
	}
	if data != "" {
		if err := run.WriteStdin([]byte(data)); err != nil {
			return codebuddy.Errorf(codebuddy.ECONFLICT, "cannot write to this run: %v", err)
		}
	}
	if eof {
		_ = run.CloseStdin()
	}
	return nil
}

// History pages a session's runs (any participant).
func (s *Service) History(ctx context.Context, u *codebuddy.User, sessionID, before string, limit int) ([]*codebuddy.Execution, error) {
	if _, _, err := s.o.Workspace.Access(ctx, u, sessionID); err != nil {
		return nil, err
	}
	list, err := s.o.Store.Executions(ctx, sessionID, before, limit)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		s.liveStatus(e)
	}
	return list, nil
}

// sessionFilesError rewrites a complaint about files[i] or entry, fields the
// caller never sent when it asked to run a session's files, to name the
// sessionId and the file.
func sessionFilesError(err error, files []runner.File) error {
	var re *runner.RequestError
	if !errors.As(err, &re) {
		return err
	}
	var i int
	if n, _ := fmt.Sscanf(re.Field, "files[%d]", &i); n == 1 && i >= 0 && i < len(files) {
		return codebuddy.FieldErrorf("sessionId", "the session's file %s cannot run: %s", files[i].Path, re.Message)
	}
	if re.Field == "files" || re.Field == "entry" {
		return codebuddy.FieldErrorf("sessionId", "the session's files cannot run: %s", re.Message)
	}
	return err
}

func mapError(err error) error {
	var re *runner.RequestError
	if errors.As(err, &re) {
		return &codebuddy.Error{Code: codebuddy.EINVALID, Field: re.Field, Message: re.Message}
	}
	var qf *runner.QueueFullError
	if errors.As(err, &qf) {
		code := codebuddy.EUNAVAILABLE
		if qf.PerUser {
			code = codebuddy.ERATELIMITED
		}
		return &codebuddy.Error{Code: code, Message: qf.Error(), RetryAfterSeconds: max(1, int(qf.RetryAfter/time.Second))}
	}
	if errors.Is(err, runner.ErrUnavailable) {
		return &codebuddy.Error{Code: codebuddy.EUNAVAILABLE, Message: fmt.Sprint(err), RetryAfterSeconds: 0}
	}
	return err
}
