package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// benchPool starts a pool that also exposes the real python3 installation
// (pyenv keeps it under /root); it returns the pool and python's path.
func benchPool(b *testing.B, slots int) (*sandbox.Pool, string) {
	b.Helper()
	if os.Getenv("CODEBUDDY_SANDBOX_TESTS") == "off" {
		b.Skip("CODEBUDDY_SANDBOX_TESTS=off")
	}
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		b.Fatalf("python3: %v", err)
	}
	python, err := filepath.EvalSymlinks(strings.TrimSpace(string(out)))
	if err != nil {
		b.Fatal(err)
	}
	var mounts []string
	if !strings.HasPrefix(python, "/usr/") {
		mounts = append(mounts, filepath.Dir(filepath.Dir(python)))
	}
	p, err := sandbox.New(context.Background(), sandbox.Options{
		Slots: slots, HostUIDBase: 500000, Mounts: mounts, MaxLimits: sandbox.DefaultLimits(),
	})
	if err != nil {
		b.Fatalf("sandbox unavailable: %v", err)
	}
	b.Cleanup(func() { p.Close() })
	return p, python
}

// sandboxRun is one complete sandboxed run as the runner does it: take a
// slot, run, wipe and give the slot back.
func sandboxRun(b *testing.B, p *sandbox.Pool, args []string) {
	ctx := context.Background()
	box, err := p.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	res, err := box.Run(ctx, sandbox.Cmd{Args: args})
	box.Release()
	if err != nil || res.Status != sandbox.StatusOK {
		b.Fatalf("%+v %v", res, err)
	}
}

// bareRun starts the program directly, with the same small environment the
// sandbox gives programs (the host's may carry costly settings such as
// NODE_EXTRA_CA_CERTS).
func bareRun(b *testing.B, args []string) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8", "USER=sandbox"}
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkOverhead compares a sandboxed run with a bare process start of
// the same program, alternating the two in one loop so both see the same
// machine. Metrics: p50 of each and the p50 difference, in milliseconds.
func BenchmarkOverhead(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the sandbox")
	}
	p, python := benchPool(b, 1)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"true", []string{"/bin/true"}},
		{"python", []string{python, "-c", "pass"}},
		{"node", []string{"/usr/bin/node", "-e", "0"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// Warm the page cache and the slot.
			bareRun(b, tc.args)
			sandboxRun(b, p, tc.args)
			var bare, boxed []time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				bareRun(b, tc.args)
				t1 := time.Now()
				sandboxRun(b, p, tc.args)
				t2 := time.Now()
				bare = append(bare, t1.Sub(t0))
				boxed = append(boxed, t2.Sub(t1))
			}
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(ms(p50(bare)), "bare-p50-ms")
			b.ReportMetric(ms(p50(boxed)), "sandbox-p50-ms")
			b.ReportMetric(ms(p50(boxed)-p50(bare)), "overhead-p50-ms")
		})
	}
}

// BenchmarkThroughput measures trivial runs (/bin/true) per second with one
// worker per CPU, sandboxed and, as the baseline, bare.
func BenchmarkThroughput(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the sandbox")
	}
	workers := runtime.NumCPU()
	p, _ := benchPool(b, workers)
	args := []string{"/bin/true"}
	for _, mode := range []string{"bare", "sandbox"} {
		b.Run(mode, func(b *testing.B) {
			var wg sync.WaitGroup
			next := make(chan struct{})
			start := time.Now()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						if mode == "bare" {
							bareRun(b, args)
						} else {
							sandboxRun(b, p, args)
						}
					}
				}()
			}
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
		})
	}
}
