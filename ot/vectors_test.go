package ot

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// vectorCase is one case of testdata/vectors.json.gz, produced by
// web/scripts/ot-vectors.mjs with the real @codemirror/state. Change sets
// stay raw so the comparison is byte for byte with JSON.stringify.
type vectorCase struct {
	Doc         string          `json:"doc"`
	A           json.RawMessage `json:"a"`
	B           json.RawMessage `json:"b"`
	C           json.RawMessage `json:"c"`
	ApplyA      string          `json:"applyA"`
	ApplyB      string          `json:"applyB"`
	ComposeAC   json.RawMessage `json:"composeAC"`
	ApplyAC     string          `json:"applyAC"`
	MapAB       json.RawMessage `json:"mapAB"`
	MapABBefore json.RawMessage `json:"mapABBefore"`
	MapBA       json.RawMessage `json:"mapBA"`
	MapBABefore json.RawMessage `json:"mapBABefore"`
	MapPosA     [][3]int        `json:"mapPosA"`
}

// wireUpdate is an update as the collab protocol carries it.
type wireUpdate struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
}

// rebaseCase: pushed updates made from doc, the updates the server
// accepted since (some possibly the client's own), and what
// @codemirror/collab's rebaseUpdates, called once per accepted update,
// leaves of the pushed ones.
type rebaseCase struct {
	Doc      string       `json:"doc"`
	Pushed   []wireUpdate `json:"pushed"`
	Accepted []wireUpdate `json:"accepted"`
	Result   []wireUpdate `json:"result"`
	Final    string       `json:"final"`
}

type vectorFile struct {
	Cases       []vectorCase `json:"cases"`
	RebaseCases []rebaseCase `json:"rebaseCases"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	f, err := os.Open("testdata/vectors.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var file vectorFile
	if err := json.NewDecoder(zr).Decode(&file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 1000 || len(file.RebaseCases) < 100 {
		t.Fatalf("only %d + %d vector cases", len(file.Cases), len(file.RebaseCases))
	}
	return file
}

func mustParse(t testing.TB, raw []byte) *ChangeSet {
	t.Helper()
	cs, err := Parse(raw, Limits{})
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	return cs
}

// TestVectors replays every CodeMirror-generated case: parsing and printing
// round-trips, apply, compose, map both ways with both before flags, and
// mapPos must all agree exactly.
func TestVectors(t *testing.T) {
	for i, vc := range loadVectors(t).Cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a, b, c := mustParse(t, vc.A), mustParse(t, vc.B), mustParse(t, vc.C)
			for _, cs := range []struct {
				name string
				raw  []byte
				cs   *ChangeSet
			}{{"a", vc.A, a}, {"b", vc.B, b}, {"c", vc.C, c}} {
				if got := cs.cs.AppendJSON(nil); !bytes.Equal(got, cs.raw) {
					t.Errorf("%s round trip: got %s want %s", cs.name, got, cs.raw)
				}
			}

			applied := func(cs *ChangeSet, doc string) string {
				t.Helper()
				d := NewDoc(doc)
				if err := d.Apply(cs); err != nil {
					t.Fatalf("apply %s to %q: %v", cs, doc, err)
				}
				return d.String()
			}
			if got := applied(a, vc.Doc); got != vc.ApplyA {
				t.Errorf("apply a: got %q want %q", got, vc.ApplyA)
			}
			if got := applied(b, vc.Doc); got != vc.ApplyB {
				t.Errorf("apply b: got %q want %q", got, vc.ApplyB)
			}
			if got := applied(c, vc.ApplyA); got != vc.ApplyAC {
				t.Errorf("apply c: got %q want %q", got, vc.ApplyAC)
			}

			ac, err := a.Compose(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := ac.AppendJSON(nil); !bytes.Equal(got, vc.ComposeAC) {
				t.Errorf("compose: got %s want %s", got, vc.ComposeAC)
			}
			if got := applied(ac, vc.Doc); got != vc.ApplyAC {
				t.Errorf("apply composed: got %q want %q", got, vc.ApplyAC)
			}

			for _, m := range []struct {
				name   string
				x, y   *ChangeSet
				before bool
				want   []byte
			}{
				{"a over b", a, b, false, vc.MapAB},
				{"a over b before", a, b, true, vc.MapABBefore},
				{"b over a", b, a, false, vc.MapBA},
				{"b over a before", b, a, true, vc.MapBABefore},
			} {
				got, err := m.x.Map(m.y, m.before)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				if g := got.AppendJSON(nil); !bytes.Equal(g, m.want) {
					t.Errorf("map %s: got %s want %s", m.name, g, m.want)
				}
			}

			for _, p := range vc.MapPosA {
				for k, assoc := range []int{-1, 1} {
					got, err := a.MapPos(p[0], assoc)
					if err != nil {
						t.Fatal(err)
					}
					if got != p[1+k] {
						t.Errorf("mapPos(%d, %d) = %d, want %d", p[0], assoc, got, p[1+k])
					}
				}
			}
		})
	}
}

// TestRebaseVectors replays the server-side rebase cases: RebaseUpdates
// must drop the same already-accepted updates and produce byte-identical
// change sets, and the document must end up the same.
func TestRebaseVectors(t *testing.T) {
	parseAll := func(t *testing.T, ws []wireUpdate) []Update {
		t.Helper()
		out := make([]Update, len(ws))
		for i, w := range ws {
			out[i] = Update{ClientID: w.ClientID, Changes: mustParse(t, w.Changes)}
		}
		return out
	}
	for i, rc := range loadVectors(t).RebaseCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			accepted := parseAll(t, rc.Accepted)
			got, err := RebaseUpdates(parseAll(t, rc.Pushed), accepted)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(rc.Result) {
				t.Fatalf("%d updates left, want %d", len(got), len(rc.Result))
			}
			d := NewDoc(rc.Doc)
			for _, u := range accepted {
				if err := d.Apply(u.Changes); err != nil {
					t.Fatal(err)
				}
			}
			for k, u := range got {
				if u.ClientID != rc.Result[k].ClientID {
					t.Errorf("update %d client %q, want %q", k, u.ClientID, rc.Result[k].ClientID)
				}
				if j := u.Changes.AppendJSON(nil); !bytes.Equal(j, rc.Result[k].Changes) {
					t.Errorf("update %d: got %s want %s", k, j, rc.Result[k].Changes)
				}
				if err := d.Apply(u.Changes); err != nil {
					t.Fatal(err)
				}
			}
			if d.String() != rc.Final {
				t.Errorf("final document %q, want %q", d.String(), rc.Final)
			}
		})
	}
}
