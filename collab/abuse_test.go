package collab_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/codebuddy-dev/codebuddy/collab"
)

func TestHandshakeNeedsSignInAndAnAllowedOrigin(t *testing.T) {
	e := newEnv(t, 1)
	alice := e.User("alice")

	_, res, err := e.dial(user{Username: "anonymous"}, dialOpts{})
	if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without credentials: err %v, response %v; want 401", err, res)
	}
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "problem+json") {
		t.Errorf("401 answered with Content-Type %q, want problem+json", ct)
	}
	for _, origin := range []string{"http://evil.example", "http://localhost:8081", "null"} {
		_, res, err := e.dial(alice, dialOpts{origin: origin})
		if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("dial from Origin %s: err %v, response %v; want 403", origin, err, res)
		}
	}
	c := e.Dial(alice) // the allowed origin
	c.Sync()
}

// abuseFixture has alice (owner) and bob (editor) joined to a session with main.py
// open, and a check that the document is exactly what the valid pushes made it.
type abuseFixture struct {
	e          *env
	alice, bob user
	ca, cb     *client
	s          session
	content    string // what the document must hold
	version    int64
	nth        int
}

const abuseText = "héllo 😀\n" // 9 UTF-16 units; the emoji is units 6 and 7

func newAbuseFixture(t *testing.T, opts ...envOption) *abuseFixture {
	e := newEnv(t, 1, opts...)
	f := &abuseFixture{e: e, alice: e.User("alice"), bob: e.User("bob")}
	f.s = e.Session(f.alice, false, abuseText)
	e.Invite(f.alice, f.s.ID, f.bob, "editor")
	f.content, f.version = abuseText, 1
	f.ca, f.cb = e.Dial(f.alice), e.Dial(f.bob)
	for _, c := range []*client{f.ca, f.cb} {
		c.Join(f.s.ID)
		if d := c.Open(f.s.File); d.Content != f.content || d.Version != f.version {
			t.Fatalf("doc %q v%d, want %q v%d", d.Content, d.Version, f.content, f.version)
		}
	}
	return f
}

// stillServed checks that bob's next push is committed and reaches both clients,
// and that the stored document holds exactly the valid changes.
func (f *abuseFixture) stillServed(t *testing.T) {
	t.Helper()
	f.nth++
	id := fmt.Sprintf("bob-%d", f.nth)
	f.cb.Push(f.s.File, f.version, id, insert(utf16Len(f.content), 0, "b"))
	v := f.cb.Ack(f.s.File, id)
	if v != f.version+1 {
		t.Fatalf("bob's push committed as version %d, want %d", v, f.version+1)
	}
	if alive(f.ca) {
		f.ca.Ack(f.s.File, id)
	}
	f.version, f.content = v, "b"+f.content
	if got, gv := f.e.Content(f.alice, f.s.File); got != f.content || gv != f.version {
		t.Fatalf("stored document %q v%d, want %q v%d", got, gv, f.content, f.version)
	}
}

