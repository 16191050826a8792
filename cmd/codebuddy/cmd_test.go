package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/internal/redistest"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

// testEnv points the process environment at a fresh data dir with execution off
// (these tests are about start-up and accounts, not the sandbox).
func testEnv(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("CODEBUDDY_DATA_DIR", dir)
	t.Setenv("CODEBUDDY_SANDBOX", "off")
	t.Setenv("CODEBUDDY_GO_CACHE_DIR", t.TempDir())
	t.Setenv("CODEBUDDY_LOG_LEVEL", "warn")
	t.Setenv("CODEBUDDY_ADDR", "127.0.0.1:0")
	t.Setenv("CODEBUDDY_ADMIN_PASSWORD", "")
	return dir
}

func runCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func TestRunCommands(t *testing.T) {
	testEnv(t)
	if out, _, err := runCmd(t, "", "version"); err != nil || !strings.HasPrefix(out, "codebuddy ") {
		t.Fatalf("version: %q %v", out, err)
	}
	for _, h := range []string{"help", "-h", "--help"} {
		if out, _, err := runCmd(t, "", h); err != nil || !strings.Contains(out, "admin create-user") {
			t.Fatalf("%s: %q %v", h, out, err)
		}
	}
	_, stderr, err := runCmd(t, "", "frobnicate")
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) || !strings.Contains(stderr, "serve") {
		t.Fatalf("unknown command: %v, stderr %q", err, stderr)
	}
	if _, _, err := runCmd(t, "", "migrate", "sideways"); err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Fatalf("migrate sideways: %v", err)
	}
	out, _, err := runCmd(t, "", "migrate", "status")
	if err != nil || !strings.Contains(out, "00001") || !strings.Contains(out, "applied") {
		t.Fatalf("migrate status: %q %v", out, err)
	}
	if _, _, err := runCmd(t, "", "migrate"); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}

