// Command collab is CodeBuddy's real-time load test (issue 4). It starts a
// real codebuddy server (or targets one with -url) and drives it over the
// WebSocket protocol of DESIGN.md.
//
// Mode writers (default): -writers editors share one file of one public
// session, each making -rate small random edits per second (Poisson arrivals)
// for -duration with real OT client state. It prints the acknowledgement
// latency of pushes (push sent until the update comes back in an "updates"
// frame) beside the ping/pong round trip of an idle connection in the same
// run, the throughput, the server's CPU time and RSS, and checks that every
// client and GET /api/files/{id} end with the same text. It exits non-zero
// when p95 > 25 ms, p99 > 50 ms or the texts diverge.
//
// Mode idle: -conns connections join a session (and open its file) and stay
// idle; it prints the server's memory and goroutines per connection and
// checks that /healthz and a new push still work.
//
//	make load                                  # writers, 200 × 5/s for 60 s
//	go run ./loadtest/collab -mode idle        # 10 000 idle connections
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

type config struct {
	mode     string
	url      string
	pid      int
	bin      string
	build    bool
	writers  int
	rate     float64
	duration time.Duration
	warmup   time.Duration
	docSize  int
	p95      time.Duration
	p99      time.Duration
	conns    int
	users    int
	addrs    int
	open     bool
	sessions int
	settle   time.Duration
	perf     string
	selfProf string
	env      string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.mode, "mode", "writers", "writers or idle")
	flag.StringVar(&cfg.url, "url", "", "target a running server (http://host:port) instead of starting bin/codebuddy")
	flag.IntVar(&cfg.pid, "pid", 0, "with -url: the server's process id, for its CPU time and RSS")
	flag.StringVar(&cfg.bin, "bin", "bin/codebuddy", "server binary to start (built with go build when missing)")
	flag.BoolVar(&cfg.build, "build", false, "rebuild -bin before starting it")
	flag.StringVar(&cfg.env, "env", "", "extra server environment, comma-separated NAME=value pairs")
	flag.IntVar(&cfg.writers, "writers", 200, "writers: editing clients")
	flag.Float64Var(&cfg.rate, "rate", 5, "writers: edits per second per client (Poisson)")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "writers: how long the clients edit")
	flag.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "writers: edits in this first part are not measured")
	flag.IntVar(&cfg.docSize, "doc", 2000, "initial file length in characters")
	flag.DurationVar(&cfg.p95, "p95", 25*time.Millisecond, "writers: ack latency target for p95")
	flag.DurationVar(&cfg.p99, "p99", 50*time.Millisecond, "writers: ack latency target for p99")
	flag.IntVar(&cfg.conns, "conns", 10000, "idle: connections")
	flag.IntVar(&cfg.users, "users", 0, "users to register (default: one per writer; 100 in idle mode)")
	flag.IntVar(&cfg.addrs, "addrs", 500, "idle: source addresses the connections are spread over")
	flag.StringVar(&cfg.selfProf, "selfprofile", "", "write a Go CPU profile of this load generator to this file")
	flag.IntVar(&cfg.sessions, "sessions", 100, "idle: sessions the connections are spread over (each with one file; presence makes one huge session quadratic)")
	flag.BoolVar(&cfg.open, "open", true, "idle: each connection also opens the file (receives its updates)")
	flag.DurationVar(&cfg.settle, "settle", 5*time.Second, "idle: wait after connecting before measuring memory")
	flag.StringVar(&cfg.perf, "perf", "", "record the server with perf during the measured phase into this file")
	flag.Parse()
	if cfg.users <= 0 {
		cfg.users = cfg.writers
		if cfg.mode == "idle" {
			cfg.users = 100
		}
	}
	if cfg.sessions < 1 {
		cfg.sessions = 1
	}
	ok, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(cfg config) (bool, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		// The generator stands in for 200 browsers on other machines; less
		// frequent collection leaves more of the shared cores to the server.
		debug.SetGCPercent(400)
	}
	nofile, err := raiseNoFile()
	if err != nil {
		return false, fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
	}
	if cfg.mode == "idle" && uint64(cfg.conns)+1000 > nofile {
		return false, fmt.Errorf("%d connections need more open files than RLIMIT_NOFILE allows (%d)", cfg.conns, nofile)
	}
	var srv *server
	if cfg.url != "" {
		srv = &server{url: strings.TrimRight(cfg.url, "/"), pid: cfg.pid}
	} else {
		if err := buildServer(cfg.bin, cfg.build); err != nil {
			return false, err
		}
		var extra []string
		if cfg.env != "" {
			extra = strings.Split(cfg.env, ",")
		}
		srv, err = startServer(cfg.bin, extra)
		if err != nil {
			return false, err
		}
		defer srv.Close()
	}
	fmt.Printf("server %s (pid %d), load generator GOMAXPROCS %d GOGC %d, RLIMIT_NOFILE %d, %s\n",
		srv.url, srv.pid, runtime.GOMAXPROCS(0), gcPercent(), nofile, time.Now().UTC().Format(time.RFC3339))
	if cfg.selfProf != "" {
		f, err := os.Create(cfg.selfProf)
		if err != nil {
			return false, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return false, err
		}
		defer pprof.StopCPUProfile()
	}
	switch cfg.mode {
	case "writers":
		return runWriters(ctx, &cfg, srv)
	case "idle":
		return runIdle(ctx, &cfg, srv)
	}
	return false, errors.New("-mode must be writers or idle")
}

// initialText is n characters of Python-looking lines.
func initialText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "def f%d(x):\n    return x * %d\n", i, i)
	}
	return b.String()[:n]
}

// gcPercent is the current GOGC setting.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}