func alive(c *client) bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func TestInvalidMessagesGetAnErrorAndChangeNothing(t *testing.T) {
	f := newAbuseFixture(t, hubOption(func(o *collab.Options) { o.MaxDocUnits = 4096 }))
	other := f.e.Session(f.alice, false, "other\n")
	var second struct{ ID string }
	f.e.JSON(f.alice, http.MethodPost, "/api/sessions/"+f.s.ID+"/files", map[string]any{"name": "b.py"}, http.StatusCreated, &second)

	push := func(version any, changes any) string {
		b, _ := json.Marshal(map[string]any{"type": "push", "file": f.s.File, "version": version,
			"updates": []map[string]any{{"clientID": "alice", "changes": changes}}})
		return string(b)
	}
	cases := []struct {
		name  string
		frame func() string
		code  string
	}{
		{"malformed JSON", func() string { return `{"type":"push",` }, "invalid_message"},
		{"not an object", func() string { return `[1,2,3]` }, "invalid_message"},
		{"no type", func() string { return `{}` }, "invalid_message"},
		{"unknown type", func() string { return `{"type":"explode"}` }, "invalid_message"},
		{"file of the wrong type", func() string { return `{"type":"push","file":42,"version":1,"updates":[]}` }, "invalid_message"},
		{"version of the wrong type", func() string {
			return `{"type":"push","file":"` + f.s.File + `","version":"1","updates":[{"clientID":"a","changes":[0]}]}`
		}, "invalid_message"},
		{"updates of the wrong type", func() string {
			return `{"type":"push","file":"` + f.s.File + `","version":1,"updates":{"clientID":"a"}}`
		}, "invalid_message"},
		{"selection of the wrong type", func() string { return `{"type":"cursor","file":"` + f.s.File + `","selection":"all"}` }, "invalid_message"},
		{"push without version", func() string {
			return `{"type":"push","file":"` + f.s.File + `","updates":[{"clientID":"a","changes":[1]}]}`
		}, "invalid_message"},
		{"push without updates", func() string {
			return push(f.version, nil)[:0] + `{"type":"push","file":"` + f.s.File + `","version":1,"updates":[]}`
		}, "invalid_change"},
		{"push without clientID", func() string {
			return `{"type":"push","file":"` + f.s.File + `","version":1,"updates":[{"changes":[9]}]}`
		}, "invalid_change"},
		{"changes not an array", func() string { return push(f.version, "abc") }, "invalid_change"},
		{"changes with a negative length", func() string { return push(f.version, []any{-1, []any{0, "x"}}) }, "invalid_change"},
		{"changes too short", func() string { return push(f.version, []any{3, []any{0, "x"}}) }, "invalid_change"},
		{"changes too long", func() string { return push(f.version, []any{utf16Len(f.content) + 5, []any{0, "x"}}) }, "invalid_change"},
		{"delete past the end", func() string { return push(f.version, []any{[]any{utf16Len(f.content) + 3}}) }, "invalid_change"},
		{"insert splitting a surrogate pair", func() string {
			l := utf16Len(f.content)
			return push(f.version, []any{l - 2, []any{0, "x"}, 2}) // between the emoji's two units
		}, "invalid_change"},
		{"delete of half a surrogate pair", func() string {
			l := utf16Len(f.content)
			return push(f.version, []any{l - 3, []any{1}, 2})
		}, "invalid_change"},
		{"insert of a lone surrogate", func() string {
			return `{"type":"push","file":"` + f.s.File + `","version":` + fmt.Sprint(f.version) +
				`,"updates":[{"clientID":"a","changes":[[0,"\ud800"],` + fmt.Sprint(utf16Len(f.content)) + `]}]}`
		}, "invalid_change"},
		{"version ahead of the document", func() string { return push(f.version+5, insert(utf16Len(f.content), 0, "x")) }, "invalid_change"},
		{"negative version", func() string { return push(-1, insert(utf16Len(f.content), 0, "x")) }, "invalid_change"},
		{"second update not fitting the first", func() string {
			l := utf16Len(f.content)
			b, _ := json.Marshal(map[string]any{"type": "push", "file": f.s.File, "version": f.version, "updates": []map[string]any{
				{"clientID": "alice", "changes": insert(l, 0, "ok")}, {"clientID": "alice", "changes": insert(l, 0, "bad")}}})
			return string(b)
		}, "invalid_change"},
		{"too many updates", func() string {
			ups := make([]map[string]any, 201)
			for i := range ups {
				ups[i] = map[string]any{"clientID": "a", "changes": []any{utf16Len(f.content)}}
			}
			b, _ := json.Marshal(map[string]any{"type": "push", "file": f.s.File, "version": f.version, "updates": ups})
			return string(b)
		}, "invalid_change"},
		{"document over the size limit", func() string {
			return push(f.version, insert(utf16Len(f.content), 0, strings.Repeat("x", 4096)))
		}, "too_large"},
		{"push to a file not opened", func() string {
			return `{"type":"push","file":"` + second.ID + `","version":0,"updates":[{"clientID":"a","changes":[[0,"x"]]}]}`
		}, "not_found"},
		{"push to another session's file", func() string {
			return `{"type":"push","file":"` + other.File + `","version":1,"updates":[{"clientID":"a","changes":[6,[0,"x"]]}]}`
		}, "not_found"},
		{"open another session's file", func() string { return `{"type":"open","file":"` + other.File + `"}` }, "not_found"},
		{"open a file that does not exist", func() string { return `{"type":"open","file":"nope"}` }, "not_found"},
		{"pull of a file not opened", func() string { return `{"type":"pull","file":"` + second.ID + `","version":0}` }, "not_found"},
		{"pull ahead of the document", func() string { return `{"type":"pull","file":"` + f.s.File + `","version":999}` }, "invalid_message"},
		{"cursor in a file not opened", func() string {
			return `{"type":"cursor","file":"` + second.ID + `","version":0,"selection":{"main":0,"ranges":[{"anchor":0,"head":0}]}}`
		}, "not_found"},
		{"cursor with main out of range", func() string {
			return `{"type":"cursor","file":"` + f.s.File + `","version":1,"selection":{"main":3,"ranges":[{"anchor":0,"head":0}]}}`
		}, "invalid_message"},
		{"cursor with a negative position", func() string {
			return `{"type":"cursor","file":"` + f.s.File + `","version":1,"selection":{"main":0,"ranges":[{"anchor":-4,"head":0}]}}`
		}, "invalid_message"},
		{"empty chat", func() string { return `{"type":"chat","text":"   "}` }, "invalid_message"},
		{"chat too long", func() string { return `{"type":"chat","text":"` + strings.Repeat("y", 4001) + `"}` }, "invalid_message"},
		{"join of an unknown session", func() string {
			return `{"type":"join","session":"` + strings.Repeat("0", 36) + `"}`
		}, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.e.in(t, f.ca, f.cb)
			f.ca.SendRaw([]byte(tc.frame()))
			f.ca.Error(tc.code)
			f.stillServed(t)
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		f.e.in(t, f.ca, f.cb)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := f.ca.ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		f.ca.Error("invalid_message")
		f.stillServed(t)
	})
	// Nothing alice sent was stored, as history shows too.
	var h struct{ Updates []struct{ ClientID string } }
	f.e.JSON(f.alice, http.MethodGet, "/api/files/"+f.s.File+"/history?from=0", nil, http.StatusOK, &h)
	for _, u := range h.Updates[1:] {
		if !strings.HasPrefix(u.ClientID, "bob-") {
			t.Errorf("history holds an update of %q", u.ClientID)
		}
	}
}

