package ot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRebaseDesignExample is the case from DESIGN.md: mapping over the
// accepted changes one by one differs from mapping over their composition,
// and step by step is what browser clients do.
func TestRebaseDesignExample(t *testing.T) {
	doc := "abcdefgh"
	a := mustParse(t, []byte(`[5,[2,"N0"],1]`))  // replace "fg" by "N0"
	b1 := mustParse(t, []byte(`[3,[3],2]`))      // delete "def"
	b2 := mustParse(t, []byte(`[3,[0,"N1"],2]`)) // insert "N1" at 3
	afterB := applyString(t, applyString(t, doc, b1), b2)

	stepwise, err := Rebase(a, []*ChangeSet{b1, b2})
	if err != nil {
		t.Fatal(err)
	}
	if got := applyString(t, afterB, stepwise); got != "abcN1N0h" {
		t.Errorf("step by step: %q, want abcN1N0h", got)
	}

	// The composed mapping CodeMirror's own rebaseUpdates would use: a
	// different order, which is why the server must not use it.
	b, err := b1.Compose(b2)
	if err != nil {
		t.Fatal(err)
	}
	composed, err := a.Map(b, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := applyString(t, afterB, composed); got != "abcN0N1h" {
		t.Errorf("composed: %q, want abcN0N1h", got)
	}

	// Through RebaseUpdates, as the server calls it.
	out, err := RebaseUpdates(
		[]Update{{ClientID: "A", Changes: a}},
		[]Update{{ClientID: "B", Changes: b1}, {ClientID: "B", Changes: b2}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ClientID != "A" || out[0].Changes.String() != stepwise.String() {
		t.Errorf("RebaseUpdates gave %v, want [A %s]", out, stepwise)
	}
}

func TestRebaseErrors(t *testing.T) {
	a := mustParse(t, []byte(`[3]`))
	_, err := Rebase(a, []*ChangeSet{mustParse(t, []byte(`[[3,"xy"]]`)), mustParse(t, []byte(`[5]`))})
	if !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Rebase: %v, want ErrLengthMismatch", err)
	}
	_, err = RebaseUpdates([]Update{{"a", a}}, []Update{{"b", mustParse(t, []byte(`[4]`))}})
	if !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("RebaseUpdates: %v, want ErrLengthMismatch", err)
	}
	_, err = RebaseUpdates(
		[]Update{{"a", mustParse(t, []byte(`[[1,"x"],1]`))}, {"a", a}},
		[]Update{{"b", mustParse(t, []byte(`[2,[0,"q"]]`))}, {"a", mustParse(t, []byte(`[2]`))}},
	)
	if !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("RebaseUpdates with own update: %v, want ErrLengthMismatch", err)
	}
}

func TestRebaseUpdatesSkipsAccepted(t *testing.T) {
	p := func(s string) *ChangeSet { return mustParse(t, []byte(s)) }
	// Client "me" at "abc" made u1 (insert X at 0) and u2 (insert Y at end
	// of "Xabc"); "other" inserted Z at 1 concurrently.
	u1, u2 := p(`[[0,"X"],3]`), p(`[4,[0,"Y"]]`)
	z := p(`[1,[0,"Z"],2]`)
	u1z, err := u1.Map(z, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		pushed   []Update
		accepted []Update
		want     string // text after applying the accepted and returned updates to "abc"
		wantN    int
	}{
		{"nothing accepted", []Update{{"me", u1}, {"me", u2}}, nil, "XabcY", 2},
		{"first already accepted", []Update{{"me", u1}, {"me", u2}}, []Update{{"me", u1}}, "XabcY", 1},
		{"all already accepted", []Update{{"me", u1}}, []Update{{"me", u1}}, "Xabc", 0},
		{"foreign then own", []Update{{"me", u1}, {"me", u2}}, []Update{{"other", z}, {"me", u1z}}, "XaZbcY", 1},
		{"foreign only", []Update{{"me", u1}, {"me", u2}}, []Update{{"other", z}}, "XaZbcY", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := RebaseUpdates(tt.pushed, tt.accepted)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != tt.wantN {
				t.Fatalf("%d updates left, want %d", len(out), tt.wantN)
			}
			d := NewDoc("abc")
			for _, u := range tt.accepted {
				if err := d.Apply(u.Changes); err != nil {
					t.Fatal(err)
				}
			}
			for _, u := range out {
				if u.ClientID != "me" {
					t.Errorf("client ID %q", u.ClientID)
				}
				if err := d.Apply(u.Changes); err != nil {
					t.Fatal(err)
				}
			}
			if d.String() != tt.want {
				t.Errorf("got %q want %q", d.String(), tt.want)
			}
		})
	}
}

