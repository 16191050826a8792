// Package sqlstore implements CodeBuddy's storage interfaces on SQLite (the embedded
// default) and PostgreSQL (cluster mode) with one code path over bun.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

// Engine names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options select and tune the database.
type Options struct {
	// URL is a postgres:// URL; empty selects SQLite in DataDir.
	URL string
	// DataDir holds codebuddy.db when URL is empty.
	DataDir string
	// ReadConns bounds the SQLite read pool (default 2×GOMAXPROCS, at least 4).
	ReadConns int
	Logger    *slog.Logger
}

// DB is the store. On SQLite it keeps a read pool and a single-connection write pool,
// so writers queue in Go rather than spinning on SQLITE_BUSY; on PostgreSQL both are
// the same pool.
type DB struct {
	engine string
	read   *bun.DB
	write  *bun.DB
	log    *slog.Logger

	// Now and NewID are injectable so tests control time and identifiers.
	Now   func() time.Time
	NewID func() string

	// tokenStmt is UserByTokenHash's query, prepared once: it runs on every
	// authenticated request, and parsing it each time was its largest cost on SQLite.
	tokenMu   sync.Mutex
	tokenStmt *sql.Stmt
}

// Open connects, configures and migrates the database.
func Open(ctx context.Context, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Both engines keep microseconds; truncating here makes what is returned equal what was stored.
	db := &DB{log: log, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }, NewID: newID}
	var err error
	if opts.URL == "" || strings.HasPrefix(opts.URL, "sqlite:") || strings.HasPrefix(opts.URL, "file:") {
		err = db.openSQLite(opts)
	} else if strings.HasPrefix(opts.URL, "postgres://") || strings.HasPrefix(opts.URL, "postgresql://") {
		err = db.openPostgres(opts.URL)
	} else {
		return nil, fmt.Errorf("database url: unsupported scheme (want postgres:// or empty for SQLite)")
	}
	if err != nil {
		return nil, err
	}
	if err := db.read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", db.engine, err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func (db *DB) openSQLite(opts Options) error {
	db.engine = SQLite
	path := strings.TrimPrefix(strings.TrimPrefix(opts.URL, "sqlite:"), "file:")
	if path == "" {
		if opts.DataDir == "" {
			return errors.New("sqlite: no data dir")
		}
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
		path = filepath.Join(opts.DataDir, "codebuddy.db")
	}
	// busy_timeout must come first so the WAL switch itself waits for other openers.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_time_format", "sqlite")
	dsn := "file:" + path + "?" + q.Encode()

	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)

	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("open sqlite: %w", err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)

	db.write = bun.NewDB(w, sqlitedialect.New())
	db.read = bun.NewDB(r, sqlitedialect.New())
	// The write connection must exist (and WAL be on) before readers open the file.
	if err := db.write.Ping(); err != nil {
		db.Close()
		return fmt.Errorf("open sqlite %s: %w", filepath.Base(path), err)
	}
	return nil
}

func (db *DB) openPostgres(rawURL string) error {
	db.engine = Postgres
	s, err := sql.Open("pgx", rawURL)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	s.SetMaxOpenConns(max(8, 4*runtime.GOMAXPROCS(0)))
	s.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
	s.SetConnMaxIdleTime(5 * time.Minute)
	db.write = bun.NewDB(s, pgdialect.New())
	db.read = db.write
	return nil
}

// Engine reports "sqlite" or "postgres".
func (db *DB) Engine() string { return db.engine }

// Close closes the pools.
func (db *DB) Close() error {
	var errs []error
	db.tokenMu.Lock()
	if db.tokenStmt != nil {
		errs = append(errs, db.tokenStmt.Close())
		db.tokenStmt = nil
	}
	db.tokenMu.Unlock()
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks both pools; it backs /readyz.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return db.write.NewRaw("SELECT 1").Scan(ctx, &one)
}

// Migrate applies the embedded migrations of this engine. On PostgreSQL a session
// advisory lock makes concurrent starters take turns.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.engine, err)
	}
	for _, r := range res {
		db.log.Info("migration applied", "engine", db.engine, "version", r.Source.Version, "file", filepath.Base(r.Source.Path))
	}
	return nil
}

// MigrationStatus lists each embedded migration and whether it is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]string, error) {
	p, err := db.migrator()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]string, 0, len(st))
	for _, s := range st {
		out = append(out, fmt.Sprintf("%05d %-8s %s", s.Source.Version, s.State, filepath.Base(s.Source.Path)))
	}
	return out, nil
}

func (db *DB) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.engine)
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.engine == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, db.write.DB, sub, opts...)
}
