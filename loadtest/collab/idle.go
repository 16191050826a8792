package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/coder/websocket"

	"github.com/codebuddy-dev/codebuddy/ot"
)

// idleConn is one connection that joins a session (and opens the file) and
// then only reads; it notes when the probe's update reaches it.
type idleConn struct {
	ws   *websocket.Conn
	seen atomic.Int64 // unix nanos the marked update arrived, 0 before
}

// readFrame reads text frames until one of type typ arrives, returning it.
func readFrame(ctx context.Context, ws *websocket.Conn, typ string) ([]byte, error) {
	want := []byte(`"type":"` + typ + `"`)
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(b, want) {
			return b, nil
		}
		if bytes.Contains(b, []byte(`"type":"error"`)) {
			return nil, fmt.Errorf("server error while waiting for %s: %s", typ, b)
		}
	}
}

func wsSend(ctx context.Context, ws *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, b)
}

// joinOpen joins session and, when file is set, opens it, returning the doc frame.
func joinOpen(ctx context.Context, ws *websocket.Conn, session, file string) (version int64, content string, err error) {
	if err := wsSend(ctx, ws, map[string]any{"type": "join", "session": session}); err != nil {
		return 0, "", err
	}
	if _, err := readFrame(ctx, ws, "joined"); err != nil {
		return 0, "", err
	}
	if file == "" {
		return 0, "", nil
	}
	if err := wsSend(ctx, ws, map[string]any{"type": "open", "file": file}); err != nil {
		return 0, "", err
	}
	b, err := readFrame(ctx, ws, "doc")
	if err != nil {
		return 0, "", err
	}
	var d struct {
		Version int64  `json:"version"`
		Content string `json:"content"`
	}
	err = json.Unmarshal(b, &d)
	return d.Version, d.Content, err
}

