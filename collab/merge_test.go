package collab

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The writer merges update frames of one file that wait in the queue back to
// back; the client must receive the same updates in the same order.
func TestWriterMergesQueuedUpdateFrames(t *testing.T) {
	frame := func(file string, from int64, n int) *outFrame {
		ups := make([]OutUpdate, n)
		for i := range ups {
			ups[i] = OutUpdate{ClientID: "c", Changes: json.RawMessage(`[0,[0,"a\"]}"]]`), UserID: "u"}
		}
		b, err := json.Marshal(updatesMsg{Type: "updates", File: file, Version: from, Updates: ups})
		if err != nil {
			t.Fatal(err)
		}
		return updatesFrame(b, file, from, from+int64(n))
	}
	decode := func(b []byte) updatesMsg {
		var m updatesMsg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("merged frame is not JSON: %v\n%s", err, b)
		}
		return m
	}
	other := &outFrame{b: []byte(`{"type":"pong"}`)}
	cases := []struct {
		name     string
		first    *outFrame
		queue    []*outFrame
		wantFrom int64
		wantN    int
		held     *outFrame // the frame taken from the queue but not merged
		left     int       // frames still queued
	}{
		{"nothing queued", frame("f", 10, 2), nil, 10, 2, nil, 0},
		{"three in a row", frame("f", 10, 2), []*outFrame{frame("f", 12, 1), frame("f", 13, 3)}, 10, 6, nil, 0},
		{"stops at another frame type", frame("f", 10, 2), []*outFrame{frame("f", 12, 1), other, frame("f", 14, 1)}, 10, 3, other, 1},
		{"stops at another file", frame("f", 10, 2), []*outFrame{frame("g", 12, 1)}, 10, 2, frame("g", 12, 1), 0},
		{"stops at a gap", frame("f", 10, 2), []*outFrame{frame("f", 13, 1)}, 10, 2, frame("f", 13, 1), 0},
		{"stops at an overlap (a pull answer)", frame("f", 10, 2), []*outFrame{frame("f", 11, 2)}, 10, 2, frame("f", 11, 2), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{send: make(chan *outFrame, 8)}
			for _, f := range tc.queue {
				c.send <- f
			}
			b, held := c.merge(tc.first)
			m := decode(b)
			if m.Type != "updates" || m.File != tc.first.file || m.Version != tc.wantFrom || len(m.Updates) != tc.wantN {
				t.Fatalf("merged frame: type %q file %q version %d with %d updates, want file %q version %d with %d", m.Type, m.File, m.Version, len(m.Updates), tc.first.file, tc.wantFrom, tc.wantN)
			}
			for _, u := range m.Updates {
				if string(u.Changes) != `[0,[0,"a\"]}"]]` || u.ClientID != "c" || u.UserID != "u" {
					t.Fatalf("update changed on the way: %+v", u)
				}
			}
			if tc.held == nil && held != nil || tc.held != nil && (held == nil || !reflect.DeepEqual(*held, *tc.held)) {
				t.Fatalf("held %+v, want %+v", held, tc.held)
			}
			if len(c.send) != tc.left {
				t.Fatalf("%d frames left queued, want %d", len(c.send), tc.left)
			}
		})
	}

	t.Run("bounded size", func(t *testing.T) {
		c := &conn{send: make(chan *outFrame, 1024)}
		big := strings.Repeat("x", 10<<10)
		var from int64
		mk := func() *outFrame {
			b, _ := json.Marshal(updatesMsg{Type: "updates", File: "f", Version: from, Updates: []OutUpdate{{ClientID: "c", Changes: json.RawMessage(`[[0,"` + big + `"]]`)}}})
			from++
			return updatesFrame(b, "f", from-1, from)
		}
		first := mk()
		for range 100 {
			c.send <- mk()
		}
		b, held := c.merge(first)
		if len(b) > maxMerged || held == nil {
			t.Fatalf("merged %d bytes (limit %d), held %v", len(b), maxMerged, held != nil)
		}
		m := decode(b)
		if held.from != m.Version+int64(len(m.Updates)) {
			t.Fatalf("held frame starts at %d, merged frame ends at %d", held.from, m.Version+int64(len(m.Updates)))
		}
	})
}

// Pushers get the broadcast first, but every subscriber gets it exactly once,
// and a pusher that has closed the file meanwhile gets nothing.
func TestBroadcastReachesEverySubscriberOnce(t *testing.T) {
	d := &document{fileID: "f", subs: map[*conn]struct{}{}}
	var subs []*conn
	for range 5 {
		c := &conn{send: make(chan *outFrame, 4), ctx: context.Background()}
		d.subs[c] = struct{}{}
		subs = append(subs, c)
	}
	gone := &conn{send: make(chan *outFrame, 4), ctx: context.Background()}
	ups := []accepted{{ClientID: "a", JSON: json.RawMessage(`[1,[0,"x"]]`)}}
	d.broadcast(7, ups, false, subs[3], gone, subs[0])
	for i, c := range subs {
		if len(c.send) != 1 {
			t.Fatalf("subscriber %d got %d frames", i, len(c.send))
		}
		f := <-c.send
		if f.file != "f" || f.from != 7 || f.to != 8 {
			t.Fatalf("subscriber %d got %+v", i, f)
		}
	}
	if len(gone.send) != 0 {
		t.Fatal("a pusher no longer subscribed got the frame")
	}
}
