package ot

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestDocApply(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		changes string
		want    string
	}{
		{"insert into empty", "", `[[0,"hi","there"]]`, "hi\nthere"},
		{"delete all", "abc", `[[3]]`, ""},
		{"replace middle", "hello world", `[6,[5,"gophers"]]`, "hello gophers"},
		{"around emoji", "a😀b", `[[1,"x"],2,[1,"y"]]`, "x😀y"},
		{"delete emoji", "a😀b", `[1,[2],1]`, "ab"},
		{"CJK", "中文", `[1,[0,"😀"],1]`, "中😀文"},
		{"two inserts in one spot", "ab", `[1,[0,"x"],[0,"y"],1]`, "axyb"},
		{"keep nothing changed", "abc", `[3]`, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := mustParse(t, []byte(tt.changes))
			if got := applyString(t, tt.doc, cs); got != tt.want {
				t.Errorf("got %q want %q", got, tt.want)
			}
		})
	}
}

func TestDocApplyRejects(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		changes *ChangeSet
		want    error
	}{
		{"too short", "abc", mustParse(t, []byte(`[2]`)), ErrLengthMismatch},
		{"too long", "abc", mustParse(t, []byte(`[[4]]`)), ErrLengthMismatch},
		{"insert inside pair", "😀", mustParse(t, []byte(`[1,[0,"x"],1]`)), ErrSurrogate},
		{"delete starts inside pair", "a😀b", mustParse(t, []byte(`[2,[2]]`)), ErrSurrogate},
		{"delete ends inside pair", "a😀b", mustParse(t, []byte(`[[2],2]`)), ErrSurrogate},
		{"replace ends inside pair", "😀😀", mustParse(t, []byte(`[[3,"x"],1]`)), ErrSurrogate},
		// Built directly: Parse already refuses these texts.
		{"lone high inserted", "ab", newSet([]int{1, -1, 0, 1, 1, -1}, [][]uint16{nil, {0xd800}}), ErrSurrogate},
		{"lone low inserted", "ab", newSet([]int{0, 2, 2, -1}, [][]uint16{{'x', 0xdc00}}), ErrSurrogate},
		{"reversed pair inserted", "", newSet([]int{0, 2}, [][]uint16{{0xde00, 0xd83d}}), ErrSurrogate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDoc(tt.doc)
			if err := d.Check(tt.changes); !errors.Is(err, tt.want) {
				t.Errorf("Check: %v, want %v", err, tt.want)
			}
			err := d.Apply(tt.changes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply: %v, want %v", err, tt.want)
			}
			if d.String() != tt.doc || d.Len() != len(utf16.Encode([]rune(tt.doc))) {
				t.Errorf("document changed to %q by a rejected change", d.String())
			}
		})
	}
}

func TestNewDocInvalidUTF8(t *testing.T) {
	d := NewDoc("a\xffb")
	if got := d.String(); got != "a\uFFFDb" {
		t.Errorf("got %q", got)
	}
	if d.Len() != 3 {
		t.Errorf("length %d", d.Len())
	}
}

// TestDocLarge drives the chunked document through long random edit
// sequences on documents from empty to ~60 KB, comparing with a naive
// flat-slice implementation after every step. Edits range from keystrokes
// to pastes and deletions spanning many chunks, so chunks split and merge.
func TestDocLarge(t *testing.T) {
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 99))
		var initial strings.Builder
		for initial.Len() < int(seed%8)*8000 {
			initial.WriteString(testPieces[r.IntN(len(testPieces))])
		}
		d := NewDoc(initial.String())
		ref := utf16.Encode([]rune(initial.String()))
		clone := d.Clone()
		for step := range 400 {
			cs := randomEdit(r, ref)
			if err := d.Apply(cs); err != nil {
				t.Fatalf("seed %d step %d: apply %s: %v", seed, step, cs, err)
			}
			ref = naiveApply(ref, cs)
			checkInvariants(t, d)
			if d.Len() != len(ref) {
				t.Fatalf("seed %d step %d: length %d, want %d", seed, step, d.Len(), len(ref))
			}
			if step%25 == 0 || step == 399 {
				if got, want := d.String(), string(utf16.Decode(ref)); got != want {
					t.Fatalf("seed %d step %d: text differs from reference", seed, step)
				}
			}
		}
		if clone.String() != initial.String() {
			t.Fatalf("seed %d: clone changed with the original", seed)
		}
	}
}

// randomEdit makes one to three changes at code point boundaries: mostly
// keystrokes, sometimes pastes up to 5000 units or deletions up to 6000.
func randomEdit(r *rand.Rand, units []uint16) *ChangeSet {
	bounds := codePointBounds(units)
	var points []int
	for range 2 * (1 + r.IntN(3)) {
		points = append(points, bounds[r.IntN(len(bounds))])
	}
	slices.Sort(points)
	var changes []Change
	for i := 0; i < len(points); i += 2 {
		from, to := points[i], points[i+1]
		if r.IntN(4) != 0 {
			// Keystroke-sized: shrink the range to at most one code point.
			if k := slices.Index(bounds, from); k+1 < len(bounds) && bounds[k+1] <= to && r.IntN(2) == 0 {
				to = bounds[k+1]
			} else {
				to = from
			}
		}
		var ins strings.Builder
		n := r.IntN(3)
		if r.IntN(10) == 0 {
			n = r.IntN(2000)
		}
		for range n {
			ins.WriteString(testPieces[r.IntN(len(testPieces))])
		}
		changes = append(changes, Change{From: from, To: to, Insert: ins.String()})
	}
	cs, err := New(len(units), changes...)
	if err != nil {
		panic(err)
	}
	return cs
}

func TestDocDeleteEverythingThenType(t *testing.T) {
	d := NewDoc(strings.Repeat("x😀", 3000))
	if err := d.Apply(mustParse(t, []byte(`[[9000]]`))); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, d)
	if d.Len() != 0 || len(d.chunks) != 0 {
		t.Fatalf("length %d, %d chunks", d.Len(), len(d.chunks))
	}
	if err := d.Apply(mustParse(t, []byte(`[[0,"a"]]`))); err != nil {
		t.Fatal(err)
	}
	if d.String() != "a" {
		t.Errorf("got %q", d.String())
	}
}

func TestChangesTo(t *testing.T) {
	tests := []struct {
		from, to string
		want     string
	}{
		{"", "", `[]`},
		{"abc", "abc", `[3]`},
		{"", "new\nfile", `[[0,"new","file"]]`},
		{"abc", "", `[[3]]`},
		{"hello world", "hello brave world", `[6,[0,"brave "],5]`},
		{"aaa", "aa", `[2,[1]]`},
		// Same high half, different low half: the whole pair is replaced.
		{"x😀y", "x😁y", `[1,[2,"😁"],1]`},
		// Same low half, different high half (U+1F600 vs U+10600).
		{"x😀y", "x\U00010600y", "[1,[2,\"\U00010600\"],1]"},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			d := NewDoc(tt.from)
			cs := d.ChangesTo(tt.to)
			if cs.String() != tt.want {
				t.Errorf("changes %s, want %s", cs, tt.want)
			}
			if err := d.Apply(cs); err != nil {
				t.Fatal(err)
			}
			if d.String() != tt.to {
				t.Errorf("applied: %q", d.String())
			}
		})
	}
}
