package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/sandbox"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
)

// openExecution detects the toolchains and starts the sandbox pool and the queue.
// A sandbox that cannot be set up leaves execution unavailable with the reason
// (in /readyz, /api/languages and this log); it never falls back to running code
// unisolated unless the operator asked for that development mode.
func (m *Main) openExecution(ctx context.Context) error {
	cfg := runner.DefaultConfig()
	cfg.GoCacheDir = m.Config.GoCacheDir
	if err := os.MkdirAll(cfg.GoCacheDir, 0o755); err != nil {
		// Not root on a laptop: /var/cache is not ours, the user's cache dir is.
		if dir, uerr := os.UserCacheDir(); uerr == nil {
			cfg.GoCacheDir = filepath.Join(dir, "codebuddy", "gocache")
		}
	}
	cfg.Logger = m.Log
	var langs []runner.Language
	var mounts []string
	var pool *sandbox.Pool
	var poolErr error
	switch m.Config.Sandbox {
	case "off":
		// Nothing will run: skip probing the toolchains (seconds of start-up,
		// more when the Go build cache is cold). Every language is listed
		// unavailable with this reason.
		poolErr = errors.New("code execution is turned off by the operator (CODEBUDDY_SANDBOX=off)")
		langs = runner.LanguageTable(cfg)
		for i := range langs {
			langs[i].Reason = poolErr.Error()
		}
	default:
		langs, mounts = runner.DetectLanguages(ctx, cfg)
		dataDir, err := filepath.Abs(m.Config.DataDir)
		if err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		unisolated := m.Config.Sandbox == "unisolated"
		if unisolated {
			m.Log.Error("DEVELOPMENT MODE: CODEBUDDY_SANDBOX=unisolated runs user code WITHOUT ANY ISOLATION; never expose this server")
		}
		opts := cfg.PoolOptions(mounts)
		opts.Slots, opts.ProtectedPaths, opts.Logger, opts.Unisolated = m.Config.ExecSlots, []string{dataDir}, m.Log, unisolated
		pool, poolErr = sandbox.New(ctx, opts)
		if poolErr != nil {
			pool = nil
		}
	}
	if poolErr != nil {
		m.Log.Warn("code execution unavailable", "reason", poolErr.Error())
	} else {
		m.closers = append(m.closers, pool.Close)
	}
	m.Runner = runner.New(cfg, langs, pool, poolErr)
	q := runner.NewLocalQueue(m.Runner, runner.QueueOptions{Concurrency: m.Config.ExecSlots})
	m.Queue = q
	m.closers = append(m.closers, func() error { q.Close(); return nil })
	avail := 0
	for _, l := range m.Runner.Languages() {
		if l.Available {
			avail++
		}
	}
	m.Log.Info("code execution", "sandbox", m.Config.Sandbox, "ready", poolErr == nil, "languages_available", avail)
	return nil
}

// abandonedRun is the stderr of a run whose server stopped before its verdict.
const abandonedRun = "the server stopped before this run finished; run it again"

// staleRunAge is how old an unfinished run on a shared database must be before
// any node ends it: far beyond the longest queue wait plus compile and run
// limits, so a run another live node is still executing is never touched.
const staleRunAge = time.Hour

// abandonRuns ends the runs recorded as queued or running that no server will
// finish (a crash or kill mid-run left them so), as internal errors. On SQLite
// this process is the only server, so every unfinished run is such a run; on
// PostgreSQL other nodes may be running theirs, so only stale ones are ended,
// now and every quarter of staleRunAge.
func (m *Main) abandonRuns(ctx context.Context) error {
	sweep := func(ctx context.Context, age time.Duration) error {
		n, err := m.DB.AbandonExecutions(ctx, m.DB.Now().Add(-age), abandonedRun)
		if n > 0 {
			m.Log.Warn("ended runs a stopped server left unfinished", "runs", n)
		}
		return err
	}
	if m.DB.Engine() != sqlstore.Postgres {
		return sweep(ctx, 0)
	}
	if err := sweep(ctx, staleRunAge); err != nil {
		return err
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(staleRunAge / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := sweep(context.Background(), staleRunAge); err != nil {
					m.Log.Error("end stale runs", "err", err)
				}
			}
		}
	}()
	m.closers = append(m.closers, func() error { close(stop); <-done; return nil })
	return nil
}
