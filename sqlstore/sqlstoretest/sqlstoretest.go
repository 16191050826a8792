// Package sqlstoretest opens real databases for tests: SQLite always, PostgreSQL
// when CODEBUDDY_TEST_POSTGRES_URL is set. With CODEBUDDY_TEST_REQUIRE_POSTGRES=1
// (set by .ci/run) a missing or unreachable PostgreSQL fails the test instead of
// leaving it out.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/codebuddy-dev/codebuddy/sqlstore"
)

// Environment variables read here.
const (
	PostgresURLEnv     = "CODEBUDDY_TEST_POSTGRES_URL"
	RequirePostgresEnv = "CODEBUDDY_TEST_REQUIRE_POSTGRES"
)

// Engines lists the engines to run a conformance body against.
func Engines(t testing.TB) []string {
	engines := []string{sqlstore.SQLite}
	if os.Getenv(PostgresURLEnv) != "" {
		engines = append(engines, sqlstore.Postgres)
	} else if os.Getenv(RequirePostgresEnv) == "1" {
		t.Fatalf("%s=1 but %s is not set", RequirePostgresEnv, PostgresURLEnv)
	} else {
		t.Logf("PostgreSQL suite not run: set %s=postgres://…/test to include it", PostgresURLEnv)
	}
	return engines
}

// ForEach runs body once per engine as a subtest with a fresh, migrated database.
func ForEach(t *testing.T, body func(t *testing.T, db *sqlstore.DB)) {
	for _, e := range Engines(t) {
		t.Run(e, func(t *testing.T) { body(t, Open(t, e)) })
	}
}

// Open returns a fresh migrated database of the engine, removed when t ends. On
// PostgreSQL each call gets its own schema so tests never see each other's rows.
func Open(t testing.TB, engine string) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch engine {
	case sqlstore.SQLite:
		db, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	case sqlstore.Postgres:
		u := SchemaURL(t)
		db, err := sqlstore.Open(ctx, sqlstore.Options{URL: u})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Fatalf("unknown engine %q", engine)
	return nil
}

// SchemaURL creates an empty schema in the test PostgreSQL and returns a URL whose
// connections use it; the schema is dropped when t ends.
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Fatalf("%s is not set", PostgresURLEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema (is PostgreSQL running at %s?): %v", base, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