func TestAdmin(t *testing.T) {
	dir := testEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"admin"}, "usage"},
		{[]string{"admin", "create-user"}, "usage"},
		{[]string{"admin", "delete-user", "x"}, `unknown subcommand "delete-user"`},
	} {
		if _, _, err := runCmd(t, "pw\n", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, _, err := runCmd(t, "", "admin", "create-user", "alice"); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("no password: %v", err)
	}
	out, _, err := runCmd(t, "first password\r\n", "admin", "create-user", "alice", "a@example.org")
	if err != nil || !strings.Contains(out, "created user alice") {
		t.Fatalf("create-user: %q %v", out, err)
	}
	if _, _, err := runCmd(t, "first password\n", "admin", "create-user", "ALICE"); err == nil || !strings.Contains(err.Error(), "username: this username is taken") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, _, err := runCmd(t, "short\n", "admin", "create-user", "bob"); err == nil || !strings.Contains(err.Error(), "password:") {
		t.Fatalf("short password: %v", err)
	}
	if _, _, err := runCmd(t, "whatever pw\n", "admin", "reset-password", "nobody"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("reset unknown: %v", err)
	}

	// A login made before the reset stops working; the new password (from the environment) signs in.
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, _ := auth.New(auth.Options{Users: db, Tokens: db})
	_, secret, err := svc.Login(ctx, "ip", "alice", "first password")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CODEBUDDY_ADMIN_PASSWORD", "second password")
	if out, _, err := runCmd(t, "", "admin", "reset-password", "alice"); err != nil || !strings.Contains(out, "reset") {
		t.Fatalf("reset-password: %q %v", out, err)
	}
	if _, _, err := svc.Authenticate(ctx, secret); err == nil {
		t.Fatal("login token survived the reset")
	}
	if _, _, err := svc.Login(ctx, "ip", "alice", "second password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	testEnv(t)
	t.Setenv("CODEBUDDY_LOG_LEVEL", "chatty")
	t.Setenv("CODEBUDDY_BASE_URL", "not a url")
	for _, args := range [][]string{{"serve"}, {}, {"migrate"}, {"admin", "create-user", "x"}} {
		t.Setenv("CODEBUDDY_ADMIN_PASSWORD", "long enough")
		_, _, err := runCmd(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "CODEBUDDY_LOG_LEVEL") || !strings.Contains(err.Error(), "CODEBUDDY_BASE_URL") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestServeAndShutdown(t *testing.T) {
	testEnv(t)
	cfg, err := config.FromOS()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := Open(ctx, cfg, newLogger(cfg, &logs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	base := "http://" + m.Addr().String()
	get := func(path string) (int, string) {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	// Execution is off, so readiness says so (503) and names the sandbox.
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, `"database":{"status":"ok"`) || !strings.Contains(body, "sandbox") {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still answering after shutdown")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestListenBusyAddress(t *testing.T) {
	testEnv(t)
	cfg, _ := config.FromOS()
	ctx := context.Background()
	a, err := Open(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	defer a.listener.Close()
	cfg2 := *cfg
	cfg2.Addr = a.Addr().String()
	cfg2.DataDir = t.TempDir()
	b, err := Open(ctx, &cfg2, newLogger(&cfg2, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Listen(); err == nil || !strings.Contains(err.Error(), cfg2.Addr) {
		t.Fatalf("second Listen on %s: %v", cfg2.Addr, err)
	}
}

func TestLoggerFormats(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&config.Config{LogLevel: "DEBUG", LogFormat: "text"}, &buf).Debug("hello", "k", "v")
	if !strings.Contains(buf.String(), "level=DEBUG") || !strings.Contains(buf.String(), "k=v") {
		t.Fatalf("text: %q", buf.String())
	}
	buf.Reset()
	l := newLogger(&config.Config{LogLevel: "warn", LogFormat: "json"}, &buf)
	l.Info("dropped")
	l.Warn("kept")
	if strings.Contains(buf.String(), "dropped") || !strings.Contains(buf.String(), `"msg":"kept"`) {
		t.Fatalf("json: %q", buf.String())
	}
}

// TestOpenWithRedisAndSentry: a Redis URL turns on the shared broker, rate limits
// and a readiness check; a Sentry DSN is accepted without any network at start-up.
func TestOpenWithRedisAndSentry(t *testing.T) {
	testEnv(t)
	rs := redistest.Start(t)
	t.Setenv("CODEBUDDY_REDIS_URL", rs.URL())
	t.Setenv("CODEBUDDY_SENTRY_DSN", "http://public@127.0.0.1:1/1")
	cfg, err := config.FromOS()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Redis == nil {
		t.Fatal("no Redis client")
	}
	rec := httptest.NewRecorder()
	m.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if !strings.Contains(rec.Body.String(), `"redis":{"status":"ok"`) {
		t.Fatalf("/readyz: %s", rec.Body)
	}
	// Rate-limit counters live in Redis now.
	rec = httptest.NewRecorder()
	m.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if keys := m.Redis.Keys(context.Background(), "*").Val(); len(keys) == 0 {
		t.Fatal("no rate-limit keys in Redis after a request")
	}
	rs.Stop()
	rec = httptest.NewRecorder()
	m.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"redis":{"status":"fail"`) {
		t.Fatalf("/readyz with Redis down: %d %s", rec.Code, rec.Body)
	}
}

func TestOpenRedisUnreachable(t *testing.T) {
	testEnv(t)
	t.Setenv("CODEBUDDY_REDIS_URL", "redis://127.0.0.1:1/0")
	cfg, _ := config.FromOS()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if m, err := Open(ctx, cfg, newLogger(cfg, io.Discard)); err == nil {
		m.Close()
		t.Fatal("Open with an unreachable Redis succeeded")
	}
}

// TestRunServeStopsWithContext: serve runs until its context ends, then shuts down
// cleanly. The context is cancelled once the log says it is serving.
func TestRunServeStopsWithContext(t *testing.T) {
	testEnv(t)
	t.Setenv("CODEBUDDY_LOG_LEVEL", "info")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var log bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		if bytes.Contains(p, []byte(`"msg":"serving"`)) {
			cancel()
		}
		return log.Write(p)
	})
	if err := run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, w); err != nil {
		t.Fatalf("serve: %v (log %s)", err, log.String())
	}
	if !strings.Contains(log.String(), "shutting down") {
		t.Fatalf("no shutdown in the log: %s", log.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestSessionStarterFiles: a session created through the wired server gets the
// language's starter file from the runner's table.
func TestSessionStarterFiles(t *testing.T) {
	testEnv(t)
	cfg, _ := config.FromOS()
	m, err := Open(context.Background(), cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ts := httptest.NewServer(m.HTTP)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, body string) (int, string) {
		res, err := c.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("/api/register", `{"username":"alice","password":"correct horse"}`); code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	code, body := post("/api/sessions", `{"name":"demo","language":"python"}`)
	if code != 201 {
		t.Fatalf("create session: %d %s", code, body)
	}
	var s struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(body), &s)
	res, err := c.Get(ts.URL + "/api/sessions/" + s.ID + "/files")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), "main.py") {
		t.Fatalf("files: %s", b)
	}
}

// A run the previous server left queued or running (it was killed mid-run)
// must not stay "queued" for ever. On SQLite the next start ends every such
// run; on PostgreSQL, where other nodes may be running theirs, only runs older
// than staleRunAge.
func TestStartEndsRunsAStoppedServerLeft(t *testing.T) {
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			testEnv(t)
			if engine == sqlstore.Postgres {
				t.Setenv("CODEBUDDY_DATABASE_URL", sqlstoretest.SchemaURL(t))
			}
			cfg, err := config.FromOS()
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			m, err := Open(ctx, cfg, newLogger(cfg, io.Discard))
			if err != nil {
				t.Fatal(err)
			}
			u := &codebuddy.User{Username: "runner"}
			if err := m.DB.CreateUser(ctx, u, "hash"); err != nil {
				t.Fatal(err)
			}
			now := m.DB.Now
			m.DB.Now = func() time.Time { return now().Add(-staleRunAge - time.Minute) }
			old := &codebuddy.Execution{UserID: u.ID, Language: "python", Status: "queued"}
			if err := m.DB.CreateExecution(ctx, old); err != nil {
				t.Fatal(err)
			}
			m.DB.Now = now
			recent := &codebuddy.Execution{UserID: u.ID, Language: "python", Status: "queued"}
			if err := m.DB.CreateExecution(ctx, recent); err != nil {
				t.Fatal(err)
			}
			m.Close()

			m, err = Open(ctx, cfg, newLogger(cfg, io.Discard))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, err := m.DB.Execution(ctx, old.ID)
			if err != nil || got.Status != "internal_error" || got.FinishedAt == nil || got.Stderr != abandonedRun {
				t.Fatalf("the old left-over run reads %+v, %v; want an internal error saying why", got, err)
			}
			got, err = m.DB.Execution(ctx, recent.ID)
			want := "internal_error"
			if engine == sqlstore.Postgres {
				want = "queued" // another node may be running it
			}
			if err != nil || got.Status != want {
				t.Fatalf("the recent left-over run reads %q, %v; want %q", got.Status, err, want)
			}
		})
	}
}
