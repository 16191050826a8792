package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

func TestExecutions(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := withClock(db)
		alice := newUser(t, db, "alice")
		s := newSession(t, db, alice, "s", false)
		sid := s.ID

		// A run is recorded queued, then finished with its verdict; output
		// beyond MaxStoredOutput is clipped at a UTF-8 boundary and flagged.
		e := &codebuddy.Execution{UserID: alice.ID, SessionID: &sid, Language: "python", Status: "queued"}
		if err := db.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		got, err := db.Execution(ctx, e.ID)
		if err != nil || got.Status != "queued" || got.FinishedAt != nil || got.UserID != alice.ID || *got.SessionID != sid {
			t.Fatalf("created run reads back as %+v, %v", got, err)
		}
		e.Status, e.ExitCode, e.Stdout = "runtime_error", 3, strings.Repeat("é", codebuddy.MaxStoredOutput)
		if err := db.FinishExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		got, err = db.Execution(ctx, e.ID)
		if err != nil || got.Status != "runtime_error" || got.ExitCode != 3 || got.FinishedAt == nil ||
			len(got.Stdout) != codebuddy.MaxStoredOutput || !got.StdoutTruncated || got.StderrTruncated {
			t.Fatalf("finished run reads back as status %q exit %d finished %v stdout %d bytes truncated %v, %v",
				got.Status, got.ExitCode, got.FinishedAt, len(got.Stdout), got.StdoutTruncated, err)
		}
		if _, err := db.Execution(ctx, "ghost"); codebuddy.ErrorCode(err) != codebuddy.ENOTFOUND {
			t.Fatalf("unknown run: %v, want not found", err)
		}
		ghost := "ghost"
		err = db.CreateExecution(ctx, &codebuddy.Execution{UserID: alice.ID, SessionID: &ghost, Language: "python", Status: "queued"})
		wantCode(t, "run of an unknown session", err, codebuddy.ENOTFOUND)

		// A page may ask for one more than MaxPageSize, so that the API can
		// tell whether another page follows a full one.
		for i := range codebuddy.MaxPageSize + 5 {
			clock.Now()
			if err := db.CreateExecution(ctx, &codebuddy.Execution{UserID: alice.ID, SessionID: &sid, Language: "python", Status: "queued", Stdout: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := db.Executions(ctx, sid, "", codebuddy.MaxPageSize+1)
		if err != nil || len(page) != codebuddy.MaxPageSize+1 {
			t.Fatalf("page of %d: %d runs, %v", codebuddy.MaxPageSize+1, len(page), err)
		}
		if page, _ := db.Executions(ctx, sid, "", 1000); len(page) != codebuddy.MaxPageSize+1 {
			t.Fatalf("a page of 1000 holds %d runs, want the cap %d", len(page), codebuddy.MaxPageSize+1)
		}
		rest, err := db.Executions(ctx, sid, page[len(page)-1].ID, 100)
		if err != nil || len(rest) != codebuddy.MaxPageSize+6-len(page) {
			t.Fatalf("the page after: %d runs, %v", len(rest), err)
		}
		if rest[len(rest)-1].ID != e.ID || page[0].ID <= page[1].ID {
			t.Fatalf("runs are not newest first")
		}

		// Runs a stopped server never finished are ended as internal errors,
		// once, and only those created before the cut-off.
		cut := clock.Now()
		late := &codebuddy.Execution{UserID: alice.ID, SessionID: &sid, Language: "python", Status: "queued"}
		if err := db.CreateExecution(ctx, late); err != nil {
			t.Fatal(err)
		}
		n, err := db.AbandonExecutions(ctx, cut, "the server stopped before this run finished")
		if err != nil || n != codebuddy.MaxPageSize+5 {
			t.Fatalf("AbandonExecutions = %d, %v; want the %d unfinished runs", n, err, codebuddy.MaxPageSize+5)
		}
		if n, _ := db.AbandonExecutions(ctx, cut, "again"); n != 0 {
			t.Fatalf("abandoning again ended %d runs", n)
		}
		got, _ = db.Execution(ctx, page[0].ID)
		if got.Status != "internal_error" || got.FinishedAt == nil || got.Stderr != "the server stopped before this run finished" {
			t.Fatalf("abandoned run reads back as %+v", got)
		}
		if got, _ := db.Execution(ctx, e.ID); got.Status != "runtime_error" {
			t.Fatalf("a finished run was abandoned: %q", got.Status)
		}
		if got, _ := db.Execution(ctx, late.ID); got.Status != "queued" || got.FinishedAt != nil {
			t.Fatalf("a run created after the cut-off was abandoned: %+v", got)
		}
	})
}