func runIdle(ctx context.Context, cfg *config, srv *server) (ok bool, err error) {
	n := cfg.conns
	fmt.Printf("idle: %d connections from %d source addresses, %d users, %d session(s), open file: %v\n", n, cfg.addrs, cfg.users, cfg.sessions, cfg.open)
	t0 := time.Now()
	users, err := registerMany(ctx, srv.url, cfg.users, 8)
	if err != nil {
		return false, err
	}
	// Connection i joins session i%sessions; the probe uses session 0.
	sessionIDs := make([]string, cfg.sessions)
	fileIDs := make([]string, cfg.sessions)
	for i := range sessionIDs {
		if sessionIDs[i], fileIDs[i], err = users[i%len(users)].createSession(ctx, initialText(cfg.docSize)); err != nil {
			return false, err
		}
	}
	fmt.Printf("setup: %d users registered, %d sessions created in %s\n", len(users), cfg.sessions, time.Since(t0).Round(time.Millisecond))
	var before procStat
	if srv.proc != nil {
		// Sign-ups hash passwords with 64 MiB each: restart the server so
		// that garbage is not in the baseline (logins are stored, they survive).
		if err := srv.restart(); err != nil {
			return false, err
		}
		time.Sleep(2 * time.Second)
		before, _ = readProc(srv.pid)
	} else {
		before = settledRSS(ctx, srv.pid, 60*time.Second)
	}
	gBefore, hasG := metric(ctx, srv.url, "go_goroutines")
	heapBefore := goMemory(ctx, srv.url)

	clients := make([]*http.Client, cfg.addrs)
	for i := range clients {
		clients[i] = &http.Client{Transport: newTransport(sourceAddr())}
	}
	prof, err := startPerf(srv.pid, cfg.perf)
	if err != nil {
		return false, err
	}

	marker := "probe-" + randomName("")
	conns := make([]*idleConn, n)
	var failed, lost atomic.Int64
	var firstErr atomic.Pointer[string]
	var closing atomic.Bool
	noteErr := func(err error) {
		msg := err.Error()
		firstErr.CompareAndSwap(nil, &msg)
	}
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	t1 := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			file := ""
			if cfg.open {
				file = fileIDs[i%cfg.sessions]
			}
			ws, err := dialWS(cctx, srv.url, users[i%len(users)], clients[i%len(clients)])
			if err == nil {
				_, _, err = joinOpen(cctx, ws, sessionIDs[i%cfg.sessions], file)
				if err != nil {
					ws.CloseNow()
				}
			}
			if err != nil {
				failed.Add(1)
				noteErr(fmt.Errorf("connection %d: %w", i, err))
				return
			}
			c := &idleConn{ws: ws}
			conns[i] = c
			// Read from the start: a client that stops reading is dropped by the server.
			go func() {
				for {
					_, b, err := c.ws.Read(ctx)
					if err != nil {
						if ctx.Err() == nil && !closing.Load() {
							lost.Add(1)
							noteErr(fmt.Errorf("connection %d lost: %w", i, err))
						}
						return
					}
					if c.seen.Load() == 0 && bytes.Contains(b, []byte(marker)) {
						c.seen.Store(time.Now().UnixNano())
					}
				}
			}()
		}()
		if (i+1)%1000 == 0 {
			fmt.Printf("  %d connections opened (%s)\n", i+1, time.Since(t1).Round(time.Millisecond))
		}
	}
	wg.Wait()
	openTime := time.Since(t1)
	prof.stop()
	defer func() {
		closing.Store(true)
		for _, c := range conns {
			if c != nil {
				c.ws.CloseNow()
			}
		}
	}()
	fmt.Printf("connected: %d ok, %d failed in %s\n", int64(n)-failed.Load(), failed.Load(), openTime.Round(time.Millisecond))
	if e := firstErr.Load(); e != nil {
		fmt.Printf("  first failure: %s\n", *e)
	}
	time.Sleep(cfg.settle)
	after, err := readProc(srv.pid)
	if err != nil {
		fmt.Printf("server /proc: %v\n", err)
	}
	gAfter, _ := metric(ctx, srv.url, "go_goroutines")
	heapAfter := goMemory(ctx, srv.url)
	open := int64(n) - failed.Load() - lost.Load()

	// Responsiveness with every connection open: health checks and a new
	// editor whose push must be acknowledged (and, with -open, reach everyone).
	var hz []time.Duration
	for range 20 {
		d, err := healthz(ctx, srv.url)
		if err != nil {
			return false, fmt.Errorf("healthz with %d idle connections: %w", open, err)
		}
		hz = append(hz, d)
		time.Sleep(50 * time.Millisecond)
	}
	var probeConns []*idleConn // the probe's session
	for i, c := range conns {
		if c != nil && i%cfg.sessions == 0 {
			probeConns = append(probeConns, c)
		}
	}
	pushLat, fanout, reached, perr := probePush(ctx, srv, users[0], sessionIDs[0], fileIDs[0], marker, probeConns, cfg.open)

	fmt.Println()
	fmt.Printf("== idle connections: %d open (%d failed, %d lost after opening) ==\n", open, failed.Load(), lost.Load())
	if before.RSS > 0 {
		fmt.Printf("server RSS before %s, after %s (peak %s): delta %s, %.1f KiB per connection\n",
			mib(before.RSS), mib(after.RSS), mib(after.HWM), mib(after.RSS-before.RSS), float64(after.RSS-before.RSS)/1024/float64(max(open, 1)))
		fmt.Printf("server Go heap+stacks in use before %s, after %s: %.1f KiB per connection\n",
			mib(heapBefore), mib(heapAfter), float64(heapAfter-heapBefore)/1024/float64(max(open, 1)))
		fmt.Printf("server open files %d, CPU time while connecting %s\n", after.Files, (after.CPU - before.CPU).Round(time.Millisecond))
	}
	if hasG {
		fmt.Printf("server goroutines before %.0f, after %.0f: %.2f per connection\n", gBefore, gAfter, (gAfter-gBefore)/float64(max(open, 1)))
	}
	fmt.Printf("connect+join%s: %s for %d (%.0f/s)\n", map[bool]string{true: "+open"}[cfg.open], openTime.Round(time.Millisecond), n, float64(n)/openTime.Seconds())
	fmt.Printf("/healthz with %d idle: %s\n", open, newDist(hz).summary())
	probeOK := perr == nil
	if perr != nil {
		fmt.Printf("new push: FAIL: %v\n", perr)
	} else {
		fmt.Printf("new push acknowledged in %s", ms(pushLat))
		if cfg.open {
			fmt.Printf("; reached %d of %d idle subscribers of its file, the last after %s", reached, countOpen(probeConns), ms(fanout))
			probeOK = reached == countOpen(probeConns)
		}
		fmt.Println()
	}
	ok = failed.Load() == 0 && lost.Load() == 0 && probeOK
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first failure: %s\n", *e)
	}
	fmt.Printf("result: %s (every connection opened and stayed open, health checks and a new push worked)\n", passFail(ok))
	return ok, nil
}

