package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/go-chi/httprate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/broker"
	"github.com/codebuddy-dev/codebuddy/collab"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/ratelimit"
	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/runs"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/web"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// Main holds the running program's parts, built by Open and released by Close.
type Main struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *sqlstore.DB
	Auth   *auth.Service
	Work   *workspace.Service
	Redis  *redis.Client
	Broker codebuddy.Broker
	Hub    *collab.Hub
	Runner *runner.Runner
	Queue  runner.Queue
	Runs   *runs.Service
	HTTP   *httpapi.Server

	server   *http.Server
	listener net.Listener
	closers  []func() error
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToLower(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(cfg.LogFormat) == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Open connects every dependency and builds the HTTP server.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Main, error) {
	m := &Main{Config: cfg, Log: log}
	if cfg.SentryDSN != "" {
		if err := sentry.Init(sentry.ClientOptions{Dsn: cfg.SentryDSN, Release: version, Environment: cfg.Environment}); err != nil {
			return nil, fmt.Errorf("sentry: %w", err)
		}
		m.closers = append(m.closers, func() error { sentry.Flush(2 * time.Second); return nil })
		log.Info("sentry error reporting on")
	}
	db, err := sqlstore.Open(ctx, sqlstore.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		m.Close()
		return nil, err
	}
	m.DB = db
	m.closers = append(m.closers, db.Close)
	log.Info("database ready", "engine", db.Engine())

	now := db.Now
	checks := []httpapi.Check{{Name: "database", Check: db.Ping}}
	var newCounter func(time.Duration) httprate.LimitCounter
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("CODEBUDDY_REDIS_URL: %w", err)
		}
		m.Redis = redis.NewClient(opt)
		m.closers = append(m.closers, m.Redis.Close)
		rb, err := broker.NewRedis(ctx, m.Redis, "codebuddy:", log)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.Broker = rb
		checks = append(checks, httpapi.Check{Name: "redis", Check: func(ctx context.Context) error { return m.Redis.Ping(ctx).Err() }})
		newCounter = func(time.Duration) httprate.LimitCounter { return ratelimit.NewRedisCounter(m.Redis, "codebuddy:rl:") }
		log.Info("redis ready: cross-node fan-out and shared rate limits on")
	} else {
		m.Broker = broker.NewMemory()
		newCounter = func(w time.Duration) httprate.LimitCounter { return httprate.NewLocalLimitCounter(w) }
	}
	m.closers = append(m.closers, m.Broker.Close)

	m.Auth, err = auth.New(auth.Options{Users: db, Tokens: db, SessionTTL: cfg.SessionTTL,
		HashConcurrency: cfg.HashConcurrency, Now: now,
		Failures: ratelimit.NewWindow(newCounter(time.Hour), cfg.LoginFailures, time.Hour, now)})
	if err != nil {
		m.Close()
		return nil, err
	}
	if err := m.openExecution(ctx); err != nil {
		m.Close()
		return nil, err
	}
	checks = append(checks, httpapi.Check{Name: "sandbox", Check: func(context.Context) error { return m.Runner.Ready() }})
	m.Work = workspace.New(workspace.Options{Store: db, Now: now, Starter: starterFiles(m.Runner)})
	m.Runs = runs.New(runs.Options{Queue: m.Queue, Runner: m.Runner, Store: db, Workspace: m.Work, Files: db, Logger: log})
	if err := m.abandonRuns(ctx); err != nil {
		m.Close()
		return nil, err
	}
	m.Hub = collab.New(collab.Options{Workspace: m.Work, Files: db, Log: db, Broker: m.Broker, Logger: log,
		Node: nodeName(), Origins: cfg.Origins, UserFrom: httpapi.UserFrom, Now: now, Runs: m.Runs, MaxUserConns: cfg.WSConnsPerUser})
	m.closers = append(m.closers, func() error { m.Hub.Close(); return nil })
	m.Work.SetNotifier(m.Hub)
	m.Runs.SetPublisher(m.Hub)
	m.Runs.SetContents(m.Hub)

	reg := prometheus.NewRegistry()
	m.HTTP = routes(httpapi.Options{
		Config: cfg, Auth: m.Auth, Users: db, Logger: log, Registry: reg, Web: web.Dist(), Version: version, Now: now,
		Workspace: m.Work, Runs: m.Runs, NewCounter: newCounter, Checks: checks,
	}, m.Hub)
	return m, nil
}

// Close releases everything Open acquired, in reverse order.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	return errors.Join(errs...)
}

// Listen binds the configured address (separate from Serve so tests learn the port).
func (m *Main) Listen() error {
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", m.Config.Addr, err)
	}
	m.listener = ln
	m.server = &http.Server{
		Handler:           m.HTTP,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	return nil
}

// Addr is the bound address.
func (m *Main) Addr() net.Addr { return m.listener.Addr() }

// Serve runs until ctx ends, then shuts down gracefully.
func (m *Main) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		var err error
		if m.Config.TLSCert != "" {
			m.server.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			err = m.server.ServeTLS(m.listener, m.Config.TLSCert, m.Config.TLSKey)
		} else {
			err = m.server.Serve(m.listener)
		}
		errc <- err
	}()
	m.Log.Info("serving", "addr", m.listener.Addr().String(), "base_url", m.Config.BaseURL, "tls", m.Config.TLSCert != "", "version", version)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	// Hijacked WebSocket connections are not tracked by Shutdown: close them first.
	m.Hub.Close()
	if err := m.server.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func runServe(ctx context.Context, stderr io.Writer) error {
	cfg, err := config.FromOS()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	m, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Listen(); err != nil {
		return err
	}
	return m.Serve(ctx)
}

// nodeName identifies this process among the cluster's nodes.
func nodeName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}

// routes builds the HTTP server with every route, the real-time hub's included.
func routes(o httpapi.Options, hub *collab.Hub) *httpapi.Server {
	o.Content, o.Online = hub, hub.Online
	s := httpapi.New(o)
	hub.Register(s.API(), s.APIError)
	s.Mux().Handle("GET /api/ws", hub)
	return s
}
