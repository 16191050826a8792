package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codebuddy-dev/codebuddy"
)

var _ codebuddy.ExecutionStore = (*DB)(nil)

type executionRow struct {
	bun.BaseModel `bun:"table:executions"`

	ID              string     `bun:"id,pk"`
	UserID          *string    `bun:"user_id"`
	SessionID       *string    `bun:"session_id"`
	Language        string     `bun:"language"`
	Version         string     `bun:"version"`
	Status          string     `bun:"status"`
	ExitCode        int        `bun:"exit_code"`
	Signal          string     `bun:"signal"`
	Stdout          string     `bun:"stdout"`
	Stderr          string     `bun:"stderr"`
	CompileOutput   string     `bun:"compile_output"`
	TimeMs          int64      `bun:"time_ms"`
	CPUMs           int64      `bun:"cpu_ms"`
	MemoryKb        int64      `bun:"memory_kb"`
	StdoutTruncated bool       `bun:"stdout_truncated"`
	StderrTruncated bool       `bun:"stderr_truncated"`
	CreatedAt       time.Time  `bun:"created_at"`
	FinishedAt      *time.Time `bun:"finished_at"`
}

func executionRowOf(e *codebuddy.Execution) *executionRow {
	var uid *string
	if e.UserID != "" {
		u := e.UserID
		uid = &u
	}
	return &executionRow{ID: e.ID, UserID: uid, SessionID: e.SessionID, Language: e.Language, Version: e.Version,
		Status: e.Status, ExitCode: e.ExitCode, Signal: e.Signal, Stdout: clip(e.Stdout), Stderr: clip(e.Stderr),
		CompileOutput: clip(e.CompileOutput), TimeMs: e.TimeMs, CPUMs: e.CPUMs, MemoryKb: e.MemoryKb,
		StdoutTruncated: e.StdoutTruncated || len(e.Stdout) > codebuddy.MaxStoredOutput,
		StderrTruncated: e.StderrTruncated || len(e.Stderr) > codebuddy.MaxStoredOutput,
		CreatedAt:       e.CreatedAt, FinishedAt: e.FinishedAt}
}

// clip keeps at most MaxStoredOutput bytes, cut at a UTF-8 boundary.
func clip(s string) string {
	if len(s) <= codebuddy.MaxStoredOutput {
		return s
	}
	n := codebuddy.MaxStoredOutput
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func (r *executionRow) domain() *codebuddy.Execution {
	e := &codebuddy.Execution{ID: r.ID, SessionID: r.SessionID, Language: r.Language, Version: r.Version, Status: r.Status,
		ExitCode: r.ExitCode, Signal: r.Signal, Stdout: r.Stdout, Stderr: r.Stderr, CompileOutput: r.CompileOutput,
		TimeMs: r.TimeMs, CPUMs: r.CPUMs, MemoryKb: r.MemoryKb, StdoutTruncated: r.StdoutTruncated,
		StderrTruncated: r.StderrTruncated, CreatedAt: r.CreatedAt.UTC(), FinishedAt: utcPtr(r.FinishedAt)}
	if r.UserID != nil {
		e.UserID = *r.UserID
	}
	return e
}

// CreateExecution implements codebuddy.ExecutionStore.
func (db *DB) CreateExecution(ctx context.Context, e *codebuddy.Execution) error {
	if e.ID == "" {
		e.ID = db.NewID()
	}
	e.CreatedAt = db.Now()
	if _, err := db.write.NewInsert().Model(executionRowOf(e)).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")
		}
		return fmt.Errorf("insert execution: %w", err)
	}
	return nil
}

// FinishExecution implements codebuddy.ExecutionStore.
func (db *DB) FinishExecution(ctx context.Context, e *codebuddy.Execution) error {
	now := db.Now()
	e.FinishedAt = &now
	row := executionRowOf(e)
	_, err := db.write.NewUpdate().Model(row).
		Column("version", "status", "exit_code", "signal", "stdout", "stderr", "compile_output", "time_ms", "cpu_ms",
			"memory_kb", "stdout_truncated", "stderr_truncated", "finished_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("finish execution: %w", err)
	}
	return nil
}

// Execution implements codebuddy.ExecutionStore.
func (db *DB) Execution(ctx context.Context, id string) (*codebuddy.Execution, error) {
	var row executionRow
	if err := db.read.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "execution not found")
		}
		return nil, fmt.Errorf("select execution: %w", err)
	}
	return row.domain(), nil
}

// Executions implements codebuddy.ExecutionStore.
func (db *DB) Executions(ctx context.Context, sessionID, before string, limit int) ([]*codebuddy.Execution, error) {
	// One more than a page, so that callers can tell whether another follows.
	if limit <= 0 || limit > codebuddy.MaxPageSize+1 {
		limit = codebuddy.MaxPageSize + 1
	}
	var rows []executionRow
	q := db.read.NewSelect().Model(&rows).Where("session_id = ?", sessionID)
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	out := make([]*codebuddy.Execution, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// AbandonExecutions implements codebuddy.ExecutionStore.
func (db *DB) AbandonExecutions(ctx context.Context, createdBefore time.Time, reason string) (int, error) {
	res, err := db.write.NewUpdate().Model((*executionRow)(nil)).
		Set("status = ?", "internal_error").
		Set("stderr = ?", clip(reason)).
		Set("finished_at = ?", db.Now()).
		Where("finished_at IS NULL").
		Where("created_at < ?", createdBefore).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("abandon executions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("abandon executions: %w", err)
	}
	return int(n), nil
}