// simClient models @codemirror/collab's client: local edits queue up as
// unconfirmed updates, and received updates are taken one at a time
// (receiveUpdates with a single update), confirming its own or mapping
// foreign ones over the unconfirmed queue.
type simClient struct {
	id          string
	doc         *Doc
	version     int
	unconfirmed []Update
	pushes      []simPush // sent, not yet processed by the server (FIFO)
}

type simPush struct {
	version int
	updates []Update
}

func (c *simClient) receive(t *testing.T, u Update) {
	t.Helper()
	c.version++
	if len(c.unconfirmed) > 0 && c.unconfirmed[0].ClientID == u.ClientID {
		c.unconfirmed = c.unconfirmed[1:]
		return
	}
	changes := u.Changes
	for i, own := range c.unconfirmed {
		mapped, err := own.Changes.Map(changes, false)
		if err != nil {
			t.Fatal(err)
		}
		if changes, err = changes.Map(own.Changes, true); err != nil {
			t.Fatal(err)
		}
		c.unconfirmed[i].Changes = mapped
	}
	if err := c.doc.Apply(changes); err != nil {
		t.Fatalf("client %s applying %s: %v", c.id, changes, err)
	}
}

// TestRebaseUpdatesSimulation runs random schedules of several clients
// editing one document through a server that uses RebaseUpdates: clients
// push stale versions and resend unacknowledged updates (as after a
// reconnect), and the server processes pushes late. In the end every
// client and the server hold the same text and each local edit is in the
// log exactly once.
func TestRebaseUpdatesSimulation(t *testing.T) {
	for seed := range uint64(120) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { simulate(t, seed) })
	}
}

func simulate(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	initial := "hello 😀 wörld\n中文"
	server := NewDoc(initial)
	var log []Update
	clients := make([]*simClient, 2+r.IntN(3))
	for i := range clients {
		clients[i] = &simClient{id: fmt.Sprint("c", i), doc: NewDoc(initial)}
	}
	edits := 0
	src := &source{}
	process := func(c *simClient) {
		p := c.pushes[0]
		c.pushes = c.pushes[1:]
		out, err := RebaseUpdates(p.updates, log[p.version:])
		if err != nil {
			t.Fatalf("rebase push from %s at %d: %v", c.id, p.version, err)
		}
		for _, u := range out {
			if err := server.Apply(u.Changes); err != nil {
				t.Fatalf("server applying %s: %v", u.Changes, err)
			}
			log = append(log, u)
		}
	}
	for range 200 {
		c := clients[r.IntN(len(clients))]
		switch k := r.IntN(10); {
		case k < 4: // local edit
			buf := make([]byte, 16)
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			src.data = buf
			cs := src.randomChanges(t, c.doc.String(), nil)
			if cs.Empty() {
				continue
			}
			if err := c.doc.Apply(cs); err != nil {
				t.Fatal(err)
			}
			c.unconfirmed = append(c.unconfirmed, Update{ClientID: c.id, Changes: cs})
			edits++
		case k < 6: // push (possibly again) everything unconfirmed
			if len(c.unconfirmed) > 0 {
				c.pushes = append(c.pushes, simPush{c.version, append([]Update(nil), c.unconfirmed...)})
			}
		case k < 8:
			if len(c.pushes) > 0 {
				process(c)
			}
		default: // receive some of what the server has
			for n := r.IntN(3); n > 0 && c.version < len(log); n-- {
				c.receive(t, log[c.version])
			}
		}
	}
	// Drain: clients resend what is unconfirmed, the server processes
	// everything, clients catch up.
	for _, c := range clients {
		if len(c.unconfirmed) > 0 {
			c.pushes = append(c.pushes, simPush{c.version, append([]Update(nil), c.unconfirmed...)})
		}
		for len(c.pushes) > 0 {
			process(c)
		}
	}
	for _, c := range clients {
		for c.version < len(log) {
			c.receive(t, log[c.version])
		}
		if len(c.unconfirmed) != 0 {
			t.Fatalf("client %s still has %d unconfirmed updates", c.id, len(c.unconfirmed))
		}
		if got, want := c.doc.String(), server.String(); got != want {
			t.Fatalf("client %s diverged:\n got %q\nwant %q", c.id, got, want)
		}
	}
	if len(log) != edits {
		t.Fatalf("log holds %d updates for %d edits", len(log), edits)
	}
}