// probePush connects a new editor, pushes one insertion and times its
// acknowledgement and, when idle connections have the file open, how long
// until the last of them received it.
func probePush(ctx context.Context, srv *server, u *user, sessionID, fileID, marker string, conns []*idleConn, fanout bool) (ack, last time.Duration, reached int, err error) {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ws, err := dialWS(cctx, srv.url, u, &http.Client{Transport: newTransport(sourceAddr())})
	if err != nil {
		return 0, 0, 0, err
	}
	defer ws.CloseNow()
	version, content, err := joinOpen(cctx, ws, sessionID, fileID)
	if err != nil {
		return 0, 0, 0, err
	}
	cs, err := ot.New(len(utf16.Encode([]rune(content))), ot.Change{From: 0, To: 0, Insert: "# probe\n"})
	if err != nil {
		return 0, 0, 0, err
	}
	push := map[string]any{"type": "push", "file": fileID, "version": version,
		"updates": []map[string]any{{"clientID": marker, "changes": json.RawMessage(cs.AppendJSON(nil))}}}
	start := time.Now()
	if err := wsSend(cctx, ws, push); err != nil {
		return 0, 0, 0, err
	}
	for {
		b, err := readFrame(cctx, ws, "updates")
		if err != nil {
			return 0, 0, 0, err
		}
		if bytes.Contains(b, []byte(marker)) {
			ack = time.Since(start)
			break
		}
	}
	if !fanout {
		return ack, 0, 0, nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		reached = 0
		var latest int64
		for _, c := range conns {
			if c == nil {
				continue
			}
			if t := c.seen.Load(); t != 0 {
				reached++
				latest = max(latest, t)
			}
		}
		last = time.Duration(latest - start.UnixNano())
		if reached == countOpen(conns) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ack, last, reached, nil
}

func countOpen(conns []*idleConn) int {
	n := 0
	for _, c := range conns {
		if c != nil {
			n++
		}
	}
	return n
}

// settledRSS waits (at most limit) until the server's RSS stops shrinking.
func settledRSS(ctx context.Context, pid int, limit time.Duration) procStat {
	st, err := readProc(pid)
	if err != nil {
		return st
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Second)
		next, err := readProc(pid)
		if err != nil {
			return st
		}
		shrunk := st.RSS - next.RSS
		st = next
		if shrunk < 1<<20 {
			break
		}
	}
	return st
}

// goMemory is the server's heap and goroutine stacks in use, from /metrics.
func goMemory(ctx context.Context, base string) int64 {
	h, _ := metric(ctx, base, "go_memstats_heap_inuse_bytes")
	s, _ := metric(ctx, base, "go_memstats_stack_inuse_bytes")
	return int64(h + s)
}
