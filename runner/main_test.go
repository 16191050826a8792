package runner_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	code := m.Run()
	if env.queue != nil {
		env.queue.Close()
	}
	if env.pool != nil {
		if err := env.pool.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close pool:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// env is the sandbox pool and runner every test of the package shares:
// starting containers and detecting toolchains once keeps the suite fast.
var env struct {
	once   sync.Once
	pool   *sandbox.Pool
	runner *runner.Runner
	queue  *runner.LocalQueue // shared by execute: two runs at a time keeps wall times sane on 2 cores
	langs  []runner.Language
	err    error
}

// testGoCache persists across test runs so that only the first run on a
// machine pays for warming the Go build cache.
const testGoCache = "/var/tmp/codebuddy-test-gocache"

func testConfig() runner.Config {
	cfg := runner.DefaultConfig()
	cfg.GoCacheDir = testGoCache
	return cfg
}

// setup fails the test (never skips) when the sandbox cannot be set up,
// unless CODEBUDDY_SANDBOX_TESTS=off.
func setup(t testing.TB) *runner.Runner {
	t.Helper()
	if os.Getenv("CODEBUDDY_SANDBOX_TESTS") == "off" {
		t.Skip("CODEBUDDY_SANDBOX_TESTS=off")
	}
	env.once.Do(func() {
		ctx := context.Background()
		cfg := testConfig()
		langs, mounts := runner.DetectLanguages(ctx, cfg)
		env.langs = langs
		opts := cfg.PoolOptions(mounts)
		// More slots than cores: the queue tests need room for three runs
		// at once to show that the per-user cap, not the pool, holds a
		// user's third run back.
		opts.Slots = 4
		opts.HostUIDBase = 400000 // apart from the sandbox package's tests
		env.pool, env.err = sandbox.New(ctx, opts)
		if env.err == nil {
			env.runner = runner.New(cfg, langs, env.pool, nil)
			env.queue = runner.NewLocalQueue(env.runner, runner.QueueOptions{Concurrency: 2, Backlog: 1000, PerUserBacklog: 100})
		}
	})
	if env.err != nil {
		t.Fatalf("sandbox unavailable: %v", env.err)
	}
	return env.runner
}

// execute runs a request through the shared queue and waits for the result.
func execute(t *testing.T, r *runner.Runner, req runner.Request) runner.Result {
	t.Helper()
	run, err := env.queue.Submit(req, nil)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := run.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