func TestViewerCannotPush(t *testing.T) {
	f := newAbuseFixture(t)
	carol := f.e.User("carol")
	f.e.Invite(f.alice, f.s.ID, carol, "viewer")
	cc := f.e.Dial(carol)
	if j := cc.Join(f.s.ID); j.Role != "viewer" {
		t.Fatalf("carol joined as %q", j.Role)
	}
	cc.Open(f.s.File)
	cc.Push(f.s.File, f.version, "carol", insert(utf16Len(f.content), 0, "c"))
	cc.Error("forbidden")
	f.stillServed(t)
	cc.Ack(f.s.File, fmt.Sprintf("bob-%d", f.nth)) // viewers still receive updates
}

func TestOversizeFrameClosesOnlyThatConnection(t *testing.T) {
	f := newAbuseFixture(t)
	big := `{"type":"chat","text":"` + strings.Repeat("z", collab.MaxFrameBytes) + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = f.ca.ws.Write(ctx, websocket.MessageText, []byte(big)) // may fail as the server closes mid-frame
	if code := f.ca.Closed(); code != websocket.StatusMessageTooBig {
		t.Errorf("close code %v, want %v", code, websocket.StatusMessageTooBig)
	}
	f.stillServed(t)
}

// TestFloodsAreRateLimited sends more messages than the per-connection budget
// allows: the excess is answered with rate_limited and not acted on, and a client
// that keeps going is disconnected with close code 4029; others carry on.
func TestFloodsAreRateLimited(t *testing.T) {
	const burst = 10
	f := newAbuseFixture(t, hubOption(func(o *collab.Options) { o.MessageRate = 0.001; o.MessageBurst = burst }))
	for _, kind := range []string{"chat", "cursor", "push"} {
		t.Run(kind, func(t *testing.T) {
			f.e.in(t, f.ca, f.cb)
			c := f.e.Dial(f.alice)
			c.Join(f.s.ID)
			c.Open(f.s.File) // 2 of the budget
			frame := func(i int) []byte {
				var v any
				switch kind {
				case "chat":
					v = map[string]any{"type": "chat", "text": fmt.Sprintf("flood %d", i)}
				case "cursor":
					v = map[string]any{"type": "cursor", "file": f.s.File, "version": f.version,
						"selection": map[string]any{"main": 0, "ranges": []any{map[string]any{"anchor": 0, "head": 0}}}}
				case "push":
					// All based on the same version: each is rebased over the earlier ones.
					v = map[string]any{"type": "push", "file": f.s.File, "version": f.version,
						"updates": []any{map[string]any{"clientID": fmt.Sprintf("flood-%d", i), "changes": insert(utf16Len(f.content), 0, "f")}}}
				}
				b, _ := json.Marshal(v)
				return b
			}
			before := messageCount(t, f)
			for i := 0; i < burst-2; i++ {
				c.SendRaw(frame(i))
			}
			c.SendRaw(frame(burst)) // one over
			c.Error("rate_limited")
			switch kind {
			case "chat":
				if got := messageCount(t, f); got != before+burst-2 {
					t.Errorf("%d chat messages stored, want %d", got-before, burst-2)
				}
			case "push":
				c.Ack(f.s.File, fmt.Sprintf("flood-%d", burst-3))
				f.version += burst - 2
				f.content = strings.Repeat("f", burst-2) + f.content
				f.cb.Ack(f.s.File, fmt.Sprintf("flood-%d", burst-3))
			}
			// Keep flooding: the connection is dropped.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			for i := 0; i < 4*burst && alive(c); i++ {
				_ = c.ws.Write(ctx, websocket.MessageText, frame(100+i))
			}
			if code := c.Closed(); code != 4029 {
				t.Errorf("flooding connection closed with %v, want 4029", code)
			}
			if kind == "chat" {
				if got := messageCount(t, f); got != before+burst-2 {
					t.Errorf("%d chat messages stored after the flood, want %d", got-before, burst-2)
				}
			}
			f.stillServed(t)
		})
	}
}

