package collabtest

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/internal/testserver"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

// runEdits has every peer make n random edits at once, each after a random
// pause of up to 12 ms. before, when set, runs in the peer's goroutine before
// its k-th edit (drops, reconnects, kills).
func runEdits(t *testing.T, peers []*peer, n int, seed uint64, before func(k int, p *peer)) {
	t.Helper()
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for k := range n {
				if before != nil {
					before(k, p)
				}
				time.Sleep(time.Duration(r.IntN(12_000)) * time.Microsecond)
				p.edit(t, r)
			}
		}()
	}
	wg.Wait()
}

// dropAndReconnect closes the peer's socket abruptly right after two edits
// (so the first is in flight and the second unconfirmed), edits offline,
// and reconnects to base.
func dropAndReconnect(t *testing.T, ctx context.Context, p *peer, r *rand.Rand, base string) {
	p.edit(t, r)
	p.edit(t, r)
	p.c.Drop()
	if p.doc.Pending() == 0 {
		t.Logf("%s: edits confirmed before the drop", p.name)
	}
	for range 5 {
		p.edit(t, r)
	}
	if s := p.doc.State(); s.Pending < 5 || s.Synced {
		t.Errorf("%s offline: state %+v, want 5+ unconfirmed edits and not synced", p.name, s)
	}
	time.Sleep(50 * time.Millisecond)
	if err := p.c.ReconnectTo(ctx, base); err != nil {
		t.Errorf("%s: reconnect: %v", p.name, err)
	}
}

// Eight editors (owner, invited editors, visitors of a public session) type
// at once into one file on one server; two lose their connection with edits
// unconfirmed and come back. Everybody ends with the same text, the server's,
// every edit is in the log once, and the log replays to it. After a graceful
// restart on the same data the text is still there and editing goes on.
func TestConvergence(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Second)
	defer cancel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	peers, session, file := newPeers(t, srv.URL, 8)
	for _, p := range peers {
		p.connect(t, ctx, srv.URL, session, file)
	}
	owner := peers[0].user

	runEdits(t, peers, 50, 1, func(k int, p *peer) {
		if k == 25 && (p == peers[3] || p == peers[6]) {
			dropAndReconnect(t, ctx, p, rand.New(rand.NewPCG(uint64(k), 7)), srv.URL)
		}
	})
	head, text := converge(t, ctx, peers, owner, file)
	hist := checkLog(t, owner, file, head, text, peers)
	checkEveryEdit(t, peers, hist)
	t.Logf("%d versions, %d units", head, len(text))

	// Restart: the server closes every socket on the way down.
	srv2, err := srv.Restart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv2.Stop)
	if v, content := fileState(owner, file); v != head || content != text {
		t.Fatalf("after a restart the file is at version %d %q, want %d %q", v, content, head, text)
	}
	for _, p := range peers {
		if err := p.c.Reconnect(ctx); err != nil {
			t.Fatalf("%s: reconnect after restart: %v", p.name, err)
		}
	}
	runEdits(t, peers, 15, 2, nil)
	head2, text2 := converge(t, ctx, peers, owner, file)
	if head2 <= head {
		t.Fatalf("no progress after the restart: version %d", head2)
	}
	hist = checkLog(t, owner, file, head2, text2, peers)
	checkEveryEdit(t, peers, hist)
	if srv2.Raced() {
		t.Errorf("the restarted server reported a data race:\n%s", srv2.Log())
	}
}

// Two server processes share PostgreSQL and Redis; editors on both converge.
// Then one node is killed (SIGKILL) while everybody types: its editors
// reconnect to the other node, resync and converge, and no update any client
// saw acknowledged is missing from the log.
func TestConvergenceTwoNodes(t *testing.T) {
	redisURL := testserver.Service(t, testserver.RedisURLEnv, testserver.RequireRedisEnv)
	testserver.Service(t, testserver.PostgresURLEnv, testserver.RequirePostgresEnv)
	// A schema of its own: other packages use the same database at the same time.
	env := []string{"CODEBUDDY_DATABASE_URL=" + sqlstoretest.SchemaURL(t), "CODEBUDDY_REDIS_URL=" + redisURL}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Second)
	defer cancel()
	a := startServer(t, "", env...)
	b := startServer(t, "", env...)

	peers, session, file := newPeers(t, a.URL, 8)
	var onA []*peer
	for i, p := range peers {
		base := b.URL
		if i%2 == 0 {
			base = a.URL
			onA = append(onA, p)
		}
		p.connect(t, ctx, base, session, file)
	}
	viewB := peers[1].user.At(b.URL)
	viewA := peers[0].user.At(a.URL)

	runEdits(t, peers, 40, 3, nil)
	head, text := converge(t, ctx, peers, viewB, file)
	if v, content := fileState(viewA, file); v != head || content != text {
		t.Fatalf("node A has version %d %q, node B %d %q", v, content, head, text)
	}
	checkLog(t, viewB, file, head, text, peers)

	var kill sync.Once
	runEdits(t, peers, 40, 4, func(k int, p *peer) {
		if k == 15 && p == peers[0] {
			kill.Do(a.Kill)
		}
		if p.c.BaseURL() == a.URL && !p.c.Connected() {
			if err := p.c.ReconnectTo(ctx, b.URL); err != nil {
				t.Errorf("%s: reconnect to node B: %v", p.name, err)
			}
		}
	})
	// Those that had no edit left after the kill reconnect now.
	for _, p := range onA {
		if err := testserver.WaitFor(10*time.Second, func() bool { return !p.c.Connected() || p.c.BaseURL() == b.URL }); err != nil {
			t.Fatalf("%s still connected to the killed node", p.name)
		}
		if p.c.BaseURL() == a.URL {
			if err := p.c.ReconnectTo(ctx, b.URL); err != nil {
				t.Fatalf("%s: reconnect to node B: %v", p.name, err)
			}
		}
	}
	head2, text2 := converge(t, ctx, peers, viewB, file)
	hist := checkLog(t, viewB, file, head2, text2, peers)
	checkEveryEdit(t, peers, hist)
	t.Logf("%d versions before the kill, %d after", head, head2)
}

