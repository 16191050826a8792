package codebuddy

import (
	"context"
	"time"
)

// Execution is the record of one run: who, what, the verdict, resources and
// (truncated) output. Status "queued" and "running" are states before the verdict.
type Execution struct {
	ID              string
	UserID          string
	SessionID       *string
	Language        string
	Version         string
	Status          string
	ExitCode        int
	Signal          string
	Stdout          string
	Stderr          string
	CompileOutput   string
	TimeMs          int64
	CPUMs           int64
	MemoryKb        int64
	StdoutTruncated bool
	StderrTruncated bool
	CreatedAt       time.Time
	FinishedAt      *time.Time
}

// MaxStoredOutput bounds each output stream kept in the run history.
const MaxStoredOutput = 64 << 10

// ExecutionStore persists run history.
type ExecutionStore interface {
	CreateExecution(ctx context.Context, e *Execution) error
	// FinishExecution stores the verdict of a run created earlier.
	FinishExecution(ctx context.Context, e *Execution) error
	Execution(ctx context.Context, id string) (*Execution, error)
	// Executions pages a session's runs, newest first, before an id cursor.
	Executions(ctx context.Context, sessionID, before string, limit int) ([]*Execution, error)
	// AbandonExecutions ends the runs created before the time that never got
	// a verdict (their server stopped mid-run) as internal errors with the
	// reason on stderr, and says how many there were.
	AbandonExecutions(ctx context.Context, createdBefore time.Time, reason string) (int, error)
}