func messageCount(t *testing.T, f *abuseFixture) int {
	t.Helper()
	var page struct{ Messages []json.RawMessage }
	f.e.JSON(f.alice, http.MethodGet, "/api/sessions/"+f.s.ID+"/messages?limit=100", nil, http.StatusOK, &page)
	return len(page.Messages)
}

// TestSlowConsumerIsDropped: a client that never reads fills its send queue and is
// disconnected; the document and the other clients carry on.
func TestSlowConsumerIsDropped(t *testing.T) {
	f := newAbuseFixture(t, hubOption(func(o *collab.Options) { o.SendQueue = 4 }), func(c *envConfig) { c.sndBuf = 16 << 10 })
	carol := f.e.User("carol")
	f.e.Invite(f.alice, f.s.ID, carol, "editor")
	slow := f.e.DialWith(carol, dialOpts{noRead: true, rcvBuf: 4096})
	slow.Send(map[string]any{"type": "join", "session": f.s.ID})
	slow.Send(map[string]any{"type": "open", "file": f.s.File})
	f.ca.Next("carol in presence", func(m msg) bool { return m.Type == "presence" && hasUser(m, carol.ID, f.s.File) })

	// Big updates to the file: each one is a frame of 64 KiB to every subscriber.
	chunk := strings.Repeat("s", 64<<10)
	pushes := 0
	for online(f, carol.ID) {
		if pushes == 400 {
			t.Fatalf("carol still connected after %d pushes of %d bytes", pushes, len(chunk))
		}
		l := utf16Len(f.content)
		var changes []any
		if pushes%2 == 0 {
			changes = insert(l, l, chunk)
		} else {
			changes = []any{l - len(chunk), []any{len(chunk)}}
		}
		id := fmt.Sprintf("big-%d", pushes)
		f.ca.Push(f.s.File, f.version, id, changes)
		f.version = f.ca.Ack(f.s.File, id)
		f.cb.Ack(f.s.File, id)
		if pushes%2 == 0 {
			f.content += chunk
		} else {
			f.content = f.content[:len(f.content)-len(chunk)]
		}
		pushes++
		f.ca.DropType("updates")
		f.cb.DropType("updates")
	}
	t.Logf("carol dropped after %d pushes of %d KiB", pushes, len(chunk)>>10)
	f.ca.Next("presence without carol", func(m msg) bool { return m.Type == "presence" && !hasUser(m, carol.ID, "") })
	go slow.readLoop()
	// Reading now, it gets the frames written before and then the close code.
	if code := slow.Closed(); code != 4008 {
		t.Errorf("slow consumer's connection ended with %v (%v), want 4008", code, slow.err)
	}
	f.stillServed(t)
}

