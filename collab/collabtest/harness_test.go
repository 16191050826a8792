// Package collabtest tests real-time collaboration end to end: the real
// codebuddy binary (execution off, so it starts quickly) driven by Go
// clients that keep @codemirror/collab's state (collab/collabclient) over
// real WebSockets, as browsers would.
package collabtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/codebuddy-dev/codebuddy/collab/collabclient"
	"github.com/codebuddy-dev/codebuddy/internal/testserver"
	"github.com/codebuddy-dev/codebuddy/ot"
)

// bin is the server binary TestMain built; written once before any test runs.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "collabtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err = testserver.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "collabtest:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startServer runs a server with execution off in dir (a fresh temp dir when
// empty) and checks its log for data races when the test ends.
func startServer(t *testing.T, dir string, env ...string) *testserver.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	srv, err := testserver.Start(testserver.Options{Binary: bin, Dir: dir, ReadyStatus: http.StatusServiceUnavailable,
		Env: append([]string{"CODEBUDDY_SANDBOX=off"}, env...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		if srv.Raced() {
			t.Errorf("the server reported a data race:\n%s", srv.Log())
		} else if t.Failed() {
			t.Logf("server %s log:\n%s", srv.URL, tail(srv.Log(), 8000))
		}
	})
	return srv
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// peer is one user's editor: a collab client with the file open, and a
// record of what it did and what the server acknowledged.
type peer struct {
	name string
	user *testserver.User
	c    *collabclient.Client
	doc  *collabclient.Doc

	mu        sync.Mutex
	edits     int                // local edits made
	acks      []collabclient.Ack // acknowledgements seen
	discarded []string           // texts lost to a reset (must stay empty)
	errs      []collabclient.ErrorFrame
}

// connect dials base as p.user, joins the session and opens the file.
func (p *peer) connect(t *testing.T, ctx context.Context, base, session, file string) {
	t.Helper()
	c, err := collabclient.Dial(ctx, collabclient.Options{
		BaseURL:    base,
		HTTPClient: p.user.HTTP,
		OnAck: func(a collabclient.Ack) {
			p.mu.Lock()
			p.acks = append(p.acks, a)
			p.mu.Unlock()
		},
		OnDiscard: func(_, text string) {
			p.mu.Lock()
			p.discarded = append(p.discarded, text)
			p.mu.Unlock()
		},
		OnError: func(e collabclient.ErrorFrame) {
			p.mu.Lock()
			p.errs = append(p.errs, e)
			p.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Join(ctx, session); err != nil {
		t.Fatalf("%s: join: %v", p.name, err)
	}
	d, err := c.Open(ctx, file)
	if err != nil {
		t.Fatalf("%s: open: %v", p.name, err)
	}
	p.c, p.doc = c, d
}

// fragments are what random edits insert: ASCII, emoji (surrogate pairs,
// one with a zero-width joiner), CJK and newlines.
var fragments = []string{"a", "xyz", "hello ", "print(1)", "\n", "\n\n", "😀", "👩‍💻", "🎉x", "漢字", "かな", "한", " ", "{}", "é"}

// randomText builds a short insertion.
func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(3) {
		b.WriteString(fragments[r.IntN(len(fragments))])
	}
	return b.String()
}

// snap moves pos off the middle of a surrogate pair.
func snap(u []uint16, pos int) int {
	if pos > 0 && pos < len(u) && utf16.IsSurrogate(rune(u[pos])) && u[pos] >= 0xdc00 {
		pos--
	}
	return pos
}

// randomEdit is an insertion, deletion or replacement at random positions
// of units, never splitting a surrogate pair, keeping the text under ~3000 units.
func randomEdit(r *rand.Rand, u []uint16) (*ot.ChangeSet, error) {
	n := len(u)
	from := snap(u, r.IntN(n+1))
	kind := r.IntN(10)
	if n > 3000 {
		kind = 9
	}
	switch {
	case kind < 5 || n == 0: // insert
		return ot.New(n, ot.Change{From: from, To: from, Insert: randomText(r)})
	case kind < 8: // replace
		to := snap(u, min(n, from+1+r.IntN(6)))
		return ot.New(n, ot.Change{From: from, To: to, Insert: randomText(r)})
	default: // delete
		to := snap(u, min(n, from+1+r.IntN(12)))
		if kind == 9 && n > 3000 {
			to = snap(u, min(n, from+200))
		}
		return ot.New(n, ot.Change{From: from, To: to})
	}
}

// edit makes one random local edit.
func (p *peer) edit(t *testing.T, r *rand.Rand) {
	changed := false
	err := p.doc.Edit(func(u []uint16) (*ot.ChangeSet, error) {
		cs, err := randomEdit(r, u)
		changed = err == nil && !cs.Empty() // an empty change is no edit
		return cs, err
	})
	if err != nil {
		t.Errorf("%s: edit: %v", p.name, err)
		return
	}
	if changed {
		p.mu.Lock()
		p.edits++
		p.mu.Unlock()
	}
}

// fileState is GET /api/files/{id} as user u sees it.
func fileState(u *testserver.User, file string) (version int64, content string) {
	u.T.Helper()
	var f struct {
		Version int64  `json:"version"`
		Content string `json:"content"`
	}
	u.MustJSON(http.MethodGet, "/api/files/"+file, nil, http.StatusOK, &f)
	return f.Version, f.Content
}

type historyEntry struct {
	Version  int64           `json:"version"`
	ClientID string          `json:"clientId"`
	UserID   string          `json:"userId"`
	Changes  json.RawMessage `json:"changes"`
}

// history reads the whole update log of a file, page by page.
func history(u *testserver.User, file string) []historyEntry {
	u.T.Helper()
	var all []historyEntry
	for {
		var page struct {
			Updates []historyEntry `json:"updates"`
		}
		u.MustJSON(http.MethodGet, fmt.Sprintf("/api/files/%s/history?from=%d", file, len(all)), nil, http.StatusOK, &page)
		if len(page.Updates) == 0 {
			return all
		}
		all = append(all, page.Updates...)
	}
}

// contentAt is GET /api/files/{id}/content?version=v.
func contentAt(u *testserver.User, file string, v int64) string {
	u.T.Helper()
	var out struct {
		Version int64  `json:"version"`
		Content string `json:"content"`
	}
	u.MustJSON(http.MethodGet, fmt.Sprintf("/api/files/%s/content?version=%d", file, v), nil, http.StatusOK, &out)
	return out.Content
}

// converge waits until every peer's edits are confirmed and every peer has
// applied the newest version any of them has, then checks they all show the
// same text, which is the server's (as u sees it), and returns it with its version.
func converge(t *testing.T, ctx context.Context, peers []*peer, u *testserver.User, file string) (int64, string) {
	t.Helper()
	for _, p := range peers {
		if err := p.doc.WaitConfirmed(ctx); err != nil {
			t.Fatalf("%s: edits not confirmed: %v (state %+v, errors %v)", p.name, err, p.doc.State(), p.c.Errors())
		}
	}
	var head int64
	for _, p := range peers {
		head = max(head, p.doc.Version())
	}
	for _, p := range peers {
		if err := p.doc.WaitVersion(ctx, head); err != nil {
			t.Fatalf("%s: did not reach version %d: %v (state %+v)", p.name, head, err, p.doc.State())
		}
	}
	want := peers[0].doc.Text()
	for _, p := range peers[1:] {
		if got := p.doc.Text(); got != want {
			t.Fatalf("%s diverged from %s at version %d:\n%q\nvs\n%q", p.name, peers[0].name, head, got, want)
		}
	}
	// The node u talks to may apply the last updates from the broker a moment
	// after the clients saw them.
	var v int64
	var content string
	if err := testserver.WaitFor(30*time.Second, func() bool { v, content = fileState(u, file); return v >= head }); err != nil {
		t.Fatalf("GET /api/files/%s stays at version %d, clients at %d", file, v, head)
	}
	if v != head || content != want {
		t.Fatalf("server has version %d %q, clients version %d %q", v, content, head, want)
	}
	return head, want
}

// checkLog checks the file's history: versions 1..head without gaps, the
// content at head equals want, replaying the log from version 0 gives it
// too, and every acknowledgement any peer saw is the logged update of that
// version, byte for byte.
func checkLog(t *testing.T, u *testserver.User, file string, head int64, want string, peers []*peer) []historyEntry {
	t.Helper()
	hist := history(u, file)
	if int64(len(hist)) != head {
		t.Fatalf("history has %d updates, head is %d", len(hist), head)
	}
	doc := ot.NewDoc(contentAt(u, file, 0))
	for i, h := range hist {
		if h.Version != int64(i+1) {
			t.Fatalf("history entry %d has version %d", i, h.Version)
		}
		cs, err := ot.Parse(h.Changes, ot.Limits{})
		if err == nil {
			err = doc.Apply(cs)
		}
		if err != nil {
			t.Fatalf("replay version %d: %v", h.Version, err)
		}
	}
	if doc.String() != want {
		t.Fatalf("replaying the history gives %q, want %q", doc.String(), want)
	}
	if got := contentAt(u, file, head); got != want {
		t.Fatalf("content at version %d is %q, want %q", head, got, want)
	}
	for _, p := range peers {
		p.mu.Lock()
		for _, a := range p.acks {
			if a.Version < 1 || a.Version > head {
				t.Errorf("%s: acknowledged version %d outside 1..%d", p.name, a.Version, head)
				continue
			}
			h := hist[a.Version-1]
			if h.ClientID != a.ClientID || !bytes.Equal(h.Changes, a.Changes) || h.UserID != p.user.ID {
				t.Errorf("%s: acknowledged update %d (%s %s) is logged as (%s %s by %s)", p.name, a.Version, a.ClientID, a.Changes, h.ClientID, h.Changes, h.UserID)
			}
		}
		p.mu.Unlock()
	}
	return hist
}

// checkEveryEdit checks that each peer's every local edit was acknowledged
// exactly once and is in the log under its clientID, and that nothing was
// discarded or refused.
func checkEveryEdit(t *testing.T, peers []*peer, hist []historyEntry) {
	t.Helper()
	logged := map[string]int{}
	for _, h := range hist {
		logged[h.ClientID]++
	}
	for _, p := range peers {
		p.mu.Lock()
		if len(p.acks) != p.edits || logged[p.doc.ClientID()] != p.edits {
			t.Errorf("%s made %d edits; %d acknowledged, %d in the log", p.name, p.edits, len(p.acks), logged[p.doc.ClientID()])
		}
		if len(p.discarded) > 0 {
			t.Errorf("%s: unconfirmed edits discarded %d times", p.name, len(p.discarded))
		}
		for _, e := range p.errs {
			t.Errorf("%s: error frame %v", p.name, e)
		}
		p.mu.Unlock()
	}
}

// newPeers registers n users on base: the owner of a new public session
// whose visitors edit, two editors it invites, and visitors. It returns the
// peers (not yet connected) and the session's file.
func newPeers(t *testing.T, base string, n int) ([]*peer, string, string) {
	t.Helper()
	owner := testserver.NewUser(t, base, "own")
	s := owner.NewSession("python", map[string]any{"isPublic": true, "visitorRole": "editor"})
	var list struct {
		Files []struct {
			ID string `json:"id"`
		} `json:"files"`
	}
	owner.MustJSON(http.MethodGet, "/api/sessions/"+s.ID+"/files", nil, http.StatusOK, &list)
	files := list.Files
	if len(files) == 0 {
		t.Fatal("the new session has no file")
	}
	peers := []*peer{{name: "owner", user: owner}}
	for i := 1; i < n; i++ {
		u := testserver.NewUser(t, base, "u")
		name := fmt.Sprintf("visitor%d", i)
		if i <= 2 {
			owner.Invite(s.ID, "editor", u)
			name = fmt.Sprintf("editor%d", i)
		}
		peers = append(peers, &peer{name: name, user: u})
	}
	return peers, s.ID, files[0].ID
}
