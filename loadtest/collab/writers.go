package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/codebuddy-dev/codebuddy/collab/collabclient"
	"github.com/codebuddy-dev/codebuddy/ot"
)

// writer is one editor: a real collaboration client with its own user and
// source address, and the acknowledgement latencies it measured.
type writer struct {
	c   *collabclient.Client
	d   *collabclient.Doc
	rng *rand.Rand

	mu      sync.Mutex
	lat     []time.Duration
	acks    int
	edits   int
	allAcks int
	errs    map[string]int
	discard int // times the server's text replaced unconfirmed local edits
	editErr error
}

func runWriters(ctx context.Context, cfg *config, srv *server) (bool, error) {
	fmt.Printf("writers: %d clients × %.1f edits/s for %s (first %s not measured), one file of %d characters\n",
		cfg.writers, cfg.rate, cfg.duration, cfg.warmup, cfg.docSize)
	t0 := time.Now()
	users, err := registerMany(ctx, srv.url, cfg.users, 8)
	if err != nil {
		return false, err
	}
	sessionID, fileID, err := users[0].createSession(ctx, initialText(cfg.docSize))
	if err != nil {
		return false, err
	}
	fmt.Printf("setup: %d users registered in %s\n", len(users), time.Since(t0).Round(time.Millisecond))

	// measureFrom is set once the clients start editing; acks of pushes sent
	// before it (the warm-up) are not counted.
	var measureFrom atomic.Int64
	// Frames of type "updates" that reached writer 0: commits per frame show
	// how much the server's group commit batches.
	var frames0 atomic.Int64
	writers := make([]*writer, cfg.writers)
	t1 := time.Now()
	sem := make(chan struct{}, 16)
	errc := make(chan error, cfg.writers)
	var wg sync.WaitGroup
	for i := range writers {
		w := &writer{rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))), errs: map[string]int{}}
		writers[i] = w
		u := users[i%len(users)]
		var onFrame func(string, []byte)
		if i == 0 {
			onFrame = func(typ string, _ []byte) {
				if typ == "updates" {
					frames0.Add(1)
				}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			c, err := collabclient.Dial(cctx, collabclient.Options{
				BaseURL:    srv.url,
				HTTPClient: &http.Client{Transport: newTransport(u.ip)},
				Token:      u.token,
				OnFrame:    onFrame,
				OnAck: func(a collabclient.Ack) {
					w.mu.Lock()
					w.allAcks++
					w.mu.Unlock()
					if a.Latency <= 0 || time.Now().Add(-a.Latency).UnixNano() < measureFrom.Load() {
						return
					}
					w.mu.Lock()
					w.lat = append(w.lat, a.Latency)
					w.acks++
					w.mu.Unlock()
				},
				OnDiscard: func(string, string) {
					w.mu.Lock()
					w.discard++
					w.mu.Unlock()
				},
				OnError: func(e collabclient.ErrorFrame) {
					w.mu.Lock()
					w.errs[e.Code]++
					w.mu.Unlock()
				},
			})
			if err != nil {
				errc <- err
				return
			}
			w.c = c
			if err := c.Join(cctx, sessionID); err != nil {
				errc <- fmt.Errorf("join: %w", err)
				return
			}
			if w.d, err = c.Open(cctx, fileID); err != nil {
				errc <- fmt.Errorf("open: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	defer func() {
		for _, w := range writers {
			if w.c != nil {
				w.c.Close()
			}
		}
	}()
	if err := <-errc; err != nil {
		return false, fmt.Errorf("connect writers: %w", err)
	}
	fmt.Printf("connected: %d writers joined and opened the file in %s\n", len(writers), time.Since(t1).Round(time.Millisecond))
	startFile, err := users[0].file(ctx, fileID)
	if err != nil {
		return false, err
	}

	// The same-run baseline: ping/pong on a connection that joined the
	// session but edits nothing and has no file open.
	probe, err := dialWS(ctx, srv.url, users[0], &http.Client{Transport: newTransport(sourceAddr())})
	if err != nil {
		return false, err
	}
	defer probe.CloseNow()
	if _, _, err := joinOpen(ctx, probe, sessionID, ""); err != nil {
		return false, err
	}

	prof, err := startPerf(srv.pid, cfg.perf)
	if err != nil {
		return false, err
	}
	procBefore, _ := readProc(srv.pid)
	var ruBefore syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruBefore)
	start := time.Now()
	end := start.Add(cfg.duration)
	measureFrom.Store(start.Add(cfg.warmup).UnixNano())
	var editing sync.WaitGroup
	for _, w := range writers {
		editing.Add(1)
		go func() {
			defer editing.Done()
			w.edit(ctx, cfg, end)
		}()
	}
	// A client the server drops (its send queue filled) is not reconnected:
	// note when it happened; progress lines show how the run develops.
	var dropped atomic.Int64
	var firstDrop atomic.Int64
	for _, w := range writers {
		go func() {
			select {
			case <-w.c.Done():
				dropped.Add(1)
				firstDrop.CompareAndSwap(0, int64(time.Since(start)))
			case <-ctx.Done():
			}
		}()
	}
	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				// Counters only: a client's own state waits for its lock, which a
				// client that has fallen behind holds for long stretches.
				edits, acks := 0, 0
				var worst time.Duration
				for _, w := range writers {
					w.mu.Lock()
					edits += w.edits
					acks += w.allAcks
					if len(w.lat) > 0 {
						worst = max(worst, w.lat[len(w.lat)-1])
					}
					w.mu.Unlock()
				}
				fmt.Printf("  %3.0fs: %d edits, %d acknowledged, %d unacknowledged; slowest latest ack %s; %d clients dropped\n",
					time.Since(start).Seconds(), edits, acks, edits-acks, ms(worst), dropped.Load())
			}
		}
	}()
	var pings []time.Duration
	var pingErr error
	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		pings, pingErr = pingLoop(ctx, probe, start.Add(cfg.warmup), end)
	}()
	editing.Wait()
	<-pingDone
	close(progressDone)
	elapsed := time.Since(start)
	procAfter, _ := readProc(srv.pid)
	var ruAfter syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruAfter)
	prof.stop()

	// Every client sends what it still holds (one the server dropped
	// reconnects first, as a browser does: re-join, re-open, pull, re-push);
	// then all must agree with the server.
	settleStart := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	unsettled := make([]bool, len(writers))
	var reconnected atomic.Int64
	var swg sync.WaitGroup
	for i, w := range writers {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for !w.c.Connected() {
				if w.c.Reconnect(sctx) == nil {
					reconnected.Add(1)
					break
				}
				select {
				case <-sctx.Done():
					unsettled[i] = true
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
			if w.d.WaitConfirmed(sctx) != nil {
				unsettled[i] = true
			}
		}()
	}
	swg.Wait()
	final, err := users[0].file(ctx, fileID)
	if err != nil {
		return false, err
	}
	for i, w := range writers {
		swg.Add(1)
		go func() {
			defer swg.Done()
			if w.d.WaitVersion(sctx, final.Version) != nil {
				unsettled[i] = true
			}
		}()
	}
	swg.Wait()
	settle := time.Since(settleStart)
	diverged, notSettled := 0, 0
	for i, w := range writers {
		if unsettled[i] {
			notSettled++
		} else if w.d.Text() != final.Content || w.d.Version() != final.Version {
			diverged++
		}
	}

	var all []time.Duration
	edits, acks, discarded := 0, 0, 0
	errCodes := map[string]int{}
	for _, w := range writers {
		w.mu.Lock()
		if w.discard > 0 {
			discarded++
		}
		all = append(all, w.lat...)
		edits += w.edits
		acks += w.acks
		for k, v := range w.errs {
			errCodes[k] += v
		}
		if w.editErr != nil {
			errCodes["local edit: "+w.editErr.Error()]++
		}
		w.mu.Unlock()
	}
	lat := newDist(all)
	pd := newDist(pings)
	updates := final.Version - startFile.Version
	measured := cfg.duration - cfg.warmup

	fmt.Println()
	fmt.Printf("== writers: %d clients, %.1f edits/s each, %s ==\n", cfg.writers, cfg.rate, cfg.duration)
	fmt.Printf("ack latency (push sent -> own update echoed), after warm-up: %s\n", lat.summary())
	fmt.Printf("ping->pong on an idle joined connection, same run:      %s\n", pd.summary())
	if pingErr != nil {
		fmt.Printf("  ping probe stopped: %v\n", pingErr)
	}
	if pd.q(0.5) > 0 {
		fmt.Printf("ratio ack/ping: p50 %.1f×  p95 %.1f×  p99 %.1f×\n", ratio(lat.q(0.5), pd.q(0.5)), ratio(lat.q(0.95), pd.q(0.95)), ratio(lat.q(0.99), pd.q(0.99)))
	}
	fmt.Printf("edits made %d, updates committed %d (%.0f/s over %s), acks measured %d in %s\n",
		edits, updates, float64(updates)/elapsed.Seconds(), elapsed.Round(time.Millisecond), len(all), measured)
	if f := frames0.Load(); f > 0 {
		fmt.Printf("updates frames received by one client: %d (%.2f updates per frame)\n", f, float64(updates)/float64(f))
	}
	if d := dropped.Load(); d > 0 {
		fmt.Printf("clients dropped by the server: %d (first after %s)\n", d, time.Duration(firstDrop.Load()).Round(time.Millisecond))
	}
	if discarded > 0 {
		fmt.Printf("clients whose unconfirmed edits were discarded (the server answered their pull with a fresh doc): %d\n", discarded)
	}
	if len(errCodes) > 0 {
		fmt.Printf("error frames / client errors: %v\n", errCodes)
	}
	if procAfter.CPU > 0 {
		cpu := procAfter.CPU - procBefore.CPU
		fmt.Printf("server CPU %s during the run (%.0f%% of one core, %.1f ms per update), RSS %s (peak %s)\n",
			cpu.Round(time.Millisecond), 100*cpu.Seconds()/elapsed.Seconds(), 1000*cpu.Seconds()/float64(max(updates, 1)), mib(procAfter.RSS), mib(procAfter.HWM))
	}
	load := time.Duration(ruAfter.Utime.Nano()+ruAfter.Stime.Nano()-ruBefore.Utime.Nano()-ruBefore.Stime.Nano()) * time.Nanosecond
	fmt.Printf("load generator CPU %s (%.0f%% of one core); both share this machine's cores\n", load.Round(time.Millisecond), 100*load.Seconds()/elapsed.Seconds())
	fmt.Printf("convergence: settled in %s (%d dropped clients reconnected); %d of %d settled clients differ from GET /api/files/{id} (version %d, %d characters); %d clients did not settle within 120 s\n",
		settle.Round(time.Millisecond), reconnected.Load(), diverged, len(writers)-notSettled, final.Version, len(final.Content), notSettled)
	okP95 := lat.q(0.95) <= cfg.p95 && len(all) > 0
	okP99 := lat.q(0.99) <= cfg.p99 && len(all) > 0
	okDiv := diverged == 0 && notSettled == 0
	fmt.Printf("target p95 <= %s: %s (%s)\n", ms(cfg.p95), passFail(okP95), ms(lat.q(0.95)))
	fmt.Printf("target p99 <= %s: %s (%s)\n", ms(cfg.p99), passFail(okP99), ms(lat.q(0.99)))
	fmt.Printf("zero divergence: %s\n", passFail(okDiv))
	if tail := srv.logTail(20); !okDiv && tail != "" {
		fmt.Printf("server log (tail):\n%s\n", tail)
	}
	return okP95 && okP99 && okDiv, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// edit makes Poisson-timed random edits until end.
func (w *writer) edit(ctx context.Context, cfg *config, end time.Time) {
	minLen, maxLen := cfg.docSize/2, cfg.docSize*2
	next := time.Now()
	for {
		next = next.Add(time.Duration(w.rng.ExpFloat64() / cfg.rate * float64(time.Second)))
		if next.After(end) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		err := w.d.Edit(func(u []uint16) (*ot.ChangeSet, error) {
			n := len(u)
			if n > minLen && (n > maxLen || w.rng.IntN(2) == 0) {
				from := w.rng.IntN(n)
				return ot.New(n, ot.Change{From: from, To: min(n, from+1+w.rng.IntN(3))})
			}
			pos := w.rng.IntN(n + 1)
			return ot.New(n, ot.Change{From: pos, To: pos, Insert: randomText(w.rng, 1+w.rng.IntN(4))})
		})
		w.mu.Lock()
		if err != nil {
			w.editErr = err
		} else {
			w.edits++
		}
		w.mu.Unlock()
	}
}

func randomText(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz     ()=:\n"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// pingLoop sends a ping every 100 ms and times the pong, keeping the round
// trips that start after from.
func pingLoop(ctx context.Context, ws *websocket.Conn, from, end time.Time) ([]time.Duration, error) {
	var out []time.Duration
	for time.Now().Before(end) {
		t := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := wsSend(cctx, ws, map[string]string{"type": "ping"})
		if err == nil {
			_, err = readFrame(cctx, ws, "pong")
		}
		cancel()
		if err != nil {
			return out, err
		}
		if t.After(from) {
			out = append(out, time.Since(t))
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return out, nil
}