func online(f *abuseFixture, userID string) bool {
	return f.e.Nodes[0].Hub.Online(f.s.ID)[userID]
}

// hasUser reports whether a presence frame lists userID (with file open, if given).
func hasUser(m msg, userID, file string) bool {
	for _, p := range m.Participants {
		if p.UserID == userID {
			if file == "" {
				return true
			}
			for _, f := range p.Files {
				if f == file {
					return true
				}
			}
		}
	}
	return false
}

var _ = time.Second

// One account may hold only so many connections on a node: one more is
// closed at once with 4030 and a reason naming the limit, other accounts are
// not affected, and closing a connection makes room again.
func TestConnectionsPerAccountAreBounded(t *testing.T) {
	e := newEnv(t, 1, hubOption(func(o *collab.Options) { o.MaxUserConns = 3 }))
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, true, "")
	var open []*client
	for range 3 {
		c := e.Dial(alice)
		c.Join(s.ID)
		open = append(open, c)
	}
	extra := e.Dial(alice)
	if code := extra.Closed(); code != 4030 {
		t.Fatalf("fourth connection closed with %v, want 4030", code)
	}
	var ce websocket.CloseError
	if !errors.As(extra.err, &ce) || !strings.Contains(ce.Reason, "(3)") {
		t.Fatalf("close reason %v does not name the limit", extra.err)
	}
	bc := e.Dial(bob)
	bc.Join(s.ID)
	for _, c := range open {
		c.Sync() // the others were not disturbed
	}

	_ = open[0].ws.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(wait)
	for {
		c := e.Dial(alice)
		c.Send(map[string]any{"type": "ping"})
		select {
		case m := <-c.frames:
			if m.Type != "pong" {
				t.Fatalf("first frame %s", m.Raw)
			}
			return
		case <-c.done:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after closing a connection: %v", c.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The message budget of one account's connections together is a few
// connections' worth: spreading a flood over many connections does not
// multiply it.
func TestMessageBudgetIsSharedByAnAccount(t *testing.T) {
	const burst = 10 // per connection; 4 × 10 for the account
	e := newEnv(t, 1, hubOption(func(o *collab.Options) { o.MessageRate = 0.001; o.MessageBurst = burst }))
	alice, bob := e.User("alice"), e.User("bob")
	s := e.Session(alice, true, "")
	cs := make([]*client, 5)
	for i := range cs {
		cs[i] = e.Dial(alice)
		cs[i].Join(s.ID) // 5 of the account's 40
	}
	sent := 0
	for i, c := range cs {
		for k := range 8 { // within each connection's own budget (1 + 8 < 10)
			c.Send(map[string]any{"type": "chat", "text": fmt.Sprintf("c%d-%d", i, k)})
			sent++
		}
	}
	// 40 - 5 joins = 35 chat messages fit; the other 5 are refused, on
	// whichever connections the server read them last.
	limited := func() int {
		n := 0
		for _, c := range cs {
			for _, m := range c.Frames("error") {
				if m.Code != "rate_limited" {
					t.Fatalf("error frame %s", m.Raw)
				}
				n++
			}
		}
		return n
	}
	stored := func() int {
		var page struct{ Messages []json.RawMessage }
		e.JSON(alice, http.MethodGet, "/api/sessions/"+s.ID+"/messages?limit=100", nil, http.StatusOK, &page)
		return len(page.Messages)
	}
	for deadline := time.Now().Add(wait); limited()+stored() < sent && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n, r := stored(), limited(); n != 35 || r != sent-35 {
		t.Fatalf("%d of %d chat messages stored and %d refused, want 35 and %d", n, sent, r, sent-35)
	}
	// Bob's budget is his own.
	bc := e.Dial(bob)
	bc.Join(s.ID)
	bc.Send(map[string]any{"type": "chat", "text": "bob"})
	bc.Sync()
	if errs := bc.Frames("error"); len(errs) != 0 {
		t.Fatalf("bob was limited: %s", errs[0].Raw)
	}
}
