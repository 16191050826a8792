package ot

import (
	"errors"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		docLen  int
		changes []Change
		want    string
	}{
		{"no changes", 4, nil, `[4]`},
		{"no changes empty doc", 0, nil, `[]`},
		{"insert", 2, []Change{{1, 1, "x\ny"}}, `[1,[0,"x","y"],1]`},
		{"same-point inserts merge", 2, []Change{{1, 1, "x"}, {1, 1, "y"}}, `[1,[0,"xy"],1]`},
		{"touching changes stay apart", 4, []Change{{0, 2, "a"}, {2, 3, ""}}, `[[2,"a"],[1],1]`},
		{"no-op change dropped", 3, []Change{{1, 1, ""}}, `[3]`},
		{"astral", 0, []Change{{0, 0, "😀"}}, `[[0,"😀"]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := New(tt.docLen, tt.changes...)
			if err != nil {
				t.Fatal(err)
			}
			if cs.String() != tt.want {
				t.Errorf("got %s want %s", cs, tt.want)
			}
		})
	}
	bad := []struct {
		name    string
		docLen  int
		changes []Change
	}{
		{"negative length", -1, nil},
		{"past the end", 3, []Change{{2, 4, ""}}},
		{"reversed", 3, []Change{{2, 1, ""}}},
		{"overlapping", 5, []Change{{1, 3, ""}, {2, 4, ""}}},
		{"negative from", 3, []Change{{-1, 1, ""}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.docLen, tt.changes...); !errors.Is(err, ErrRange) {
				t.Errorf("error %v, want ErrRange", err)
			}
		})
	}
}

func TestEmptyAndLengths(t *testing.T) {
	for _, tt := range []struct {
		in            string
		empty         bool
		before, after int
	}{
		{`[]`, true, 0, 0},
		{`[7]`, true, 7, 7},
		{`[3,4]`, false, 7, 7}, // as in CodeMirror: two kept runs are not "empty"
		{`[[2,"abc"]]`, false, 2, 3},
	} {
		cs := mustParse(t, []byte(tt.in))
		if cs.Empty() != tt.empty || cs.LenBefore() != tt.before || cs.LenAfter() != tt.after {
			t.Errorf("%s: empty %v %d->%d, want %v %d->%d", tt.in, cs.Empty(), cs.LenBefore(), cs.LenAfter(), tt.empty, tt.before, tt.after)
		}
	}
	var zero ChangeSet
	if !zero.Empty() || zero.String() != "[]" {
		t.Errorf("zero value: empty %v, %s", zero.Empty(), zero.String())
	}
}

func TestMapPos(t *testing.T) {
	// "abcdef" -> insert "XY" at 1, replace "cd" by "Q", delete "f".
	cs := mustParse(t, []byte(`[1,[0,"XY"],1,[2,"Q"],1,[1]]`))
	tests := []struct {
		pos, assoc, want int
	}{
		{0, -1, 0}, {0, 1, 0},
		{1, -1, 1}, {1, 1, 3}, // at the insertion point
		{2, -1, 4}, {2, 1, 4},
		{3, -1, 4}, {3, 1, 5}, // inside the replaced range
		{4, -1, 5}, {4, 1, 5},
		{5, -1, 6}, {5, 1, 6}, // at the deletion start
		{6, -1, 6}, {6, 1, 6},
	}
	for _, tt := range tests {
		got, err := cs.MapPos(tt.pos, tt.assoc)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("MapPos(%d, %d) = %d, want %d", tt.pos, tt.assoc, got, tt.want)
		}
	}
	for _, pos := range []int{-1, 7} {
		if _, err := cs.MapPos(pos, 1); !errors.Is(err, ErrRange) {
			t.Errorf("MapPos(%d): %v, want ErrRange", pos, err)
		}
	}
	ins := mustParse(t, []byte(`[[0,"x"]]`))
	if _, err := ins.MapPos(-1, -1); !errors.Is(err, ErrRange) {
		t.Errorf("MapPos(-1) over an insertion: %v, want ErrRange", err)
	}
}

func TestLengthMismatch(t *testing.T) {
	a, b := mustParse(t, []byte(`[3]`)), mustParse(t, []byte(`[[4,"x"]]`))
	if _, err := a.Map(b, false); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Map: %v", err)
	}
	if _, err := a.Compose(b); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Compose: %v", err)
	}
	// A set whose text is shorter than its section says can only be built
	// inside the package; composing it must return, not panic or loop.
	bogus := newSet([]int{2, 5}, [][]uint16{{'a'}})
	_, _ = bogus.Compose(mustParse(t, []byte(`[[5]]`)))
}

func TestComposeAndMapShortcuts(t *testing.T) {
	a := mustParse(t, []byte(`[1,[0,"x"],1]`))
	keep := mustParse(t, []byte(`[2]`))
	keep3 := mustParse(t, []byte(`[3]`))
	if got, _ := keep.Compose(a); got != a {
		t.Errorf("empty.Compose(a) should return a")
	}
	if got, _ := a.Compose(keep3); got != a {
		t.Errorf("a.Compose(empty) should return a")
	}
	if got, _ := a.Map(keep, true); got != a {
		t.Errorf("a.Map(empty) should return a")
	}
}
