package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/runs"
)

// Language is the wire form of a language table entry.
type Language struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Available   bool     `json:"available"`
	Reason      string   `json:"reason,omitempty"`
	Extensions  []string `json:"extensions"`
	DefaultFile string   `json:"defaultFile"`
	Template    string   `json:"template"`
}

// LanguageRef names the language and version of a result.
type LanguageRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// ExecutionResult is the response of POST /api/execute and of the run history.
type ExecutionResult struct {
	ID              string      `json:"id"`
	Language        LanguageRef `json:"language"`
	Status          string      `json:"status" enum:"queued,running,ok,compile_error,runtime_error,time_limit,memory_limit,output_limit,cancelled,internal_error"`
	ExitCode        int         `json:"exitCode"`
	Signal          string      `json:"signal,omitempty"`
	Stdout          string      `json:"stdout"`
	Stderr          string      `json:"stderr"`
	CompileOutput   string      `json:"compileOutput,omitempty"`
	TimeMs          int64       `json:"timeMs"`
	CPUMs           int64       `json:"cpuMs"`
	MemoryKb        int64       `json:"memoryKb"`
	StdoutTruncated bool        `json:"stdoutTruncated"`
	StderrTruncated bool        `json:"stderrTruncated"`
	UserID          string      `json:"userId,omitempty"`
	SessionID       *string     `json:"sessionId,omitempty"`
	CreatedAt       *time.Time  `json:"createdAt,omitempty"`
}

// WireResult converts a runner result.
func WireResult(id string, r runner.Result) ExecutionResult {
	return ExecutionResult{ID: id, Language: LanguageRef{ID: r.Language.ID, Version: r.Language.Version}, Status: string(r.Status),
		ExitCode: r.ExitCode, Signal: r.Signal, Stdout: r.Stdout, Stderr: r.Stderr, CompileOutput: r.CompileOutput,
		TimeMs: r.TimeMs, CPUMs: r.CPUMs, MemoryKb: r.MemoryKb, StdoutTruncated: r.StdoutTruncated, StderrTruncated: r.StderrTruncated}
}

func wireExecution(e *codebuddy.Execution) ExecutionResult {
	created := e.CreatedAt
	return ExecutionResult{ID: e.ID, Language: LanguageRef{ID: e.Language, Version: e.Version}, Status: e.Status,
		ExitCode: e.ExitCode, Signal: e.Signal, Stdout: e.Stdout, Stderr: e.Stderr, CompileOutput: e.CompileOutput,
		TimeMs: e.TimeMs, CPUMs: e.CPUMs, MemoryKb: e.MemoryKb, StdoutTruncated: e.StdoutTruncated, StderrTruncated: e.StderrTruncated,
		UserID: e.UserID, SessionID: e.SessionID, CreatedAt: &created}
}

// RunFile is one file of a run request.
type RunFile struct {
	Path    string `json:"path" minLength:"1" maxLength:"255"`
	Content string `json:"content" maxLength:"1048576"`
}

// RunLimits lowers the operator's limits for one run.
type RunLimits struct {
	CPUMs    int64 `json:"cpuMs,omitempty" minimum:"1"`
	WallMs   int64 `json:"wallMs,omitempty" minimum:"1"`
	MemoryKb int64 `json:"memoryKb,omitempty" minimum:"16384" doc:"at least 16 MiB (16384)"`
}

// ExecuteRequest is the body of POST /api/execute (and the WebSocket run message).
type ExecuteRequest struct {
	Language  string     `json:"language,omitempty" maxLength:"32" doc:"defaults to the session's language"`
	Code      string     `json:"code,omitempty" maxLength:"1048576"`
	Files     []RunFile  `json:"files,omitempty" maxItems:"64"`
	Entry     string     `json:"entry,omitempty" maxLength:"255"`
	Stdin     string     `json:"stdin,omitempty" maxLength:"1048576"`
	SessionID string     `json:"sessionId,omitempty" maxLength:"64" doc:"run this session's current files (you need access)"`
	Limits    *RunLimits `json:"limits,omitempty" doc:"lower (never raise) the operator's limits"`
}

// Input converts the request for the run service.
func (r ExecuteRequest) Input() runs.Input {
	in := runs.Input{Language: r.Language, Code: r.Code, Entry: r.Entry, Stdin: r.Stdin, SessionID: r.SessionID}
	for _, f := range r.Files {
		in.Files = append(in.Files, runner.File{Path: f.Path, Content: f.Content})
	}
	if r.Limits != nil {
		in.Limits = &runner.Limits{CPUTime: time.Duration(r.Limits.CPUMs) * time.Millisecond,
			WallTime: time.Duration(r.Limits.WallMs) * time.Millisecond, Memory: r.Limits.MemoryKb << 10}
	}
	return in
}