// unlinkedNodes starts nodes A and B on one PostgreSQL schema without a
// broker, so neither hears of what the other commits, and two editors of one
// file: peers[0] with it open on B (which loads it at version 0), peers[1] on A.
func unlinkedNodes(t *testing.T) (ctx context.Context, b *testserver.Server, peers []*peer, file string) {
	testserver.Service(t, testserver.PostgresURLEnv, testserver.RequirePostgresEnv)
	db := "CODEBUDDY_DATABASE_URL=" + sqlstoretest.SchemaURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	a := startServer(t, "", db)
	b = startServer(t, "", db)
	peers, session, file := newPeers(t, a.URL, 2)
	peers[0].connect(t, ctx, b.URL, session, file)
	peers[1].connect(t, ctx, a.URL, session, file)
	return ctx, b, peers, file
}

// A node that has a file loaded must not hand out a stale document when
// another node committed updates it never heard of (that node died between
// commit and publish, or the broker lost the message). Here node A has no
// broker at all, so nothing it commits is published: an editor whose edit A
// acknowledged, and who moves to node B with a further edit unconfirmed,
// keeps that edit and converges with an editor who stayed on B.
func TestOpenSeesUpdatesCommittedElsewhere(t *testing.T) {
	ctx, b, peers, file := unlinkedNodes(t)
	stay, mover := peers[0], peers[1]

	r := rand.New(rand.NewPCG(5, 5))
	mover.edit(t, r)
	if err := mover.doc.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	mover.c.Drop()
	mover.edit(t, r)
	if err := mover.c.ReconnectTo(ctx, b.URL); err != nil {
		t.Fatal(err)
	}
	head, text := converge(t, ctx, peers, stay.user.At(b.URL), file)
	hist := checkLog(t, stay.user.At(b.URL), file, head, text, peers)
	checkEveryEdit(t, peers, hist)
}

// The REST reads and writes of a file on a node that has it loaded must not
// go back behind updates another node committed without telling it (here
// node A has no broker). B has the file open for one editor; another commits
// on A. A GET on B shows A's text at once, a PATCH on B based on A's version
// is applied (not refused as a conflict), and B's own editor is sent what it
// had missed, ending on the same text.
func TestFileReadSeesUpdatesCommittedElsewhere(t *testing.T) {
	ctx, b, peers, file := unlinkedNodes(t)
	stay, writer := peers[0], peers[1]

	r := rand.New(rand.NewPCG(7, 7))
	for range 3 {
		writer.edit(t, r)
	}
	if err := writer.doc.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	wantV, want := writer.doc.Version(), writer.doc.Text()
	onB := writer.user.At(b.URL)
	if v, content := fileState(onB, file); v != wantV || content != want {
		t.Fatalf("GET on B: version %d %q, A acknowledged version %d %q", v, content, wantV, want)
	}

	// A second round on A, then a replacement on B based on A's newest version.
	writer.edit(t, r)
	if err := writer.doc.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	base := writer.doc.Version()
	var patched struct {
		Version int64  `json:"version"`
		Content string `json:"content"`
	}
	onB.MustJSON(http.MethodPatch, "/api/files/"+file, map[string]any{"content": "replaced on B", "baseVersion": base}, http.StatusOK, &patched)
	if patched.Version != base+1 || patched.Content != "replaced on B" {
		t.Fatalf("PATCH on B: version %d %q, want %d %q", patched.Version, patched.Content, base+1, "replaced on B")
	}
	// B's own editor is sent what it had missed, then the replacement.
	if err := stay.doc.WaitVersion(ctx, base+1); err != nil {
		t.Fatalf("B's editor did not get the missed updates: %v (state %+v)", err, stay.doc.State())
	}
	if got := stay.doc.Text(); got != "replaced on B" {
		t.Fatalf("B's editor shows %q", got)
	}
	if v, content := fileState(writer.user, file); v != base+1 || content != "replaced on B" {
		t.Fatalf("GET on A after B's PATCH: version %d %q", v, content)
	}
}
