package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/sandbox"
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
	langs, mounts := runner.DetectLanguages(ctx, cfg)
	var pool *sandbox.Pool
	var poolErr error
	switch m.Config.Sandbox {
	case "off":
		poolErr = errors.New("code execution is turned off by the operator (CODEBUDDY_SANDBOX=off)")
	default:
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