func (s *Server) routeExecute() {
	tags := []string{"Execution"}
	huma.Register(s.api, huma.Operation{OperationID: "list-languages", Method: http.MethodGet, Path: "/api/languages", Tags: tags,
		Summary: "Languages, their versions and whether they can run here"},
		func(ctx context.Context, _ *struct{}) (*struct{ Body []Language }, error) {
			langs := s.runs.Languages()
			out := &struct{ Body []Language }{Body: make([]Language, 0, len(langs))}
			for _, l := range langs {
				out.Body = append(out.Body, Language{ID: l.ID, Name: l.Name, Version: l.Version, Available: l.Available,
					Reason: l.Reason, Extensions: l.Extensions, DefaultFile: l.DefaultFile, Template: l.Template})
			}
			return out, nil
		})
	op(s, huma.Operation{OperationID: "execute", Method: http.MethodPost, Path: "/api/execute", Tags: tags, MaxBodyBytes: 4 << 20,
		Summary: "Run code in the sandbox and wait for the result", Errors: []int{404, 413, 422, 429, 503}},
		func(ctx context.Context, u *codebuddy.User, in *struct{ Body ExecuteRequest }) (*struct{ Body ExecutionResult }, error) {
			if in.Body.Code != "" && len(in.Body.Files) > 0 {
				return nil, codebuddy.FieldErrorf("code", "give either code or files, not both")
			}
			if in.Body.Code == "" && len(in.Body.Files) == 0 && in.Body.SessionID == "" {
				return nil, codebuddy.FieldErrorf("code", "give code, files or a sessionId")
			}
			if in.Body.Language == "" && in.Body.SessionID == "" {
				return nil, codebuddy.FieldErrorf("language", "is required")
			}
			id, res, err := s.runs.Execute(ctx, u, in.Body.Input())
			if err != nil {
				return nil, err
			}
			return &struct{ Body ExecutionResult }{Body: WireResult(id, res)}, nil
		})
	op(s, huma.Operation{OperationID: "get-execution", Method: http.MethodGet, Path: "/api/executions/{id}", Tags: tags,
		Summary: "A run's record (status queued/running until it finishes)", Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *IDPath) (*struct{ Body ExecutionResult }, error) {
			e, err := s.runs.Get(ctx, u, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ExecutionResult }{Body: wireExecution(e)}, nil
		})
	op(s, huma.Operation{OperationID: "cancel-execution", Method: http.MethodDelete, Path: "/api/executions/{id}", Tags: tags,
		Summary: "Cancel a queued or running run (its starter or the session's owner)", DefaultStatus: http.StatusNoContent, Errors: []int{403, 404, 409}},
		func(ctx context.Context, u *codebuddy.User, in *IDPath) (*struct{}, error) {
			return nil, s.runs.Cancel(ctx, u, in.ID)
		})
	op(s, huma.Operation{OperationID: "list-executions", Method: http.MethodGet, Path: "/api/sessions/{id}/executions", Tags: tags,
		Summary: "A session's run history, newest first", Errors: []int{404, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Before string `query:"before" maxLength:"64"`
			Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
		}) (*struct {
			Body struct {
				Executions []ExecutionResult `json:"executions"`
				NextBefore string            `json:"nextBefore,omitempty"`
			}
		}, error) {
			// One more than a page tells whether another follows, so a history of
			// exactly full pages does not end in an empty one. The store caps a
			// read at MaxPageSize: for a page that size, a full page may have more.
			list, err := s.runs.History(ctx, u, in.ID, in.Before, in.Limit+1)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Executions []ExecutionResult `json:"executions"`
					NextBefore string            `json:"nextBefore,omitempty"`
				}
			}{}
			more := len(list) > in.Limit || len(list) == in.Limit && in.Limit >= codebuddy.MaxPageSize
			list = list[:min(len(list), in.Limit)]
			out.Body.Executions = make([]ExecutionResult, 0, len(list))
			for _, e := range list {
				out.Body.Executions = append(out.Body.Executions, wireExecution(e))
			}
			if more {
				out.Body.NextBefore = list[len(list)-1].ID
			}
			return out, nil
		})
}
