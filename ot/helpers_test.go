package ot

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// source turns fuzz bytes (or a seeded generator's bytes) into choices, so
// the fuzzer steers every decision; an exhausted source answers 0.
type source struct{ data []byte }

func (s *source) intn(n int) int {
	if n <= 1 {
		return 0
	}
	v := 0
	for k := 0; k < 2 && len(s.data) > 0; k++ {
		v = v<<8 | int(s.data[0])
		s.data = s.data[1:]
		if n <= 256 {
			break
		}
	}
	return v % n
}

// pieces mixes ASCII, line breaks, CJK, astral characters (surrogate
// pairs), a ZWJ sequence, a combining mark and characters JSON escapes.
var testPieces = []string{
	"a", "b", "xyz", " ", "\n", "\t", "中", "文字", "😀", "👍🏽", "👩‍💻", "e\u0301", "\"", "\\", "\u0001", "\u2028",
}

func (s *source) text(maxPieces int) string {
	var b strings.Builder
	for n := 1 + s.intn(maxPieces); n > 0; n-- {
		b.WriteString(testPieces[s.intn(len(testPieces))])
	}
	return b.String()
}

// codePointBounds lists the offsets of t that do not split a surrogate
// pair, 0 and len(t) included.
func codePointBounds(t []uint16) []int {
	out := []int{0}
	for i := 0; i < len(t); i++ {
		if isHigh(t[i]) && i+1 < len(t) && isLow(t[i+1]) {
			i++
		}
		out = append(out, i+1)
	}
	return out
}

// randomChanges builds a change set over a document with the given text,
// with boundaries only at code points. Positions come half the time from
// hot, so concurrent sets collide. A fifth of them are written as raw
// JSON with forms New never produces (adjacent keeps, deletions,
// insertions).
func (s *source) randomChanges(t testing.TB, doc string, hot []int) *ChangeSet {
	t.Helper()
	units := utf16.Encode([]rune(doc))
	bounds := codePointBounds(units)
	choose := func() int {
		if len(hot) > 0 && s.intn(2) == 0 {
			return hot[s.intn(len(hot))]
		}
		return bounds[s.intn(len(bounds))]
	}
	if s.intn(5) == 0 {
		return s.rawChanges(t, len(units), choose)
	}
	n := s.intn(5)
	points := make([]int, 2*n)
	for i := range points {
		points[i] = choose()
	}
	sortInts(points)
	var changes []Change
	for i := 0; i < n; i++ {
		from, to := points[2*i], points[2*i+1]
		if s.intn(3) == 0 {
			to = from
		}
		ins := ""
		if s.intn(3) != 0 {
			ins = s.text(4)
		}
		changes = append(changes, Change{From: from, To: to, Insert: ins})
		if s.intn(6) == 0 {
			changes = append(changes, Change{From: to, To: to, Insert: s.text(2)})
		}
	}
	cs, err := New(len(units), changes...)
	if err != nil {
		t.Fatalf("New(%d, %v): %v", len(units), changes, err)
	}
	return cs
}

func (s *source) rawChanges(t testing.TB, length int, choose func() int) *ChangeSet {
	t.Helper()
	points := []int{0, length}
	for n := s.intn(5); n > 0; n-- {
		points = append(points, choose())
	}
	sortInts(points)
	var b strings.Builder
	b.WriteByte('[')
	add := func(elem string) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(elem)
	}
	lines := func() string {
		var out []string
		for _, l := range strings.Split(s.text(3), "\n") {
			out = append(out, string(quoteJS(l)))
		}
		return strings.Join(out, ",")
	}
	for i := 0; i < len(points); i++ {
		if s.intn(3) == 0 {
			add("[0," + lines() + "]")
		}
		if i+1 == len(points) {
			break
		}
		span := points[i+1] - points[i]
		if span == 0 {
			continue
		}
		switch s.intn(3) {
		case 0:
			add(strconv.Itoa(span))
		case 1:
			add("[" + strconv.Itoa(span) + "]")
		default:
			add("[" + strconv.Itoa(span) + "," + lines() + "]")
		}
	}
	b.WriteByte(']')
	cs, err := Parse([]byte(b.String()), Limits{})
	if err != nil {
		t.Fatalf("parse generated %s: %v", b.String(), err)
	}
	return cs
}

// quoteJS quotes one line the way JSON.stringify would.
func quoteJS(line string) []byte {
	b := append([]byte{'"'}, appendJSONText(nil, utf16.Encode([]rune(line)))...)
	return append(b, '"')
}

func sortInts(xs []int) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// naiveApply is the reference: rebuild the whole text section by section.
func naiveApply(units []uint16, cs *ChangeSet) []uint16 {
	out := make([]uint16, 0, cs.LenAfter())
	pos := 0
	for i := 0; i < len(cs.sections); i += 2 {
		n, ins := cs.sections[i], cs.sections[i+1]
		if ins < 0 {
			out = append(out, units[pos:pos+n]...)
		} else {
			out = append(out, cs.text(i>>1)...)
		}
		pos += n
	}
	return out
}

// applyString applies cs to doc through a Doc and fails the test on error.
func applyString(t testing.TB, doc string, cs *ChangeSet) string {
	t.Helper()
	d := NewDoc(doc)
	if err := d.Apply(cs); err != nil {
		t.Fatalf("apply %s to %q: %v", cs, doc, err)
	}
	checkInvariants(t, d)
	return d.String()
}

// checkInvariants verifies the chunk structure Doc relies on.
func checkInvariants(t testing.TB, d *Doc) {
	t.Helper()
	total := 0
	for i, c := range d.chunks {
		if len(c) == 0 {
			t.Fatalf("chunk %d of %d is empty", i, len(d.chunks))
		}
		if len(c) > chunkMax+1 {
			t.Fatalf("chunk %d has %d units", i, len(c))
		}
		if isHigh(c[len(c)-1]) {
			t.Fatalf("chunk %d ends inside a surrogate pair", i)
		}
		total += len(c)
	}
	if total != d.length {
		t.Fatalf("chunks hold %d units, length says %d", total, d.length)
	}
	fresh := &Doc{chunks: d.chunks}
	fresh.reindex()
	if !slices.Equal(fresh.index, d.index) {
		t.Fatalf("chunk index out of date:\n have %v\n want %v", d.index, fresh.index)
	}
}
