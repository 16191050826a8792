package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// testUIDBase keeps this package's containers apart from those of other test
// binaries running at the same time (the runner's tests use another base).
const testUIDBase = 300000

const testSlots = 2

func TestMain(m *testing.M) {
	sandbox.Main()
	code := m.Run()
	if shared.p != nil {
		if err := shared.p.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close pool:", err)
			code = 1
		}
		// Nothing of the pool may outlive Close: no process in its uid
		// range, no cgroup directory.
		if left := sandboxProcs(); len(left) > 0 {
			fmt.Fprintln(os.Stderr, "processes left behind after Close:", left)
			code = 1
		}
		if left := poolCgroups(); len(left) > 0 {
			fmt.Fprintln(os.Stderr, "cgroups left behind after Close:", left)
			code = 1
		}
	}
	os.Exit(code)
}

var shared struct {
	once sync.Once
	p    *sandbox.Pool
	err  error
}

// testPool is the pool every test of the package shares. It fails the test
// (never skips) when the sandbox cannot be set up, unless the environment
// says CODEBUDDY_SANDBOX_TESTS=off.
func testPool(t *testing.T) *sandbox.Pool {
	t.Helper()
	if os.Getenv("CODEBUDDY_SANDBOX_TESTS") == "off" {
		t.Skip("CODEBUDDY_SANDBOX_TESTS=off")
	}
	shared.once.Do(func() {
		shared.p, shared.err = sandbox.New(context.Background(), sandbox.Options{
			Slots:       testSlots,
			HostUIDBase: testUIDBase,
			MaxLimits:   sandbox.DefaultLimits(),
		})
	})
	if shared.err != nil {
		t.Fatalf("sandbox unavailable: %v", shared.err)
	}
	return shared.p
}

// sandboxProcs lists host processes whose real uid is in the test pool's
// uid range (container roots and sandbox users).
func sandboxProcs() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
				var uid int
				fmt.Sscan(f[1], &uid)
				if uid >= testUIDBase && uid < testUIDBase+2*testSlots {
					out = append(out, e.Name()+":"+f[1])
				}
			}
		}
	}
	return out
}

// poolCgroups lists cgroup directories created for this process's pools.
func poolCgroups() []string {
	prefix := fmt.Sprintf("codebuddy-%d-", os.Getpid())
	var out []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), prefix) {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// procsWith lists host processes whose command line contains marker.
func procsWith(marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	self := fmt.Sprint(os.Getpid())
	for _, e := range ents {
		if e.Name() == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), marker) {
			out = append(out, e.Name())
		}
	}
	return out
}

// runScript runs a bash script in a fresh box and checks that none of its
// processes survive the run.
func runScript(t *testing.T, script string, lim sandbox.Limits, files ...sandbox.File) sandbox.Result {
	t.Helper()
	p := testPool(t)
	ctx := context.Background()
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if err := b.WriteFiles(files); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("marker-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	res, err := b.Run(ctx, sandbox.Cmd{Args: []string{"/bin/bash", "-c", script, marker}, Limits: lim})
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, res)
	}
	if left := procsWith(marker); len(left) > 0 {
		t.Errorf("processes of the run still alive after it ended: %v", left)
	}
	return res
}

func small() sandbox.Limits {
	return sandbox.Limits{CPUTime: time.Second, WallTime: 3 * time.Second, Memory: 64 << 20, Pids: 32, Stdout: 64 << 10, Stderr: 64 << 10}
}

func expect(t *testing.T, res sandbox.Result, want ...sandbox.Status) {
	t.Helper()
	for _, w := range want {
		if res.Status == w {
			return
		}
	}
	t.Errorf("status %s (%s, exit %d %s), want one of %v\nstdout: %.500s\nstderr: %.500s",
		res.Status, res.Reason, res.ExitCode, res.Signal, want, res.Stdout, res.Stderr)
}
